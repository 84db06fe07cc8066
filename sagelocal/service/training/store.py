"""Training-job records and their state machine, stored in the emulator's SQLite database.

A job moves through SageMaker's secondary statuses (reference sagemaker-api §6) while ``TrainingJobStatus``
stays ``InProgress``; the terminal states are Completed, Failed and Stopped. Every change is one short write
transaction that closes the current SecondaryStatusTransition (its EndTime) and opens the next, so readers in
other processes always see a consistent document. This module imports nothing heavy: the supervisor uses it.
The documents rendered from a record are in ``documents.py``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sagelocal import config
from sagelocal.aws.errors import ResourceInUse, ValidationException
from sagelocal.service.db import Database
from sagelocal.service.execution.procs import worker_alive

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})

# The happy path, in order (2024–2026 sequence).
STARTING = ("Starting", "Starting the training job")
PREPARING = ("Starting", "Preparing the instances for training")
DOWNLOADING = ("Downloading", "Downloading input data")
DOWNLOADING_IMAGE = ("Downloading", "Downloading the training image")
TRAINING = ("Training", "Training image download completed. Training in progress.")
UPLOADING = ("Uploading", "Uploading generated training model")
COMPLETED = ("Completed", "Training job completed")
FAILED = ("Failed", "Training job failed")
STOPPING = ("Stopping", "Stopping the training job")
STOPPED = ("Stopped", "Training job stopped")
MAX_RUNTIME_EXCEEDED = ("MaxRuntimeExceeded", "Training job runtime exceeded MaxRuntimeInSeconds provided")

#: If a job's record has no supervisor pid this long after creation, its creator died before spawning it.
SPAWN_GRACE_SECONDS = 30.0

RESOURCE_NOT_FOUND = "Requested resource not found."
DUPLICATE_NAME = (
    "Training job names must be unique within an AWS account and region, and a training job with this name "
    "already exists"
)


# --- records ----------------------------------------------------------------------------------------------


@dataclass
class JobRecord:
    name: str
    arn: str
    runner: str
    request: dict[str, Any]
    status: str
    secondary_status: str
    failure_reason: str | None
    transitions: list[dict[str, Any]]
    creation_time: float
    last_modified_time: float
    training_start_time: float | None
    training_end_time: float | None
    final_metrics: list[dict[str, Any]] | None
    supervisor_pid: int | None
    supervisor_start: str | None
    supervisor_ready: bool

    @classmethod
    def from_row(cls, row: Any) -> JobRecord:
        return cls(
            name=row["name"],
            arn=row["arn"],
            runner=row["runner"],
            request=json.loads(row["request"]),
            status=row["status"],
            secondary_status=row["secondary_status"],
            failure_reason=row["failure_reason"],
            transitions=json.loads(row["transitions"]),
            creation_time=row["creation_time"],
            last_modified_time=row["last_modified_time"],
            training_start_time=row["training_start_time"],
            training_end_time=row["training_end_time"],
            final_metrics=json.loads(row["final_metrics"]) if row["final_metrics"] else None,
            supervisor_pid=row["supervisor_pid"],
            supervisor_start=row["supervisor_start"],
            supervisor_ready=bool(row["supervisor_ready"]),
        )

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def job_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{config.region()}:{config.ACCOUNT_ID}:training-job/{name}"


def _now() -> float:
    # SageMaker reports times with millisecond precision.
    return round(time.time(), 3)


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reads ---

    def get(self, name: str) -> JobRecord | None:
        row = self.db.conn().execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
        return JobRecord.from_row(row) if row else None

    def require(self, name: str) -> JobRecord:
        record = self.get(name)
        if record is None:
            raise ValidationException(RESOURCE_NOT_FOUND)
        return record

    def all(self) -> list[JobRecord]:
        rows = self.db.conn().execute("SELECT * FROM jobs ORDER BY creation_time").fetchall()
        return [JobRecord.from_row(r) for r in rows]

    # --- writes ---

    def insert(self, name: str, runner: str, request: dict[str, Any]) -> JobRecord:
        now = _now()
        transitions = [{"Status": STARTING[0], "StatusMessage": STARTING[1], "StartTime": now}]
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE name = ?", (name,)).fetchone():
                raise ResourceInUse(DUPLICATE_NAME)
            conn.execute(
                "INSERT INTO jobs (name, arn, runner, request, status, secondary_status, transitions,"
                " creation_time, last_modified_time) VALUES (?, ?, ?, ?, 'InProgress', ?, ?, ?, ?)",
                (
                    name,
                    job_arn(name),
                    runner,
                    json.dumps(request),
                    STARTING[0],
                    json.dumps(transitions),
                    now,
                    now,
                ),
            )
        return self.require(name)

    def set_supervisor(self, name: str, pid: int, start: str | None) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE jobs SET supervisor_pid = ?, supervisor_start = ? WHERE name = ?", (pid, start, name)
            )

    def mark_ready(self, name: str) -> str:
        """The supervisor's SIGTERM handler is installed; returns the job's status at that moment."""
        with self.db.write() as conn:
            conn.execute("UPDATE jobs SET supervisor_ready = 1 WHERE name = ?", (name,))
            row = conn.execute("SELECT status FROM jobs WHERE name = ?", (name,)).fetchone()
        return row["status"]

    def _update(
        self,
        conn: Any,
        row: Any,
        transition: tuple[str, str] | None,
        now: float,
        **fields: Any,
    ) -> None:
        transitions = json.loads(row["transitions"])
        secondary = row["secondary_status"]
        if transition is not None:
            if transitions and "EndTime" not in transitions[-1]:
                transitions[-1]["EndTime"] = now
            transitions.append({"Status": transition[0], "StatusMessage": transition[1], "StartTime": now})
            secondary = transition[0]
        sets = {
            "transitions": json.dumps(transitions),
            "secondary_status": secondary,
            "last_modified_time": now,
        }
        sets.update(fields)
        cols = ", ".join(f"{k} = ?" for k in sets)
        conn.execute(f"UPDATE jobs SET {cols} WHERE name = ?", [*sets.values(), row["name"]])

    def advance(self, name: str, transition: tuple[str, str], **fields: Any) -> bool:
        """Move an InProgress job to its next phase. Returns False (and changes nothing) when the job is no
        longer InProgress, i.e. a stop was requested or it already ended: the caller should wind down."""
        now = _now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None or row["status"] != "InProgress":
                return False
            if transition == DOWNLOADING and row["training_start_time"] is None:
                fields.setdefault("training_start_time", now)
            self._update(conn, row, transition, now, **fields)
        return True

    def request_stop(self, name: str, max_runtime: bool = False) -> JobRecord:
        """StopTrainingJob's state change: InProgress -> Stopping. Raises ValidationException as SageMaker
        does for unknown or finished jobs. Returns the record as it was before the change."""
        now = _now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise ValidationException(RESOURCE_NOT_FOUND)
            if row["status"] in TERMINAL:
                raise ValidationException(
                    f"The request was rejected because the training job is in status {row['status']}."
                )
            if row["status"] == "InProgress":
                self._update(conn, row, STOPPING, now, status="Stopping")
        return JobRecord.from_row(row)

    def finish(
        self,
        name: str,
        outcome: str,
        *,
        failure_reason: str | None = None,
        final_metrics: list[dict[str, Any]] | None = None,
    ) -> JobRecord:
        """End a job. ``outcome``: ``Completed``, ``Failed``, ``Stopped`` or ``MaxRuntimeExceeded``. A job
        that was asked to stop ends Stopped whatever the algorithm did meanwhile (SageMaker reports the
        stop), except that a failure of the platform itself still fails it."""
        now = _now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise ValidationException(RESOURCE_NOT_FOUND)
            if row["status"] in TERMINAL:
                return JobRecord.from_row(row)
            if row["status"] == "Stopping" and outcome in ("Completed", "MaxRuntimeExceeded"):
                outcome = "Stopped"
            fields: dict[str, Any] = {}
            if row["training_start_time"] is not None:
                fields["training_end_time"] = now
            if final_metrics is not None:
                fields["final_metrics"] = json.dumps(final_metrics)
            if outcome == "Completed":
                self._update(conn, row, COMPLETED, now, status="Completed", **fields)
            elif outcome == "Failed":
                self._update(conn, row, FAILED, now, status="Failed", failure_reason=failure_reason, **fields)
            elif outcome == "MaxRuntimeExceeded":
                self._update(conn, row, STOPPING, now)
                row = conn.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
                self._update(conn, row, MAX_RUNTIME_EXCEEDED, now, status="Stopped", **fields)
            elif outcome == "Stopped":
                if row["status"] == "InProgress":
                    self._update(conn, row, STOPPING, now)
                    row = conn.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
                self._update(conn, row, STOPPED, now, status="Stopped", **fields)
            else:
                raise ValueError(f"unknown outcome {outcome!r}")
        return self.require(name)

    def reap_if_dead(self, record: JobRecord) -> JobRecord:
        """Fail a non-terminal job whose supervisor is gone (crashed, killed, or its pid now belongs to
        another process). Cheap when the job is terminal or its worker is alive."""
        if record.terminal:
            return record
        if record.supervisor_pid is None:
            if time.time() - record.creation_time < SPAWN_GRACE_SECONDS:
                return record
            reason = "sagelocal: the job's worker process was never started; the job cannot continue."
        elif worker_alive(record.supervisor_pid, record.supervisor_start):
            return record
        else:
            reason = (
                f"sagelocal: the job's worker process (pid {record.supervisor_pid}) exited unexpectedly; "
                "the job cannot continue."
            )
        # Re-check inside the write: the worker may have finished the job just before exiting.
        return self.finish(record.name, "Failed", failure_reason=reason)
