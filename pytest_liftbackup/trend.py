"""`python -m pytest_liftbackup.trend`, the documented command: the picture is drawn by report/trend."""

import sys

from pytest_liftbackup.report.trend import Point, main, render, saved_points

__all__ = ["Point", "main", "render", "saved_points"]

if __name__ == "__main__":
    sys.exit(main())
