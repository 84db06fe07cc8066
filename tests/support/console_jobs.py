"""Training jobs written straight into a state folder's database, as a job's supervisor writes them, for the
console tests: a job in any phase, with the built-in XGBoost's per-round log lines, without running XGBoost.

``JobWriter(home)`` uses the service's own stores (``JobStore``, ``LogStore``) over the same SQLite file a
running ``sagelocal serve`` reads, so a page shows what it would show for a real job at that moment.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sagelocal.config import StatePaths
from sagelocal.service.db import Database
from sagelocal.service.logstore import TRAINING_LOG_GROUP, LogStore
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training.store import DOWNLOADING, PREPARING, TRAINING, UPLOADING, JobStore
from support.training_jobs import request as job_request

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def round_line(i: int, metrics: dict[str, float]) -> str:
    """The built-in XGBoost's line for round ``i`` as CloudWatch stores it (tabs as ``#011``)."""
    return f"[{i}]" + "".join(f"#011{name.replace(':', '-')}:{value:.5f}" for name, value in metrics.items())


def rmse_rounds(rounds: int) -> list[dict[str, float]]:
    """Decreasing train/validation RMSE values, one dict per round."""
    return [
        {"train:rmse": 0.5 * 0.8**i + 0.05, "validation:rmse": 0.55 * 0.85**i + 0.08} for i in range(rounds)
    ]


class JobWriter:
    def __init__(self, home: Path) -> None:
        self.paths = StatePaths(home)
        self.db = Database(self.paths.database)
        self.jobs = JobStore(self.db)
        self.logs = LogStore(self.db)
        self.objects = ObjectStore(self.paths.objects)

    def create(self, name: str, **extra: Any) -> None:
        """A new job (Starting), with the built-in XGBoost image, S3 input in ``bucket`` and output under it."""
        request = job_request(name, **extra)
        request["AlgorithmSpecification"] = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
        self.jobs.insert(name, "process", request)

    def start_training(self, name: str) -> str:
        """Starting → Downloading → Training; returns the log stream's name."""
        for phase in (PREPARING, DOWNLOADING, TRAINING):
            self.jobs.advance(name, phase)
        stream = f"{name}/algo-1-{int(time.time())}"
        self.logs.create_log_stream(TRAINING_LOG_GROUP, stream)
        return stream

    def log(self, stream: str, *lines: str) -> None:
        now = int(time.time() * 1000)
        self.logs.put_log_events(
            TRAINING_LOG_GROUP, stream, [(now + i, line) for i, line in enumerate(lines)]
        )

    def log_rounds(self, stream: str, rounds: list[dict[str, float]], start: int = 0) -> None:
        self.log(stream, *(round_line(start + i, metrics) for i, metrics in enumerate(rounds)))

    def complete(self, name: str, rounds: list[dict[str, float]], model: bytes = b"model") -> None:
        """Uploading → Completed, with the last round's values as FinalMetricDataList and a model.tar.gz."""
        self.jobs.advance(name, UPLOADING)
        self.objects.create_bucket("bucket")
        self.objects.put_object("bucket", f"out/{name}/output/model.tar.gz", model)
        now = round(time.time(), 3)
        final = (
            [{"MetricName": k, "Value": v, "Timestamp": now} for k, v in rounds[-1].items()]
            if rounds
            else None
        )
        self.jobs.finish(name, "Completed", final_metrics=final)

    def fail(self, name: str, reason: str) -> None:
        self.jobs.finish(name, "Failed", failure_reason=reason)

    def completed_job(self, name: str, rounds: int = 10) -> list[dict[str, float]]:
        values = rmse_rounds(rounds)
        self.create(name)
        stream = self.start_training(name)
        self.log(stream, "[2026-12-02 14:00:00.000 ip-10-0-0-1:7 INFO main.py:90] Train matrix has 200 rows")
        self.log_rounds(stream, values)
        self.complete(name, values)
        return values
