"""Run a plain dump over N connections: tasks side by side as soon as what they wait for is done.

The reader (the caller's thread) hands over tasks in file order and runs barriers itself on its own
connection once every earlier task is done. COPY rows are not passed through the reader: each worker
reads its block's byte span from the dump text, so tables load in parallel at file-read speed and
memory stays at one buffer per connection. A worker applies the session settings (`SET ...`) that
were in force where its task stands in the dump before running it.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import errors

from pytest_liftbackup.dump.sql_script import CopyBlock, Statement
from pytest_liftbackup.restore.fresh_load import load_fresh
from pytest_liftbackup.restore.tasks import Task, TaskOrder

_CHUNK = 1 << 20
_RETRIES = 3  # a deadlock between two FK constraints is retried: the statement was rolled back whole


class TaskFailed(Exception):
    def __init__(self, statement: Statement, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.statement = statement
        self.error = error


def copy_span(conn: psycopg.Connection[Any], statement: bytes, text: IO[bytes], start: int, end: int) -> None:
    """COPY ... FROM stdin with the rows read straight from bytes start..end of the dump text."""
    text.seek(start)
    left = end - start
    with conn.cursor().copy(statement) as copy:
        while left > 0:
            chunk = text.read(min(_CHUNK, left))
            if not chunk:
                raise OSError(f"the dump text ended {left} bytes early")
            copy.write(chunk)
            left -= len(chunk)


def run_statement(
    conn: psycopg.Connection[Any],
    statement: Statement,
    copy: CopyBlock | None,
    text: IO[bytes],
    *,
    idle: bool = True,
) -> None:
    """One statement of the dump; a COPY takes its rows from the dump text by offset, into a table
    it has only just created the fast way (`restore/fresh_load`) when no transaction is open."""
    if copy is None:
        conn.execute(statement.sql)
        return
    block = copy

    def send_rows(on: psycopg.Connection[Any], copy_statement: bytes) -> None:
        copy_span(on, copy_statement, text, block.start, block.end)

    if not (idle and load_fresh(conn, statement.sql, send_rows)):
        send_rows(conn, statement.sql)


class _Worker:
    def __init__(self, conninfo: str, text_path: Path, on_notice: Callable[[Any], None]) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.conn.add_notice_handler(on_notice)
        self.text = open(text_path, "rb")  # noqa: SIM115 - closed by close()
        self.settings: tuple[bytes, ...] = ()
        self.busy = False

    def run(self, task: Task) -> None:
        if task.settings != self.settings:
            for setting in task.settings:
                self.conn.execute(setting)
            self.settings = task.settings
        for attempt in range(_RETRIES):
            try:
                run_statement(self.conn, task.statement, task.copy, self.text)
                return
            except (errors.DeadlockDetected, errors.LockNotAvailable):
                if attempt == _RETRIES - 1:
                    raise


class TaskPool:
    """`jobs` worker connections fed in dependency order; the first failure stops new work."""

    def __init__(self, conninfo: str, jobs: int, text_path: Path, on_notice: Callable[[Any], None]) -> None:
        self._cond = threading.Condition()
        self._ready: deque[Task] = deque()
        self._order = TaskOrder()
        self._unfinished = 0
        self._running = 0
        self._failures: list[TaskFailed] = []
        self._closing = False
        self._workers: list[_Worker] = []
        self._threads: list[threading.Thread] = []
        try:
            for number in range(jobs):
                worker = _Worker(conninfo, text_path, on_notice)
                self._workers.append(worker)
                thread = threading.Thread(
                    target=self._serve, args=(worker,), name=f"liftbackup-restore-{number}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        except BaseException:
            self.close()
            raise

    def submit(self, task: Task) -> None:
        with self._cond:
            self._raise_failure()
            self._order.link(task)
            self._unfinished += 1
            if task.waits_for == 0:
                self._ready.append(task)
                self._cond.notify()

    def knows(self, task: Task) -> bool:
        """Whether the task can be handed over (`TaskOrder.knows`); else it runs as a barrier."""
        with self._cond:
            return self._order.knows(task)

    def barrier(self) -> None:
        """Wait until every task handed over is done; raise the earliest failure (in file order)."""
        with self._cond:
            self._cond.wait_for(lambda: self._unfinished == 0 or (self._failures and self._running == 0))
            self._raise_failure()
            self._order.clear()

    def _raise_failure(self) -> None:
        if self._failures:
            self._cond.wait_for(lambda: self._running == 0)
            raise min(self._failures, key=lambda failure: failure.statement.line)

    def _serve(self, worker: _Worker) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closing or (self._ready and not self._failures))
                if self._closing:
                    return
                task = self._ready.popleft()
                self._running += 1
                worker.busy = True
            failure = None
            try:
                worker.run(task)
            except psycopg.Error as exc:
                failure = TaskFailed(task.statement, exc)
            except OSError as exc:
                failure = TaskFailed(task.statement, psycopg.OperationalError(str(exc)))
            with self._cond:
                worker.busy = False
                self._running -= 1
                if failure is not None:
                    self._failures.append(failure)
                else:
                    task.done = True
                    self._unfinished -= 1
                    for follower in task.followers:
                        follower.waits_for -= 1
                        if follower.waits_for == 0:
                            self._ready.append(follower)
                self._cond.notify_all()

    def close(self) -> None:
        """Stop the workers (cancelling a running statement when interrupted) and close their connections."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for worker in self._workers:
            if worker.busy:
                with contextlib.suppress(Exception):
                    worker.conn.cancel_safe()
        for thread in self._threads:
            thread.join(timeout=60)
        for worker in self._workers:
            with contextlib.suppress(Exception):
                worker.conn.close()
            worker.text.close()
