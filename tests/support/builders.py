"""Shared request builders and constants: the seven phase lines, small CSV data, CreateTrainingJob requests."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from sagelocal.algorithms.xgboost.versions import image_uri_for

IMAGE = image_uri_for("3.0-5")
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
#: The seven SecondaryStatusTransitions of a completed job, as ``Status - StatusMessage``.
HAPPY_PATH = [
    "Starting - Starting the training job",
    "Starting - Preparing the instances for training",
    "Downloading - Downloading input data",
    "Downloading - Downloading the training image",
    "Training - Training image download completed. Training in progress.",
    "Uploading - Uploading generated training model",
    "Completed - Training job completed",
]


def write_csv(path: Path, rows: int, seed: int) -> None:
    """``rows`` lines of a separable binary problem: label first, four features, no header."""
    rng = random.Random(seed)
    lines = []
    for _ in range(rows):
        x = [rng.uniform(-1, 1) for _ in range(4)]
        label = 1 if x[0] + 0.5 * x[1] + rng.gauss(0, 0.3) > 0 else 0
        lines.append(",".join([str(label)] + [f"{v:.4f}" for v in x]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def make_request(name: str, inputs: dict[str, str], image: str = IMAGE, **hyperparameters: str) -> dict[str, Any]:
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
