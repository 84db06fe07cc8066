"""The DescribeTrainingJob document rendered from a job record."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.training_jobs import request

from sagelocal.config import StatePaths
from sagelocal.service.db import Database
from sagelocal.service.training import store as jobs
from sagelocal.service.training.documents import describe_document
from sagelocal.service.training.store import JobStore


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(Database(StatePaths(tmp_path).database))


def test_describe_document(store: JobStore) -> None:
    store.insert("job-1", "process", request())
    for step in (jobs.PREPARING, jobs.DOWNLOADING, jobs.DOWNLOADING_IMAGE, jobs.TRAINING, jobs.UPLOADING):
        store.advance("job-1", step)
    metric = {"MetricName": "train:logloss", "Value": 0.25, "Timestamp": time.time()}
    doc = describe_document(store.finish("job-1", "Completed", final_metrics=[metric]))
    assert doc["ModelArtifacts"] == {"S3ModelArtifacts": "s3://bucket/out/job-1/output/model.tar.gz"}
    assert doc["TrainingJobStatus"] == "Completed" and doc["SecondaryStatus"] == "Completed"
    assert "FailureReason" not in doc
    assert doc["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert doc["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is False
    defs = {d["Name"]: d["Regex"] for d in doc["AlgorithmSpecification"]["MetricDefinitions"]}
    assert (
        defs["validation:auc"]
        == r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"
    )
    assert "train:logloss" in defs
    s3 = doc["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert s3["S3DataDistributionType"] == "FullyReplicated"
    assert doc["InputDataConfig"][0]["CompressionType"] == "None"
    assert doc["InputDataConfig"][0]["RecordWrapperType"] == "None"
    assert doc["ResourceConfig"] == {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
    assert doc["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        assert isinstance(doc[key], datetime) and doc[key].tzinfo is UTC
    assert doc["TrainingTimeInSeconds"] == 1 and doc["BillableTimeInSeconds"] == 1
    assert doc["FinalMetricDataList"][0]["MetricName"] == "train:logloss"
    assert doc["FinalMetricDataList"][0]["Value"] == 0.25
    assert doc["EnableNetworkIsolation"] is False and doc["EnableManagedSpotTraining"] is False
    assert "DebugRuleEvaluationStatuses" not in doc and "ProfilerRuleEvaluationStatuses" not in doc
    last = doc["SecondaryStatusTransitions"][-1]
    assert list(last) == ["Status", "StartTime", "StatusMessage"]


def test_describe_document_shows_what_attach_reads(store: JobStore) -> None:
    """The members the SageMaker SDK's ``Estimator.attach`` reads unconditionally are there as the service
    shows them: OutputDataConfig.KmsKeyId (empty when none was given) and CompressionType (GZIP), and the
    profiler settings with ProfilingStatus."""
    given = request(
        "job-2",
        ProfilerConfig={"S3OutputPath": "s3://bucket/out", "DisableProfiler": False},
        RetryStrategy={"MaximumRetryAttempts": 2},
    )
    doc = describe_document(store.insert("job-2", "process", given))
    assert doc["OutputDataConfig"] == {
        "KmsKeyId": "",
        "S3OutputPath": "s3://bucket/out/",
        "CompressionType": "GZIP",
    }
    assert doc["ProfilerConfig"] == {
        "S3OutputPath": "s3://bucket/out",
        "DisableProfiler": False,
        "ProfilingIntervalInMilliseconds": 500,
    }
    assert doc["ProfilingStatus"] == "Enabled"
    assert doc["RetryStrategy"] == {"MaximumRetryAttempts": 2}
    assert doc["EnableInterContainerTrafficEncryption"] is False

    kms = request(
        "job-3", OutputDataConfig={"S3OutputPath": "s3://b/o", "KmsKeyId": "k", "CompressionType": "NONE"}
    )
    kms["ProfilerConfig"] = {"DisableProfiler": True}
    doc = describe_document(store.insert("job-3", "process", kms))
    assert doc["OutputDataConfig"] == {"KmsKeyId": "k", "S3OutputPath": "s3://b/o", "CompressionType": "NONE"}
    assert doc["ProfilerConfig"] == {"DisableProfiler": True} and doc["ProfilingStatus"] == "Disabled"
    assert "ProfilingStatus" not in describe_document(store.insert("job-4", "process", request("job-4")))
