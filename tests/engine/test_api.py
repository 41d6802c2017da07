"""The engine's public API (docs/api.md), without pytest: find, restore, check, verdict, in one call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_liftbackup import Restorer, RestorerConfig, find_dumps, load_checks, run_checks, verify
from tests.conftest import Dumps, Scratch, servers_under, truncated_plain

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ROOT / "checks" / "lift_simulator.yml"
WITHOUT_PYTEST = """
import json, sys
sys.modules["pytest"] = None  # any import of pytest now fails
from pytest_liftbackup import verify
verdict = verify([sys.argv[1]], checks=[sys.argv[2]])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pytest", "_pytest", "xdist", "pytest_benchmark")
                and sys.modules[m] is not None)
print(json.dumps({"verdict": verdict.as_json(), "passed": verdict.passed, "loaded": loaded}))
"""


def test_verify_runs_without_pytest(dumps: Dumps, scratch: Scratch) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PYTEST, str(dumps.plain), str(SHIPPED)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["loaded"] == []
    assert found["passed"] is True
    (dump,) = found["verdict"]["dumps"]
    assert dump["restore"]["restore"] == "passed"
    assert found["verdict"]["totals"]["restores"] == {"passed": 1}
    assert found["verdict"]["totals"]["checks"]["passed"] == 38  # 2 Flyway checks need migrations
    assert scratch.leftovers() == [] and servers_under(scratch.tmpdir) == []


def test_the_steps_one_by_one_and_a_failed_restore(dumps: Dumps, scratch: Scratch, tmp_path: Path) -> None:
    cut = truncated_plain(dumps.plain, tmp_path / "lift_simulator_backup_20260119_080000.sql", b"COPY ")
    found = find_dumps([dumps.plain, cut])
    assert [d.id for d in found] == [
        "lift_simulator_backup_20260120_080000",
        "lift_simulator_backup_20260119_080000",
    ]
    checks = load_checks([SHIPPED])
    assert len(checks) == 40 and checks[0].spec.path == SHIPPED
    with Restorer(found, RestorerConfig(jobs=1)) as restorer:
        good, bad = (restorer.restore(d) for d in found)
        assert good.ok and good.tables["lift_simulator.lift_system"] == 12
        assert not bad.ok and "the dump is cut short" in bad.error_text()
        with restorer.read_connection(found[0]) as conn:
            assert conn.read_only
        outcomes = run_checks(restorer, found[1], checks[:2])
        assert [o.outcome for o in outcomes] == ["error", "error"]
        assert outcomes[0].report.startswith("restore of lift_simulator_backup_20260119_080000.sql failed: ")
    assert scratch.leftovers() == [] and servers_under(scratch.tmpdir) == []
    verdict = verify([cut], checks=[SHIPPED])
    assert not verdict.passed
    verdict.write(tmp_path / "v.json", tmp_path / "v.md")
    assert json.loads((tmp_path / "v.json").read_text())["verdict"] == "failed"
    assert "## liftbackup: FAILED" in (tmp_path / "v.md").read_text()


def test_a_check_file_that_is_not_valid_is_refused_before_anything_runs(tmp_path: Path) -> None:
    from pytest_liftbackup.checks.vocabulary import CheckFileError

    bad = tmp_path / "bad.yml"
    bad.write_text("checks:\n  kill:\n    sql: SELECT pg_terminate_backend(1)\n")
    with pytest.raises(
        CheckFileError, match=r"bad.yml:3: check 'kill', 'sql': function pg_terminate_backend"
    ):
        load_checks([bad])


def test_errors_name_settings_as_the_api_spells_them_and_the_plugin_its_own_way(
    pytester: pytest.Pytester,
) -> None:
    """An engine error carries the setting to change, not a command-line flag: each front end words it."""
    from pytest_liftbackup import LiftbackupError, Limits

    with pytest.raises(LiftbackupError) as caught:
        Limits(max_size="lots")
    assert str(caught.value) == "max_size: 'lots' is not a size; write 20G, 500M or 50x (times the dump)"

    pytester.makefile(".sql", backup="SELECT 1;\n")
    result = pytester.runpytest(
        "--liftbackup=backup.sql", "--liftbackup-max-size=lots", "-p", "no:cacheprovider"
    )
    result.stderr.fnmatch_lines(
        ["ERROR: --liftbackup-max-size: 'lots' is not a size; write 20G, 500M or 50x*"]
    )
    assert str(caught.value).startswith("max_size: ")  # worded when shown: the plugin's run left no mark


def test_the_main_restores_refusals_name_its_settings_as_each_front_end_spells_them() -> None:
    """The restore into the main database is the command's and the API's (MainRestore): its refusals
    carry the setting, so the command says --terminate-connections and the API terminate_connections."""
    from pytest_liftbackup._errors import Given, Setting, api_spelling, flags, spelled
    from pytest_liftbackup.api.main_restore import _busy
    from pytest_liftbackup.server.table_copy import TablesRefused
    from pytest_liftbackup.server.target import TargetRefused

    busy = TargetRefused(*_busy("lift_simulator", ["pid 7, lift_app (lift-simulator)"]))
    table = TablesRefused(Given(Setting.TABLE, "lift_system"), ": no table of that name")
    with spelled(flags("--")):
        assert "or pass --terminate-connections to end them; " in str(busy)
        assert str(table) == "--table=lift_system: no table of that name"
    with spelled(api_spelling):
        assert "or pass terminate_connections=True to end them; " in str(busy)
        assert str(table) == "tables=['lift_system']: no table of that name"


@pytest.mark.parametrize("form", ["plain", "custom"])
def test_a_reuse_miss_hashes_the_dump_once(
    form: str, dumps: Dumps, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache key needs the dump's sha256 before the restore; the restore's own read must not hash it
    again (a weekly backup of gigabytes would pay for it twice)."""
    import hashlib

    hashed = []
    real = hashlib.sha256

    class Counting:
        def __init__(self, data: bytes = b"") -> None:
            self._digest = real(data)
            hashed.append(len(data))

        def update(self, data: bytes) -> None:
            hashed.append(len(data))
            self._digest.update(data)

        def hexdigest(self) -> str:
            return self._digest.hexdigest()

        def digest(self) -> bytes:  # the SCRAM verifiers of the run's roles hash a few bytes too
            return self._digest.digest()

    dump = getattr(dumps, form)
    (found,) = find_dumps([dump])
    monkeypatch.setattr(hashlib, "sha256", Counting)
    with Restorer([found], RestorerConfig(jobs=1, reuse=True, cache_dir=str(tmp_path / "cache"))) as restorer:
        outcome = restorer.restore(found)
    monkeypatch.undo()
    assert outcome.ok, outcome.error_text()
    assert outcome.info.sha256 == real(dump.read_bytes()).hexdigest()
    size = dump.stat().st_size
    assert size <= sum(hashed) < size + 4096  # once, and the cache key's few bytes
    assert scratch.leftovers() == [] and servers_under(scratch.tmpdir) == []


