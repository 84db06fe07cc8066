"""A read-only view of the emulator's database, for pages that show state and must never change it (the web
console, :mod:`sagelocal.server.console`).

:class:`ReadOnlyDatabase` is a :class:`~sagelocal.service.db.Database` whose connections SQLite itself opens
read-only (``file:…?mode=ro``), so the stores' read methods (``JobStore.get``, ``LogStore.merged_events``,
``HostingStore.endpoints`` …) work on it unchanged, and any write — a store's ``write()`` or a stray statement —
fails instead of touching the file. It creates no schema and does not switch the journal mode: the database is
the one a running ``sagelocal`` (or any ``Emulator``) created, already in WAL mode.

WAL and read-only connections (https://www.sqlite.org/wal.html#readonly): a read-only connection reads a WAL
database when its ``-shm`` and ``-wal`` files exist or the folder lets SQLite create them; the first is the case
whenever the service has the database open. SQLite may update the ``-shm`` index (read marks) — shared memory,
not the database — and a read-only connection never checkpoints, so neither the database file nor the ``-wal``
file changes because of a read.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sagelocal.service.db import BUSY_TIMEOUT_MS, Database
from sagelocal.service.hosting.store import HostingStore
from sagelocal.service.logstore import TRAINING_LOG_GROUP, LogStore
from sagelocal.service.training.store import JobStore


class ReadOnlyDatabaseError(RuntimeError):
    """A write was attempted through a :class:`ReadOnlyDatabase`."""


def connect_read_only(path: Path | str) -> sqlite3.Connection:
    """A connection SQLite opens with ``mode=ro``: every write statement fails with ``attempt to write a
    readonly database``."""
    uri = "file:" + quote(str(Path(path).resolve())) + "?mode=ro"
    conn = sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


class ReadOnlyDatabase(Database):
    """The database at ``path``, read-only; one connection per thread."""

    def __init__(self, path: Path | str) -> None:  # no super().__init__: it would create folders and schema
        self.path = Path(path)
        self._local = threading.local()

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect_read_only(self.path)
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        raise ReadOnlyDatabaseError(f"{self.path} is open read-only")
        yield self.conn()  # pragma: no cover - unreachable; makes this a generator like Database.write


@dataclass(frozen=True)
class LogEvent:
    id: int
    stream: str
    timestamp: int  # epoch ms
    message: str


@dataclass(frozen=True)
class LogPage:
    events: list[LogEvent]
    start: int  # index of the first event in the job's whole log (timestamp order)
    total: int  # events in the job's whole log
    last_id: int  # the highest event id so far (what a follower asks "after" next)


class ReadOnlyState:
    """The stores of the database at ``path``, read-only, plus the log queries a page needs (CloudWatch's
    ``GetLogEvents`` pages by token; a page of the console pages by position and follows by event id)."""

    def __init__(self, path: Path | str) -> None:
        self.db = ReadOnlyDatabase(path)
        self.jobs = JobStore(self.db)
        self.logs = LogStore(self.db)
        self.hosting = HostingStore(self.db)

    def _job_where(self, name: str) -> tuple[str, list[Any]]:
        prefix = f"{name}/"
        return "grp = ? AND substr(stream, 1, ?) = ?", [TRAINING_LOG_GROUP, len(prefix), prefix]

    def job_log_page(self, name: str, start: int, limit: int) -> LogPage:
        """Events ``start`` … ``start + limit - 1`` of the job's log streams merged by timestamp (then arrival);
        a negative ``start`` counts from the end (``-limit``: the last page)."""
        where, args = self._job_where(name)
        conn = self.db.conn()
        row = conn.execute(
            f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM log_events WHERE {where}", args
        ).fetchone()
        total, last_id = int(row[0]), int(row[1])
        if start < 0:
            start = max(0, total + start)
        start = max(0, min(start, total))
        rows = conn.execute(
            f"SELECT id, stream, ts, message FROM log_events WHERE {where} ORDER BY ts, id LIMIT ? OFFSET ?",
            [*args, limit, start],
        ).fetchall()
        return LogPage(
            [LogEvent(r["id"], r["stream"], r["ts"], r["message"]) for r in rows], start, total, last_id
        )

    def job_log_after(self, name: str, after_id: int, limit: int) -> list[LogEvent]:
        """The job's events that arrived after event ``after_id``, in arrival order (a ``tail -f``)."""
        where, args = self._job_where(name)
        rows = (
            self.db.conn()
            .execute(
                f"SELECT id, stream, ts, message FROM log_events WHERE {where} AND id > ? ORDER BY id LIMIT ?",
                [*args, after_id, limit],
            )
            .fetchall()
        )
        return [LogEvent(r["id"], r["stream"], r["ts"], r["message"]) for r in rows]

    def job_log_messages(self, name: str) -> list[tuple[int, str]]:
        """``(timestamp ms, message)`` of every event of the job's log, in timestamp order."""
        return [
            (e["timestamp"], e["message"]) for e in self.logs.merged_events(TRAINING_LOG_GROUP, f"{name}/")
        ]
