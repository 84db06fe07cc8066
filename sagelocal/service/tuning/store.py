"""Hyperparameter tuning job records and the list of training jobs each launched, in the emulator's SQLite
database. Like the training-job store it imports nothing heavy: the tuner process uses it.

A tuning job is InProgress from its creation; Stop makes it Stopping; its tuner ends it Completed, Stopped or
Failed. A tuner that dies (kill -9, a crash) is noticed by whoever reads the record next (the same
pid-plus-start-time check as training supervisors): the job is failed and its running children are stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sagelocal import config
from sagelocal.aws.errors import ResourceInUse, ResourceNotFound, ValidationException
from sagelocal.service.db import Database
from sagelocal.service.execution.procs import worker_alive

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
#: If a tuning job has no tuner pid this long after creation, its creator died before starting the tuner.
SPAWN_GRACE_SECONDS = 30.0


def not_found(name: str) -> ResourceNotFound:
    """The service's ResourceNotFound for an unknown tuning job (wording observed in
    aws/amazon-sagemaker-examples#1540)."""
    return ResourceNotFound(f"Amazon SageMaker can't find a tuning job called {name}. Type another name.")


def tuning_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{config.region()}:{config.ACCOUNT_ID}:hyper-parameter-tuning-job/{name}"


def _now() -> float:
    return round(time.time(), 3)


@dataclass
class TuningRecord:
    name: str
    arn: str
    runner: str
    request: dict[str, Any]
    status: str
    failure_reason: str | None
    creation_time: float
    last_modified_time: float
    end_time: float | None
    details: dict[str, Any] | None
    tuner_pid: int | None
    tuner_start: str | None

    @classmethod
    def from_row(cls, row: Any) -> TuningRecord:
        return cls(
            name=row["name"],
            arn=row["arn"],
            runner=row["runner"],
            request=json.loads(row["request"]),
            status=row["status"],
            failure_reason=row["failure_reason"],
            creation_time=row["creation_time"],
            last_modified_time=row["last_modified_time"],
            end_time=row["end_time"],
            details=json.loads(row["details"]) if row["details"] else None,
            tuner_pid=row["tuner_pid"],
            tuner_start=row["tuner_start"],
        )

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class Child:
    """One training job a tuning job launched."""

    seq: int
    training_job: str
    tuned: dict[str, str]


class TuningStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reads ---

    def get(self, name: str) -> TuningRecord | None:
        row = self.db.conn().execute("SELECT * FROM tuning_jobs WHERE name = ?", (name,)).fetchone()
        return TuningRecord.from_row(row) if row else None

    def require(self, name: str) -> TuningRecord:
        record = self.get(name)
        if record is None:
            raise not_found(name)
        return record

    def all(self) -> list[TuningRecord]:
        rows = self.db.conn().execute("SELECT * FROM tuning_jobs ORDER BY creation_time").fetchall()
        return [TuningRecord.from_row(r) for r in rows]

    def children(self, name: str) -> list[Child]:
        rows = (
            self.db.conn()
            .execute(
                "SELECT seq, training_job, tuned FROM tuning_children WHERE tuning_job = ? ORDER BY seq",
                (name,),
            )
            .fetchall()
        )
        return [Child(r["seq"], r["training_job"], json.loads(r["tuned"])) for r in rows]

    # --- writes ---

    def insert(self, name: str, runner: str, request: dict[str, Any]) -> TuningRecord:
        now = _now()
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM tuning_jobs WHERE name = ?", (name,)).fetchone():
                # Wording: aws/amazon-sagemaker-examples#3353, #2440; aws/sagemaker-python-sdk#2708.
                raise ResourceInUse(
                    f"A hyperparameter tuning job with the name, {name}, already exists. Choose a different name."
                )
            conn.execute(
                "INSERT INTO tuning_jobs (name, arn, runner, request, status, creation_time, last_modified_time)"
                " VALUES (?, ?, ?, ?, 'InProgress', ?, ?)",
                (name, tuning_arn(name), runner, json.dumps(request), now, now),
            )
        return self.require(name)

    def set_tuner(self, name: str, pid: int, start: str | None) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE tuning_jobs SET tuner_pid = ?, tuner_start = ? WHERE name = ?", (pid, start, name)
            )

    def add_child(self, name: str, seq: int, training_job: str, tuned: dict[str, str]) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO tuning_children (tuning_job, seq, training_job, tuned) VALUES (?, ?, ?, ?)",
                (name, seq, training_job, json.dumps(tuned)),
            )
            conn.execute("UPDATE tuning_jobs SET last_modified_time = ? WHERE name = ?", (_now(), name))

    def set_details(self, name: str, details: dict[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE tuning_jobs SET details = ?, last_modified_time = ? WHERE name = ?",
                (json.dumps(details), _now(), name),
            )

    def request_stop(self, name: str) -> TuningRecord:
        """StopHyperParameterTuningJob's state change: InProgress -> Stopping. Returns the record as it was."""
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM tuning_jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise not_found(name)
            if row["status"] != "InProgress":
                # The SDK expects a ValidationException here (it swallows it); the wording is sagelocal's.
                raise ValidationException(
                    f"The request was rejected because the hyperparameter tuning job is in status {row['status']}."
                )
            conn.execute(
                "UPDATE tuning_jobs SET status = 'Stopping', last_modified_time = ? WHERE name = ?",
                (_now(), name),
            )
        return TuningRecord.from_row(row)

    def finish(self, name: str, status: str, failure_reason: str | None = None) -> TuningRecord:
        """End the job (``Completed``, ``Stopped`` or ``Failed``); a job already ended keeps its status, and a
        job being stopped ends Stopped unless it failed."""
        now = _now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM tuning_jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise not_found(name)
            if row["status"] in TERMINAL:
                return TuningRecord.from_row(row)
            if row["status"] == "Stopping" and status == "Completed":
                status = "Stopped"
            conn.execute(
                "UPDATE tuning_jobs SET status = ?, failure_reason = ?, end_time = ?, last_modified_time = ?"
                " WHERE name = ?",
                (status, failure_reason if status == "Failed" else None, now, now, name),
            )
        return self.require(name)

    def dead_tuner_reason(self, record: TuningRecord) -> str | None:
        """Why a non-terminal job's tuner is gone (crashed, killed, or its pid reused), or None if it runs."""
        if record.terminal:
            return None
        if record.tuner_pid is None:
            if time.time() - record.creation_time < SPAWN_GRACE_SECONDS:
                return None
            return "sagelocal: the tuning job's tuner process was never started; the job cannot continue."
        if worker_alive(record.tuner_pid, record.tuner_start):
            return None
        return (
            f"sagelocal: the tuning job's tuner process (pid {record.tuner_pid}) exited unexpectedly; "
            "the job cannot continue."
        )
