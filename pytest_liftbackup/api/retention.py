"""Grandfather-father-son retention by the backups' file-name timestamps.

Per database: keep the newest backup of each of the last N days, ISO weeks and months that have one,
and always the newest backup. Everything else may go, with its manifest and verification record.
Files that are not backups (other names, a manifest whose backup is gone) are never candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pytest_liftbackup.api.folder import Backup

PERIODS: dict[str, Callable[[datetime], tuple[int, ...]]] = {
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: tuple(t.isocalendar())[:2],
    "monthly": lambda t: (t.year, t.month),
}


@dataclass
class Plan:
    keep: dict[Backup, list[str]] = field(default_factory=dict)  # backup -> why it stays
    drop: list[Backup] = field(default_factory=list)


def plan(backups: list[Backup], counts: dict[str, int]) -> Plan:
    """What to keep and why, and what may go; `counts` maps daily/weekly/monthly to how many."""
    result = Plan()
    for database in sorted({b.database for b in backups}):
        newest_first = sorted(
            (b for b in backups if b.database == database), key=lambda b: b.taken, reverse=True
        )
        reasons: dict[Backup, list[str]] = {newest_first[0]: ["newest"]}
        for period, count in counts.items():
            buckets: list[tuple[int, ...]] = []
            for backup in newest_first:
                bucket = PERIODS[period](backup.taken)
                if bucket in buckets:
                    continue
                if len(buckets) == count:
                    break
                buckets.append(bucket)
                reasons.setdefault(backup, []).append(f"{period} {len(buckets)}")
        for backup in newest_first:
            if backup in reasons:
                result.keep[backup] = reasons[backup]
            else:
                result.drop.append(backup)
    return result
