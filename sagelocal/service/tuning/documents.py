"""The documents a tuning job is shown as, computed from its record and its children's training-job records:
DescribeHyperParameterTuningJob, the ListHyperParameterTuningJobs summary and the
HyperParameterTrainingJobSummary of each child (botocore's SageMaker model). Counters and BestTrainingJob are
derived from the children every time, so they cannot drift from what the children's own documents say.

- TrainingJobStatusCounters: Completed, InProgress (with Stopping), RetryableError (failed on an internal
  error), NonRetryableError (other failures), Stopped.
- ObjectiveStatusCounters: Pending while a child runs; Succeeded once it ended with a value of the objective
  metric in its FinalMetricDataList (a child stopped early keeps its last value); Failed otherwise.
- BestTrainingJob: the child with the best objective per the objective's Type, absent until there is one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sagelocal import config
from sagelocal.aws.errors import INTERNAL_SERVER_ERROR
from sagelocal.service.training.metrics import metric_definitions
from sagelocal.service.training.store import JobRecord
from sagelocal.service.tuning import definition as defn
from sagelocal.service.tuning.ranges import RANGE_KEYS
from sagelocal.service.tuning.rules import job_limit
from sagelocal.service.tuning.store import Child, TuningRecord


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


@dataclass
class ChildView:
    """A child as the tuning documents see it. ``name``/``status``/times make it listable (``listing.py``)."""

    child: Child
    job: JobRecord
    metric: str
    objective: float | None
    tuning_job: str

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def status(self) -> str:
        return self.job.status

    @property
    def creation_time(self) -> float:
        return self.job.creation_time

    @property
    def last_modified_time(self) -> float:
        return self.job.last_modified_time

    @property
    def objective_status(self) -> str:
        if not self.job.terminal:
            return "Pending"
        return "Succeeded" if self.objective is not None and self.job.status != "Failed" else "Failed"

    @property
    def objective_sort_value(self) -> float:
        return self.objective if self.objective is not None else float("nan")


def child_view(tuning_job: str, child: Child, job: JobRecord, metric: str) -> ChildView:
    value = None
    for item in job.final_metrics or []:
        if item["MetricName"] == metric:
            value = float(item["Value"])
    return ChildView(child, job, metric, value, tuning_job)


def counters(children: list[ChildView]) -> tuple[dict[str, int], dict[str, int]]:
    training = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for c in children:
        if c.status == "Failed":
            internal = (c.job.failure_reason or "").startswith(INTERNAL_SERVER_ERROR)
            training["RetryableError" if internal else "NonRetryableError"] += 1
        elif c.status in ("InProgress", "Stopping"):
            training["InProgress"] += 1
        else:
            training[c.status] += 1
        objective[c.objective_status] += 1
    return training, objective


def best(children: list[ChildView], maximize: bool) -> ChildView | None:
    scored = [c for c in children if c.objective_status == "Succeeded"]
    if not scored:
        return None
    return min(scored, key=lambda c: (-c.objective if maximize else c.objective, c.child.seq))  # type: ignore[operator]


def child_summary(view: ChildView, record: TuningRecord) -> dict[str, Any]:
    job = view.job
    item: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.arn,
        "TuningJobName": view.tuning_job,
        "CreationTime": _dt(job.creation_time),
    }
    if job.training_start_time is not None:
        item["TrainingStartTime"] = _dt(job.training_start_time)
    if job.training_end_time is not None:
        item["TrainingEndTime"] = _dt(job.training_end_time)
    item["TrainingJobStatus"] = job.status
    item["TunedHyperParameters"] = dict(view.child.tuned)
    if job.status == "Failed" and job.failure_reason:
        item["FailureReason"] = job.failure_reason
    if view.objective is not None:
        metric, maximize = defn.objective(record.request)
        item["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": "Maximize" if maximize else "Minimize",
            "MetricName": metric,
            "Value": view.objective,
        }
    item["ObjectiveStatus"] = view.objective_status
    return item


def _config(record: TuningRecord) -> dict[str, Any]:
    config_ = json.loads(json.dumps(record.request["HyperParameterTuningJobConfig"]))
    config_.setdefault("TrainingJobEarlyStoppingType", "Off")
    ranges = config_.setdefault("ParameterRanges", {})
    for key in RANGE_KEYS.values():
        ranges.setdefault(key, [])
    config_["ResourceLimits"].setdefault("MaxNumberOfTrainingJobs", job_limit(record.request))
    return config_


def _definition(record: TuningRecord) -> dict[str, Any]:
    """The definition as the SDK's ``attach`` reads it: the built-in algorithm's MetricDefinitions, the
    service's ``_tuning_objective_metric`` among the static hyperparameters, and a ResourceConfig even when the
    request gave a HyperParameterTuningResourceConfig."""
    d = json.loads(json.dumps(defn.definition(record.request)))
    d["StaticHyperParameters"] = defn.static_hyperparameters(record.request)
    spec = d.setdefault("AlgorithmSpecification", {})
    spec["MetricDefinitions"] = metric_definitions({"AlgorithmSpecification": spec})
    d.setdefault("RoleArn", config.DUMMY_ROLE_ARN)
    resource = defn.resource_config(d)
    resource.setdefault("InstanceCount", 1)
    resource.setdefault("VolumeSizeInGB", 30)
    d["ResourceConfig"] = resource
    d.setdefault("StoppingCondition", {}).setdefault("MaxRuntimeInSeconds", 86400)
    return d


def describe_document(
    record: TuningRecord, children: list[ChildView], overall: list[ChildView] | None = None
) -> dict[str, Any]:
    """``overall``: this job's children and its warm-start parents' (IdenticalDataAndAlgorithm)."""
    maximize = defn.objective(record.request)[1]
    training, objective = counters(children)
    doc: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": record.arn,
        "HyperParameterTuningJobConfig": _config(record),
        "TrainingJobDefinition": _definition(record),
        "HyperParameterTuningJobStatus": record.status,
        "CreationTime": _dt(record.creation_time),
    }
    if record.end_time is not None:
        doc["HyperParameterTuningEndTime"] = _dt(record.end_time)
    doc["LastModifiedTime"] = _dt(record.last_modified_time)
    doc["TrainingJobStatusCounters"] = training
    doc["ObjectiveStatusCounters"] = objective
    top = best(children, maximize)
    if top is not None:
        doc["BestTrainingJob"] = child_summary(top, record)
    if overall is not None:
        overall_top = best(overall, maximize)
        if overall_top is not None:
            doc["OverallBestTrainingJob"] = child_summary(overall_top, record)
    if record.request.get("WarmStartConfig"):
        doc["WarmStartConfig"] = record.request["WarmStartConfig"]
    if record.status == "Failed" and record.failure_reason:
        doc["FailureReason"] = record.failure_reason
    if record.details:
        doc["TuningJobCompletionDetails"] = {
            k: (_dt(v) if k == "ConvergenceDetectedTime" else v) for k, v in record.details.items()
        }
    end = record.end_time if record.end_time is not None else record.last_modified_time
    doc["ConsumedResources"] = {"RuntimeInSeconds": max(0, round(end - record.creation_time))}
    return doc


def summary(record: TuningRecord, children: list[ChildView]) -> dict[str, Any]:
    training, objective = counters(children)
    item: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": record.arn,
        "HyperParameterTuningJobStatus": record.status,
        "Strategy": record.request["HyperParameterTuningJobConfig"]["Strategy"],
        "CreationTime": _dt(record.creation_time),
    }
    if record.end_time is not None:
        item["HyperParameterTuningEndTime"] = _dt(record.end_time)
    item["LastModifiedTime"] = _dt(record.last_modified_time)
    item["TrainingJobStatusCounters"] = training
    item["ObjectiveStatusCounters"] = objective
    item["ResourceLimits"] = _config(record)["ResourceLimits"]
    return item
