"""A finished built-in XGBoost job on ``sagelocal serve`` with train and validation channels, for the CloudWatch
metrics tests (server and CLI)."""

from __future__ import annotations

import time
from typing import Any

from support.server_fixture import Server, breast_cancer_csv

BUCKET = "cw-metrics"


def train_job(server: Server, name: str, num_round: int = 4) -> dict[str, Any]:
    """A built-in XGBoost job with train and validation channels; its final DescribeTrainingJob."""
    s3 = server.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="train/data.csv", Body=breast_cancer_csv(200))
        s3.put_object(Bucket=BUCKET, Key="validation/data.csv", Body=breast_cancer_csv(100))
    sm = server.client("sagemaker")
    channels = [
        {
            "ChannelName": channel,
            "ContentType": "csv",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{channel}"}},
        }
        for channel in ("train", "validation")
    ]
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "TrainingInputMode": "File",
        },
        HyperParameters={"objective": "binary:logistic", "num_round": str(num_round), "eval_metric": "auc"},
        InputDataConfig=channels,
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5},
        RoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    deadline = time.monotonic() + 240
    while (desc := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.3)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    return desc
