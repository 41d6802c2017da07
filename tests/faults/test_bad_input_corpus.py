"""Damaged backups at scale: each fails with one clear message naming its file, or restores exactly
what the undamaged backup holds. None passes with other data, crashes the session or hangs.

The corpus is generated here from the lift_simulator dump in several formats: truncations at many
points, flipped bytes in compressed and uncompressed files, and hand-made damage of the kinds real
files show (a COPY block without its end, a row with a column too many, NUL bytes, a byte that is not
UTF-8, an enormous line, pg_dumpall output of several databases).
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import zstandard

from pytest_liftbackup import Restorer, RestorerConfig, find_dumps
from pytest_liftbackup.api.manifest import TableFacts, read_facts
from tests.conftest import Dumps, Scratch, servers_under

CUTS = 24  # truncation points per format
FLIPS = 16  # flipped bytes per format


def _cut(data: bytes, n: int) -> list[tuple[str, bytes]]:
    points = sorted({max(1, len(data) * k // (n + 1)) for k in range(1, n + 1)})
    return [(f"cut at {p} of {len(data)}", data[:p]) for p in points]


def _flip(data: bytes, n: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    found = []
    for _ in range(n):
        at = rng.randrange(len(data))
        damaged = bytearray(data)
        damaged[at] ^= 1 << rng.randrange(8)
        found.append((f"bit flipped at byte {at} of {len(data)}", bytes(damaged)))
    return found


def _crafted(plain: bytes) -> list[tuple[str, bytes]]:
    text = plain
    copy = text.index(b"COPY lift_simulator.lift_system ")
    first_row = text.index(b"\n", copy) + 1
    row_end = text.index(b"\n", first_row)
    end_marker = text.index(b"\n\\.\n", copy)
    return [
        ("COPY block without its \\.", text[:end_marker] + text[end_marker + 3 :]),
        ("a COPY row with a column too many", text[:row_end] + b"\textra" + text[row_end:]),
        ("a NUL byte in a statement", text.replace(b"CREATE TABLE", b"CREATE\x00TABLE", 1)),
        ("a byte that is not UTF-8 in a COPY row", text[:row_end] + b"\xff\xfe" + text[row_end:]),
        (
            "an enormous comment line (psql skips it too)",
            text.replace(
                b"SET row_security = off;", b"-- " + b"x" * (80 << 20) + b"\nSET row_security = off;", 1
            ),
        ),
        (
            "pg_dumpall output: two databases",
            text + b"\n\\connect other\n" + text,
        ),
    ]


def _corpus(dumps: Dumps) -> list[tuple[str, str, bytes]]:
    """(file name, what was done, bytes)."""
    plain = dumps.plain.read_bytes()
    custom = dumps.custom.read_bytes()
    found: list[tuple[str, str, bytes]] = []
    forms: dict[str, tuple[str, bytes]] = {
        "plain": (".sql", plain),
        "gzip": (".sql.gz", gzip.compress(plain)),
        "zstd": (".sql.zst", zstandard.ZstdCompressor(write_checksum=True).compress(plain)),
        "custom": (".dump", custom),
    }
    for form, (suffix, data) in forms.items():
        for i, (what, damaged) in enumerate(_cut(data, CUTS) + _flip(data, FLIPS, seed=len(form))):
            found.append((f"{form}_{i:02d}{suffix}", f"{form}: {what}", damaged))
    for i, (what, damaged) in enumerate(_crafted(plain)):
        found.append((f"crafted_{i:02d}.sql", what, damaged))
    return found


def _facts(restorer: Restorer, dump: object) -> dict[str, TableFacts]:
    conn = restorer.read_connection(dump)  # type: ignore[arg-type]
    try:
        return read_facts(conn)[0]
    finally:
        conn.rollback()


def test_every_damaged_backup_fails_clearly_or_restores_the_same_data(
    dumps: Dumps, scratch: Scratch, tmp_path: Path
) -> None:
    corpus = _corpus(dumps)
    paths = []
    for name, _, data in corpus:
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    (good,) = find_dumps([dumps.plain])
    unreadable: dict[str, str] = {}
    readable = []
    for path in paths:
        try:
            readable += find_dumps([path])
        except Exception as exc:  # a header that cannot be read: refused before any server starts
            assert type(exc).__name__ == "DumpInputError", (path, exc)
            assert str(path) in str(exc)
            unreadable[path.name] = str(exc)
    outcomes: dict[str, str] = {}
    with Restorer([good, *readable], RestorerConfig(jobs=2, cache_dir="off")) as restorer:
        assert restorer.restore(good).ok
        expected = _facts(restorer, good)
        for dump in readable:
            outcome = restorer.restore(dump)
            if outcome.ok and _facts(restorer, dump) == expected:
                outcomes[dump.name] = "restored, same data"
            elif outcome.ok:  # possible only where nothing can tell, and the report says so
                assert dump.integrity == "none", f"{dump.name} restored other data despite {dump.integrity}"
                outcomes[dump.name] = "restored other data: the dump has no checksum, as its report says"
            else:
                text = outcome.error_text()
                assert text.startswith(str(dump.path)), text
                assert "this is a bug" not in text and "Traceback" not in text, text
                outcomes[dump.name] = "failed: " + text.splitlines()[0][len(str(dump.path)) + 2 :][:90]
            restorer.drop(outcome)
    assert servers_under(scratch.tmpdir) == [] and scratch.leftovers() == []
    what = {name: done for name, done, _ in corpus}
    for name in sorted(outcomes) + sorted(unreadable):
        print(f"{what[name]:<45} {outcomes.get(name) or 'refused: ' + unreadable[name][:80]}")
    failed = sum(1 for o in outcomes.values() if o.startswith("failed")) + len(unreadable)
    same = sum(1 for o in outcomes.values() if o == "restored, same data")
    print(
        f"{len(corpus)} damaged backups: {failed} failed clearly, {same} restored the same data, "
        f"{len(corpus) - failed - same} restored other data from a dump without checksum"
    )
    # every truncation must fail: a cut backup never passes
    for name, done, _ in corpus:
        if ": cut at" in done:
            assert name in unreadable or outcomes[name].startswith("failed"), (name, done, outcomes.get(name))
    for name, done, _ in corpus:  # damage psql stops at too
        if name.startswith("crafted_") and "comment line" not in done:
            assert outcomes.get(name, "refused").startswith(("failed", "refused")), (done, outcomes.get(name))