def test_a_big_dump_has_its_server_started_beside_the_scan_and_a_refused_one_leaves_nothing(
    dumps: Dumps, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From START_BESIDE_SCAN bytes on, the server starts while the dump is scanned (here: every dump).
    A dump the scan refuses still runs nothing, and its server is stopped with the run's."""
    import pytest_liftbackup.restore.engine as engine

    monkeypatch.setattr(engine, "START_BESIDE_SCAN", 0)
    raw = dumps.plain.read_bytes()
    canary = tmp_path / "SOMEFILE"
    refused = tmp_path / "lift_simulator_backup_20260119_080000.sql"
    refused.write_bytes(raw.replace(b"CREATE TABLE", f"\\! touch {canary}\nCREATE TABLE".encode(), 1))
    found = find_dumps([refused, dumps.plain])
    with Restorer(found, RestorerConfig(jobs=2)) as restorer:
        bad = restorer.restore(found[0])
        assert not bad.ok and "refused the psql meta-command \\!" in bad.error_text()
        assert restorer.host_description  # started beside the scan that refused the dump
        good = restorer.restore(found[1])
        assert good.ok and good.tables["lift_simulator.lift_system"] == 12
    assert not canary.exists()
    assert scratch.leftovers() == [] and servers_under(scratch.tmpdir) == []
