"""The documents a training job is shown as: DescribeTrainingJob's (with the defaults SageMaker fills in) and
ListTrainingJobs' summaries, rendered from the job's record. Times are datetimes; the wire layer formats them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sagelocal import config
from sagelocal.service.training.artifacts import model_artifact_uri
from sagelocal.service.training.metrics import metric_definitions
from sagelocal.service.training.store import JobRecord


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def _input_data_config(channels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for ch in channels:
        ch = json.loads(json.dumps(ch))
        s3 = (ch.get("DataSource") or {}).get("S3DataSource")
        if s3 is not None:
            s3.setdefault("S3DataDistributionType", "FullyReplicated")
        ch.setdefault("CompressionType", "None")
        ch.setdefault("RecordWrapperType", "None")
        result.append(ch)
    return result


def _output_data_config(given: dict[str, Any]) -> dict[str, Any]:
    """As DescribeTrainingJob shows it: ``KmsKeyId`` is always there (empty when none was given; the SageMaker
    SDK's ``Estimator.attach`` reads it unconditionally), and ``CompressionType`` defaults to ``GZIP``."""
    doc = {"KmsKeyId": "", **given}
    doc.setdefault("CompressionType", "GZIP")
    return doc


def _profiler_config(given: dict[str, Any]) -> dict[str, Any]:
    """The profiler's settings with the service's default sampling interval (500 ms, API reference:
    ProfilerConfig.ProfilingIntervalInMilliseconds) filled in unless profiling is disabled."""
    doc = dict(given)
    if not doc.get("DisableProfiler"):
        doc.setdefault("ProfilingIntervalInMilliseconds", 500)
    return doc


def describe_document(record: JobRecord) -> dict[str, Any]:
    req = record.request
    spec = dict(req.get("AlgorithmSpecification") or {})
    spec.setdefault("TrainingInputMode", "File")
    spec["MetricDefinitions"] = metric_definitions(req)
    spec.setdefault("EnableSageMakerMetricsTimeSeries", False)
    resource = dict(req.get("ResourceConfig") or {})
    resource.setdefault("InstanceCount", 1)
    resource.setdefault("VolumeSizeInGB", 30)
    stopping = dict(req.get("StoppingCondition") or {})
    stopping.setdefault("MaxRuntimeInSeconds", 86400)

    doc: dict[str, Any] = {
        "TrainingJobName": record.name,
        "TrainingJobArn": record.arn,
        "ModelArtifacts": {"S3ModelArtifacts": model_artifact_uri(req)},
        "TrainingJobStatus": record.status,
        "SecondaryStatus": record.secondary_status,
    }
    if req.get("TuningJobArn"):
        doc["TuningJobArn"] = req["TuningJobArn"]
    if record.failure_reason is not None and record.status == "Failed":
        doc["FailureReason"] = record.failure_reason
    doc["HyperParameters"] = dict(req.get("HyperParameters") or {})
    doc["AlgorithmSpecification"] = spec
    doc["RoleArn"] = req.get("RoleArn", config.DUMMY_ROLE_ARN)
    if req.get("InputDataConfig"):
        doc["InputDataConfig"] = _input_data_config(req["InputDataConfig"])
    doc["OutputDataConfig"] = _output_data_config(req.get("OutputDataConfig") or {})
    doc["ResourceConfig"] = resource
    for key in ("VpcConfig",):
        if req.get(key):
            doc[key] = req[key]
    doc["StoppingCondition"] = stopping
    doc["CreationTime"] = _dt(record.creation_time)
    if record.training_start_time is not None:
        doc["TrainingStartTime"] = _dt(record.training_start_time)
    if record.training_end_time is not None:
        doc["TrainingEndTime"] = _dt(record.training_end_time)
    doc["LastModifiedTime"] = _dt(record.last_modified_time)
    transitions = []
    for t in record.transitions:
        item: dict[str, Any] = {"Status": t["Status"], "StartTime": _dt(t["StartTime"])}
        if "EndTime" in t:
            item["EndTime"] = _dt(t["EndTime"])
        item["StatusMessage"] = t["StatusMessage"]
        transitions.append(item)
    doc["SecondaryStatusTransitions"] = transitions
    if record.final_metrics:
        doc["FinalMetricDataList"] = [
            {"MetricName": m["MetricName"], "Value": float(m["Value"]), "Timestamp": _dt(m["Timestamp"])}
            for m in record.final_metrics
        ]
    doc["EnableNetworkIsolation"] = bool(req.get("EnableNetworkIsolation", False))
    doc["EnableInterContainerTrafficEncryption"] = bool(
        req.get("EnableInterContainerTrafficEncryption", False)
    )
    doc["EnableManagedSpotTraining"] = bool(req.get("EnableManagedSpotTraining", False))
    for key in (
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "TensorBoardOutputConfig",
        "ExperimentConfig",
        "ProfilerRuleConfigurations",
        "Environment",
        "RetryStrategy",
        "RemoteDebugConfig",
        "InfraCheckConfig",
    ):
        if req.get(key) is not None:
            doc[key] = req[key]
    if req.get("ProfilerConfig") is not None:
        doc["ProfilerConfig"] = _profiler_config(req["ProfilerConfig"])
        doc["ProfilingStatus"] = "Disabled" if doc["ProfilerConfig"].get("DisableProfiler") else "Enabled"
    if record.training_start_time is not None and record.training_end_time is not None:
        seconds = max(1, round(record.training_end_time - record.training_start_time))
        doc["TrainingTimeInSeconds"] = seconds
        doc["BillableTimeInSeconds"] = seconds
    if req.get("Tags"):
        doc["Tags"] = req["Tags"]
    return doc


def summary(record: JobRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "TrainingJobName": record.name,
        "TrainingJobArn": record.arn,
        "CreationTime": _dt(record.creation_time),
    }
    if record.training_end_time is not None:
        item["TrainingEndTime"] = _dt(record.training_end_time)
    item["LastModifiedTime"] = _dt(record.last_modified_time)
    item["TrainingJobStatus"] = record.status
    item["SecondaryStatus"] = record.secondary_status
    return item
