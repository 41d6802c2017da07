"""Build a lift_simulator database the way the real one is built: Flyway migrations V1..V13, then data.

The tests make every fixture dump from this, so nothing depends on files outside the repository.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from pytest_liftbackup.checks.flyway import checksum
from pytest_liftbackup.server.databases import pg_env

HERE = Path(__file__).parent
MIGRATIONS = HERE / "migrations"
OWNER = "lift_admin"
DATABASE = "lift_simulator"
_NAME = re.compile(r"^V(\d+)__(.+)\.sql$")


def migrations() -> list[tuple[int, str, Path]]:
    found = []
    for path in MIGRATIONS.glob("V*.sql"):
        match = _NAME.match(path.name)
        assert match, path
        found.append((int(match.group(1)), match.group(2).replace("_", " "), path))
    return sorted(found)


HISTORY = """
CREATE TABLE lift_simulator.flyway_schema_history (
    installed_rank INTEGER NOT NULL,
    version VARCHAR(50),
    description VARCHAR(200) NOT NULL,
    type VARCHAR(20) NOT NULL,
    script VARCHAR(1000) NOT NULL,
    checksum INTEGER,
    installed_by VARCHAR(100) NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT now(),
    execution_time INTEGER NOT NULL,
    success BOOLEAN NOT NULL,
    CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank)
);
CREATE INDEX flyway_schema_history_s_idx ON lift_simulator.flyway_schema_history (success);
"""


def migrate_and_seed(conninfo: str, *, systems: int = 12, padding: int = 20) -> None:
    """Run V1..V13 as lift_admin with a Flyway history as Flyway writes it, then insert the seed data."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER)))
        conn.execute("CREATE SCHEMA IF NOT EXISTS lift_simulator")
        conn.execute(HISTORY)
        conn.execute(
            "INSERT INTO lift_simulator.flyway_schema_history VALUES "
            "(0, NULL, '<< Flyway Schema Creation >>', 'SCHEMA', '\"lift_simulator\"', NULL, %s, now(), 0, true)",
            (OWNER,),
        )
        for rank, (version, description, path) in enumerate(migrations(), start=1):
            data = path.read_bytes()
            conn.execute(data.decode("utf-8").encode())  # one migration, several statements
            conn.execute(
                "INSERT INTO lift_simulator.flyway_schema_history VALUES (%s, %s, %s, 'SQL', %s, %s, %s, now(), 5, true)",
                (rank, str(version), description, path.name, checksum(data), OWNER),
            )
        seed = (HERE / "seed.sql").read_text().format(systems=systems, padding=padding)
        conn.execute(seed.encode())


@dataclass
class SourceDatabase:
    """The lift_simulator database on a real server, and the pg_dump to dump it with."""

    admin: dict[str, str]
    pg_dump: Path

    def dump(self, target: Path, *args: str, database: str = DATABASE) -> Path:
        env = {"PGHOST": self.admin["host"], "PGPORT": self.admin["port"], "PGUSER": self.admin["user"]}
        if "password" in self.admin:
            env["PGPASSWORD"] = self.admin["password"]
        subprocess.run(
            [str(self.pg_dump), "-d", database, "-f", str(target), *args],
            check=True,
            env={**os.environ, **env},
            capture_output=True,
        )
        return target

    def variant(self, name: str, breakage: str, folder: Path) -> Path:
        """A plain dump of a copy of lift_simulator with `breakage` (SQL, as superuser) applied to it."""
        admin = psycopg.conninfo.make_conninfo(**self.admin)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(DATABASE), sql.Identifier(OWNER)
                )
            )
        with psycopg.connect(
            psycopg.conninfo.make_conninfo(**{**self.admin, "dbname": name}), autocommit=True
        ) as conn:
            conn.execute("SET search_path TO lift_simulator")
            conn.execute(breakage.encode())
        return self.dump(folder / f"{name}.sql", "-F", "p", database=name)


def create_source(admin: dict[str, str], pg_dump: Path, **seed: int) -> SourceDatabase:
    conninfo = psycopg.conninfo.make_conninfo(**admin)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(OWNER)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(OWNER))
        )
    migrate_and_seed(psycopg.conninfo.make_conninfo(**{**admin, "dbname": DATABASE}), **seed)
    return SourceDatabase(admin, pg_dump)


def psql_file(psql: Path, conninfo: dict[str, str], dump: Path) -> None:
    """What ADR-0012's restore procedure does: `psql -X -v ON_ERROR_STOP=1 -f` the dump."""
    env = {**os.environ, **{k: v for k, v in pg_env(conninfo).items()}}
    subprocess.run(
        [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
