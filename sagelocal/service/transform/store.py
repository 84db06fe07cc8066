"""Transform job records and their state machine, in the emulator's SQLite database (``service/db.py``).

A record is the CreateTransformJob request plus a snapshot of its model's CreateModel request taken when the
job was created (deleting the model afterwards does not touch the job, as in SageMaker). Statuses (botocore
``sagemaker`` ``TransformJobStatus``): ``InProgress → Completed | Failed``, and on StopTransformJob
``InProgress → Stopping → Stopped``. Each change is one short write transaction. A job whose detached supervisor
is gone (a crash, ``kill -9``, a reboot) is found by :meth:`TransformStore.reap_if_dead` on the next look and
ends Failed with a reason, never stuck, as training jobs do (``training/store.py``). Imports stay light: the
supervisors use this module.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sagelocal.aws.errors import ResourceInUse, ValidationException
from sagelocal.service.db import Database
from sagelocal.service.execution.procs import worker_alive
from sagelocal.service.hosting.store import arn

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
#: A record with no supervisor pid this long after creation: its creator died before starting it.
SPAWN_GRACE_SECONDS = 30.0


def job_arn(name: str) -> str:
    """``arn:aws:sagemaker:<region>:<account>:transform-job/<name lower-cased>``."""
    return arn("transform-job", name)


def not_found(name: str) -> ValidationException:
    """DescribeTransformJob / StopTransformJob of an unknown job (the form of the hosting resources')."""
    return ValidationException(f'Could not find requested job with name "{name}"')


def duplicate(name: str) -> ResourceInUse:
    return ResourceInUse(
        "Job name must be unique within an AWS account and region, and a job with this name already exists "
        f"({job_arn(name)})"
    )


def _now() -> float:
    return round(time.time(), 3)  # SageMaker reports milliseconds


@dataclass
class TransformRecord:
    name: str
    arn: str
    runner: str
    request: dict[str, Any]  # the CreateTransformJob request (members the model knows)
    model: dict[str, Any]  # the CreateModel request of ModelName, as it was at creation
    status: str
    failure_reason: str | None
    creation_time: float
    last_modified_time: float
    transform_start_time: float | None
    transform_end_time: float | None
    supervisor_pid: int | None
    supervisor_start: str | None

    @classmethod
    def from_row(cls, row: Any) -> TransformRecord:
        return cls(
            name=row["name"],
            arn=row["arn"],
            runner=row["runner"],
            request=json.loads(row["request"]),
            model=json.loads(row["model"]),
            status=row["status"],
            failure_reason=row["failure_reason"],
            creation_time=row["creation_time"],
            last_modified_time=row["last_modified_time"],
            transform_start_time=row["transform_start_time"],
            transform_end_time=row["transform_end_time"],
            supervisor_pid=row["supervisor_pid"],
            supervisor_start=row["supervisor_start"],
        )

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


class TransformStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reads ---

    def get(self, name: str) -> TransformRecord | None:
        row = self.db.conn().execute("SELECT * FROM transform_jobs WHERE name = ?", (name,)).fetchone()
        return TransformRecord.from_row(row) if row else None

    def require(self, name: str) -> TransformRecord:
        record = self.get(name)
        if record is None:
            raise not_found(name)
        return record

    def all(self) -> list[TransformRecord]:
        rows = self.db.conn().execute("SELECT * FROM transform_jobs ORDER BY creation_time").fetchall()
        return [TransformRecord.from_row(r) for r in rows]

    # --- writes ---

    def insert(
        self, name: str, runner: str, request: dict[str, Any], model: dict[str, Any]
    ) -> TransformRecord:
        now = _now()
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM transform_jobs WHERE name = ?", (name,)).fetchone():
                raise duplicate(name)
            conn.execute(
                "INSERT INTO transform_jobs (name, arn, runner, request, model, status, creation_time,"
                " last_modified_time) VALUES (?, ?, ?, ?, ?, 'InProgress', ?, ?)",
                (name, job_arn(name), runner, json.dumps(request), json.dumps(model), now, now),
            )
        return self.require(name)

    def set_supervisor(self, name: str, pid: int, start: str | None) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE transform_jobs SET supervisor_pid = ?, supervisor_start = ? WHERE name = ?",
                (pid, start, name),
            )

    def start(self, name: str) -> bool:
        """The first instance is up: TransformStartTime. False when the job is no longer InProgress."""
        now = _now()
        with self.db.write() as conn:
            return (
                conn.execute(
                    "UPDATE transform_jobs SET transform_start_time = ?, last_modified_time = ?"
                    " WHERE name = ? AND status = 'InProgress'",
                    (now, now, name),
                ).rowcount
                > 0
            )

    def status(self, name: str) -> str | None:
        row = self.db.conn().execute("SELECT status FROM transform_jobs WHERE name = ?", (name,)).fetchone()
        return row["status"] if row else None

    def request_stop(self, name: str) -> TransformRecord:
        """StopTransformJob: InProgress → Stopping. Returns the record as it was before."""
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM transform_jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise not_found(name)
            if row["status"] == "InProgress":
                conn.execute(
                    "UPDATE transform_jobs SET status = 'Stopping', last_modified_time = ? WHERE name = ?",
                    (_now(), name),
                )
        return TransformRecord.from_row(row)

    def finish(self, name: str, outcome: str, failure_reason: str | None = None) -> TransformRecord:
        """End the job: ``Completed``, ``Failed`` or ``Stopped``. A job asked to stop ends Stopped unless it
        failed (the failure is what happened)."""
        now = _now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM transform_jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise not_found(name)
            if row["status"] in TERMINAL:
                return TransformRecord.from_row(row)
            if row["status"] == "Stopping" and outcome == "Completed":
                outcome = "Stopped"
            end = now if row["transform_start_time"] is not None else None
            conn.execute(
                "UPDATE transform_jobs SET status = ?, failure_reason = ?, transform_end_time = ?,"
                " last_modified_time = ? WHERE name = ?",
                (outcome, (failure_reason or "")[:1024] or None, end, now, name),
            )
        return self.require(name)

    def reap_if_dead(self, record: TransformRecord) -> TransformRecord:
        """Fail a job that is not over whose supervisor is gone (crashed, killed, or its pid now another
        process's). Cheap when the job is over or its supervisor alive."""
        if record.terminal:
            return record
        if record.supervisor_pid is None:
            if time.time() - record.creation_time < SPAWN_GRACE_SECONDS:
                return record
            reason = "InternalServerError: sagelocal: the job's worker process was never started."
        elif worker_alive(record.supervisor_pid, record.supervisor_start):
            return record
        else:
            reason = (
                f"InternalServerError: sagelocal: the job's worker process (pid {record.supervisor_pid}) exited "
                "unexpectedly; the job cannot continue."
            )
        if record.status == "Stopping":  # the stop it was asked for has happened, if not as planned
            return self.finish(record.name, "Stopped")
        return self.finish(record.name, "Failed", reason)
