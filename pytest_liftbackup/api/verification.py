"""`verify`: restore each dump and run the checks on it, in one call; with a manifest beside the dump,
also prove the file is the one written and the restore holds every row it held."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup.api.checks import Check, load_checks, run_checks
from pytest_liftbackup.api.manifest import Manifest, manifest_path, read_manifest, restored_differences
from pytest_liftbackup.api.restorer import Restorer, RestorerConfig, found_dumps
from pytest_liftbackup.dump.inspect import DumpInfo, sha256_of_path
from pytest_liftbackup.report.verdict import Verdict, restore_record


def verify(
    dumps: Iterable[str | Path],
    checks: Iterable[str | Path] = (),
    migrations: Path | None = None,
    config: RestorerConfig | None = None,
    identity: Path | None = None,
) -> Verdict:
    """Restore each dump and run the checks on it, in one call, leaving nothing behind.

    A dump with `<file>.manifest.json` beside it (written by `liftbackup backup`) gets two more checks:
    `manifest::file` (sha256 and size) and `manifest::tables` (row count and content digest of every
    table after the restore). Encrypted (age) dumps are decrypted with `identity` into a private
    folder first, removed at the end."""
    loaded = load_checks(checks, migrations)
    with found_dumps(dumps, identity) as found:
        return verify_found(found, loaded, config, identity)


def verify_found(
    found: list[DumpInfo],
    loaded: list[Check],
    config: RestorerConfig | None = None,
    identity: Path | None = None,
) -> Verdict:
    """`verify` of dumps already found (and decrypted) with checks already loaded: for a caller that
    goes on using them, as the restore into the main database does. `identity` opens sealed manifests."""
    verdict_ = Verdict(found)
    with Restorer(found, config) as restorer:
        for dump in found:
            original = dump.given
            manifest = _manifest_check(verdict_, dump, original, identity)
            outcome = restorer.restore(dump)
            verdict_.add_restore(dump.id, restore_record(outcome))
            verdict_.results[dump.id]["passed" if outcome.ok else "failed"] += 1
            for done in run_checks(restorer, dump, loaded):
                verdict_.add_check(dump.id, f"{done.check.spec.path}::{done.check.name}", done.record)
                verdict_.results[dump.id][_pytest_word(done.outcome)] += 1
            if manifest is not None:
                _tables_check(verdict_, restorer, dump, original, manifest, outcome.ok)
        verdict_.server_version = restorer.server_version
    return verdict_


def _pytest_word(outcome: str) -> str:
    """A check's outcome counted as pytest counts items: a warned check passes."""
    return "passed" if outcome == "warned" else outcome


def _record(
    verdict_: Verdict, dump: DumpInfo, beside: Path, what: str, problems: list[str], error: str = ""
) -> None:
    outcome = "error" if error else "failed" if problems else "passed"
    record: dict[str, Any] = {"check": what, "kind": "manifest", "file": str(beside), "line": 0}
    record.update(severity="error", outcome=outcome)
    if problems:
        record["report"] = f"{beside.name}: " + "\n".join(problems)
    if error:
        record["error"] = error
    verdict_.add_check(dump.id, f"{beside}::{what}", record)
    verdict_.results[dump.id][outcome] += 1


def _manifest_check(
    verdict_: Verdict, dump: DumpInfo, original: Path, identity: Path | None
) -> Manifest | None:
    """The file against its manifest, before anything is restored; the manifest, if there is one."""
    beside = manifest_path(original)
    if not os.path.lexists(beside):  # a link of that name is read, and refused, by Manifest.read
        return None
    try:
        manifest = read_manifest(beside, identity)
    except LiftbackupError as exc:
        _record(verdict_, dump, beside, "manifest::file", [], str(exc))
        return None
    problems = []
    size = original.lstat().st_size if original.is_file() and not original.is_symlink() else None
    if size is not None and size != manifest.size:
        problems.append(f"the file has {size} bytes, the manifest says {manifest.size}")
    digest = sha256_of_path(original)
    if dump.encrypted is None:
        dump.sha256 = digest  # the restore reads the same file: it need not hash it again
    if digest != manifest.sha256:
        problems.append("the file's sha256 is not the manifest's: it changed after the backup was written")
    _record(verdict_, dump, beside, "manifest::file", problems)
    return manifest


def _tables_check(
    verdict_: Verdict, restorer: Restorer, dump: DumpInfo, original: Path, manifest: Manifest, restored: bool
) -> None:
    beside = manifest_path(original)
    if not restored:
        _record(verdict_, dump, beside, "manifest::tables", [], "the restore failed: nothing to compare")
        return
    try:
        problems = restored_differences(
            manifest, restorer.read_connection(dump), restorer.config.limits.timeout
        )
    except LiftbackupError as exc:
        _record(verdict_, dump, beside, "manifest::tables", [], str(exc))
        return
    _record(verdict_, dump, beside, "manifest::tables", problems)
