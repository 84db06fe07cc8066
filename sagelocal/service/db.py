"""The emulator's SQLite database: one file shared by the API process(es) and the per-job supervisors.

Every connection runs in WAL mode with a long busy timeout, so readers never block the writer and concurrent
writers wait instead of failing. Writes are short ``BEGIN IMMEDIATE`` transactions (:meth:`Database.write`).
Connections are per thread, so one ``Database`` can be shared by the HTTP server's worker threads.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: How long a connection waits for another writer's lock before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    runner TEXT NOT NULL,
    request TEXT NOT NULL,              -- the CreateTrainingJob request, JSON
    status TEXT NOT NULL,               -- TrainingJobStatus
    secondary_status TEXT NOT NULL,
    failure_reason TEXT,
    transitions TEXT NOT NULL,          -- SecondaryStatusTransitions, JSON, times as epoch seconds
    creation_time REAL NOT NULL,
    last_modified_time REAL NOT NULL,
    training_start_time REAL,
    training_end_time REAL,
    final_metrics TEXT,                 -- FinalMetricDataList, JSON, times as epoch seconds
    supervisor_pid INTEGER,
    supervisor_start TEXT,              -- the supervisor process's start time as the OS reports it
    supervisor_ready INTEGER NOT NULL DEFAULT 0  -- 1 once its SIGTERM handler is installed
);
CREATE INDEX IF NOT EXISTS jobs_creation ON jobs (creation_time);

CREATE TABLE IF NOT EXISTS log_streams (
    grp TEXT NOT NULL,
    name TEXT NOT NULL,
    creation_time INTEGER NOT NULL,     -- epoch ms
    first_event INTEGER,
    last_event INTEGER,
    last_ingestion INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grp, name)
);

CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT NOT NULL,
    stream TEXT NOT NULL,
    ts INTEGER NOT NULL,                -- epoch ms
    ingestion INTEGER NOT NULL,         -- epoch ms
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_stream ON log_events (grp, stream, ts, id);
CREATE INDEX IF NOT EXISTS log_events_group ON log_events (grp, ts, id);

-- Hosting (service/hosting): models and endpoint configs are stored requests; an endpoint runs one or more
-- deployments (a generation each: the create, then each UpdateEndpoint), each driven by its own detached
-- supervisor whose instances (serve processes or containers) are listed in endpoint_instances.
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    arn TEXT NOT NULL,
    request TEXT NOT NULL,              -- the CreateModel request, JSON
    creation_time REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS endpoint_configs (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    arn TEXT NOT NULL,
    request TEXT NOT NULL,              -- the CreateEndpointConfig request, JSON
    creation_time REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    arn TEXT NOT NULL,
    runner TEXT NOT NULL,
    request TEXT NOT NULL,              -- the CreateEndpoint request, JSON
    config_name TEXT NOT NULL,          -- the EndpointConfigName in service (or being created)
    status TEXT NOT NULL,               -- EndpointStatus
    failure_reason TEXT,
    creation_time REAL NOT NULL,
    last_modified_time REAL NOT NULL,
    generation INTEGER NOT NULL,        -- the deployment invocations go to
    last_generation INTEGER NOT NULL    -- the newest deployment started
);

CREATE TABLE IF NOT EXISTS endpoint_deployments (
    endpoint TEXT NOT NULL COLLATE NOCASE,
    generation INTEGER NOT NULL,
    config_name TEXT NOT NULL,
    deployment TEXT NOT NULL,           -- {"config": the config request, "models": {name: CreateModel request}}
    creation_time REAL NOT NULL,
    supervisor_pid INTEGER,
    supervisor_start TEXT,              -- the supervisor process's start time as the OS reports it
    PRIMARY KEY (endpoint, generation)
);

CREATE TABLE IF NOT EXISTS endpoint_instances (
    endpoint TEXT NOT NULL COLLATE NOCASE,
    generation INTEGER NOT NULL,
    variant TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    port INTEGER NOT NULL,              -- on 127.0.0.1
    container TEXT,                     -- the container's id (docker runner)
    PRIMARY KEY (endpoint, instance_id)
);

-- Hyperparameter tuning (service/tuning): a tuning job is a stored request driven by its own detached tuner
-- process; the training jobs it launched are rows of jobs, listed in tuning_children in launch order.
CREATE TABLE IF NOT EXISTS tuning_jobs (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    arn TEXT NOT NULL,
    runner TEXT NOT NULL,
    request TEXT NOT NULL,              -- the CreateHyperParameterTuningJob request, JSON
    status TEXT NOT NULL,               -- HyperParameterTuningJobStatus
    failure_reason TEXT,
    creation_time REAL NOT NULL,
    last_modified_time REAL NOT NULL,
    end_time REAL,
    details TEXT,                       -- TuningJobCompletionDetails, JSON
    tuner_pid INTEGER,
    tuner_start TEXT                    -- the tuner process's start time as the OS reports it
);

CREATE TABLE IF NOT EXISTS tuning_children (
    tuning_job TEXT NOT NULL COLLATE NOCASE,
    seq INTEGER NOT NULL,               -- 1-based launch order (the NNN of the child's name)
    training_job TEXT NOT NULL,
    tuned TEXT NOT NULL,                -- TunedHyperParameters, JSON
    PRIMARY KEY (tuning_job, seq)
);

-- Batch transform (service/transform): one row per job, driven by its own detached supervisor.
CREATE TABLE IF NOT EXISTS transform_jobs (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    arn TEXT NOT NULL,
    runner TEXT NOT NULL,
    request TEXT NOT NULL,              -- the CreateTransformJob request, JSON
    model TEXT NOT NULL,                -- the CreateModel request of its model at creation, JSON
    status TEXT NOT NULL,               -- TransformJobStatus
    failure_reason TEXT,
    creation_time REAL NOT NULL,
    last_modified_time REAL NOT NULL,
    transform_start_time REAL,
    transform_end_time REAL,
    supervisor_pid INTEGER,
    supervisor_start TEXT               -- the supervisor process's start time as the OS reports it
);
"""


def retry_while_locked(operation: Callable[[], object]) -> None:
    """Run ``operation``, retrying for up to BUSY_TIMEOUT_MS while SQLite reports the file locked or busy: for the
    few statements (journal-mode switch, first schema creation) where SQLite does not wait on its own."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            operation()
            return
        except sqlite3.OperationalError as e:
            transient = "locked" in str(e) or "busy" in str(e)
            if not transient or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def connect(path: Path | str) -> sqlite3.Connection:
    """A new connection in autocommit mode (transactions are explicit), WAL journal, busy timeout set."""
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # WAL is a property of the file: switch once. The switch needs the file to itself, and SQLite may answer
    # "database is locked" at once instead of waiting (several processes opening a new file together).
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        retry_while_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    # WAL + NORMAL: a commit survives a crash of the process (not of the machine) without an fsync per commit.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Database:
    """The database file at ``path``; creates the schema on first use."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._create_schema()

    def _create_schema(self) -> None:
        conn = self.conn()
        # executescript commits implicitly; run it outside an explicit transaction.
        retry_while_locked(lambda: conn.executescript(SCHEMA))

    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (``BEGIN IMMEDIATE`` takes the write lock up front, so a read-then-write
        inside it cannot race another writer)."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
