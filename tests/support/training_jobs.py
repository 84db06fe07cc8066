"""A small CreateTrainingJob request and a transition list, for the training store, document and layout tests."""

from __future__ import annotations

from typing import Any

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def request(name: str = "job-1", **extra: object) -> dict[str, Any]:
    req = {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {"num_round": "3", "objective": "binary:logistic"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data/train"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
    }
    req.update(extra)
    return req


def statuses(record: Any) -> list[str]:
    """``<Status> - <StatusMessage>`` of each of a job record's transitions."""
    return [f"{t['Status']} - {t['StatusMessage']}" for t in record.transitions]
