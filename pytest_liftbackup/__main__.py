from pytest_liftbackup.cli import main

raise SystemExit(main())
