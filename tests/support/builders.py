"""Shared request builders and constants: the seven phases, the classic tutorial's image and hyperparameters,
small CSV data, CreateTrainingJob requests, and a wait for a job's first boosting rounds."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path
from typing import Any

from sagelocal.algorithms.xgboost.versions import image_uri_for

IMAGE = image_uri_for("3.0-5")
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
#: The seven SecondaryStatusTransitions of a completed job, as ``(Status, StatusMessage)``.
PHASES = [
    ("Starting", "Starting the training job"),
    ("Starting", "Preparing the instances for training"),
    ("Downloading", "Downloading input data"),
    ("Downloading", "Downloading the training image"),
    ("Training", "Training image download completed. Training in progress."),
    ("Uploading", "Uploading generated training model"),
    ("Completed", "Training job completed"),
]
#: The same, as ``Status - StatusMessage`` lines.
HAPPY_PATH = [f"{status} - {message}" for status, message in PHASES]

#: The classic SageMaker XGBoost tutorial (xgboost_direct_marketing_sagemaker.ipynb in
#: aws/amazon-sagemaker-examples): its image URI and hyperparameters, in the order SDK v2 sends them.
TUTORIAL_IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"
TUTORIAL_HYPERPARAMETERS = {
    "eta": "0.2",
    "gamma": "4",
    "max_depth": "5",
    "min_child_weight": "6",
    "num_round": "100",
    "objective": "binary:logistic",
    "silent": "0",
    "subsample": "0.8",
}


def csv_text(rows: int, seed: int) -> str:
    """``rows`` lines of a separable binary problem: label first, four features, no header."""
    rng = random.Random(seed)
    lines = []
    for _ in range(rows):
        x = [rng.uniform(-1, 1) for _ in range(4)]
        label = 1 if x[0] + 0.5 * x[1] + rng.gauss(0, 0.3) > 0 else 0
        lines.append(",".join([str(label)] + [f"{v:.4f}" for v in x]))
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: int, seed: int) -> None:
    """:func:`csv_text` into ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(rows, seed))


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> content) under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def make_request(
    name: str, inputs: dict[str, str], image: str = IMAGE, **hyperparameters: str
) -> dict[str, Any]:
    """A CreateTrainingJob request: one text/csv S3Prefix channel per ``inputs`` entry, 5 small rounds."""
    hps = {"num_round": "5", "objective": "binary:logistic", "max_depth": "3", "eta": "0.3"}
    hps.update(hyperparameters)
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": hps,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
            }
            for channel, uri in inputs.items()
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/xgb/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def transitions(desc: dict[str, Any]) -> list[str]:
    """A Describe document's SecondaryStatusTransitions as ``Status - StatusMessage`` lines."""
    return [f"{t['Status']} - {t['StatusMessage']}" for t in desc["SecondaryStatusTransitions"]]


def tutorial_request(
    name: str, channels: dict[str, str], output_path: str, **hyperparameters: str
) -> dict[str, Any]:
    """The CreateTrainingJob body SDK v2 sends for the tutorial (reference sagemaker-api §4): one csv S3Prefix
    channel per ``channels`` entry, the tutorial's hyperparameters with ``hyperparameters`` over them."""
    return {
        "AlgorithmSpecification": {"TrainingImage": TUTORIAL_IMAGE, "TrainingInputMode": "File"},
        "DebugHookConfig": {"CollectionConfigurations": [], "S3OutputPath": output_path},
        "HyperParameters": {**TUTORIAL_HYPERPARAMETERS, **hyperparameters},
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "ContentType": "csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataDistributionType": "FullyReplicated",
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                    }
                },
            }
            for channel, uri in channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": output_path},
        "ProfilerConfig": {"DisableProfiler": False, "S3OutputPath": output_path},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 30},
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "TrainingJobName": name,
    }


def wait_until_training(backend: Any, name: str, rounds: int = 3, timeout: float = 120) -> None:
    """Until the job is Training and has logged ``rounds`` boosting rounds while still in progress (the
    algorithm really runs and its output streams)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = backend.describe_training_job(name)
        assert desc["TrainingJobStatus"] == "InProgress", desc.get("FailureReason")
        events = backend.get_log_events(name) if desc["SecondaryStatus"] == "Training" else []
        if sum(1 for e in events if re.match(r"\[\d+\]#011", e["message"])) >= rounds:
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} did not start training within {timeout} s")
