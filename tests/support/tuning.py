"""Tuning-job helpers for tests: a CreateHyperParameterTuningJob request over small data, and the teardown
that kills a state directory's leftover tuner processes (before its training supervisors, so no tuner launches
another child meanwhile)."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

from sagelocal.service.execution.procs import worker_alive
from support.builders import IMAGE, ROLE


def tuning_request(
    name: str,
    inputs: dict[str, str],
    *,
    strategy: str = "Random",
    max_jobs: int | None = 4,
    parallel: int = 2,
    ranges: dict[str, Any] | None = None,
    static: dict[str, str] | None = None,
    metric: str = "validation:auc",
    objective_type: str = "Maximize",
    **config: Any,
) -> dict[str, Any]:
    """A CreateHyperParameterTuningJob request for the built-in XGBoost on ``inputs`` (channel -> S3 URI)."""
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": metric},
            "ResourceLimits": limits,
            "ParameterRanges": ranges
            if ranges is not None
            else {
                "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}],
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6"}],
            },
            **config,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static
            if static is not None
            else {"num_round": "5", "objective": "binary:logistic"},
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "ContentType": "text/csv",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                }
                for channel, uri in inputs.items()
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/tuning/output"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def kill_leftover_tuners(home: Path) -> None:
    """SIGKILL the tuner processes of this state directory's unfinished tuning jobs (pid and start time
    matching the record)."""
    db = home / "sagelocal.db"
    if not db.exists():
        return
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        rows = conn.execute(
            "SELECT tuner_pid, tuner_start FROM tuning_jobs WHERE status IN ('InProgress', 'Stopping')"
        ).fetchall()
    except sqlite3.OperationalError:  # a state directory made before tuning existed
        rows = []
    finally:
        conn.close()
    for pid, start in rows:
        if pid is not None and worker_alive(pid, start):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
