"""A training job's metric datapoints over time: what SageMaker publishes to CloudWatch for it.

SageMaker applies each MetricDefinition's regex to every line the algorithm prints and publishes the captured
value as a datapoint of metric ``<Name>`` in namespace ``/aws/sagemaker/TrainingJobs`` with the one dimension
``TrainingJobName`` (SageMaker developer guide, "Monitor and Analyze Training Jobs Using Amazon CloudWatch
Metrics", docs.aws.amazon.com/sagemaker/latest/dg/training-metrics.html). The datapoints are derived here, on
demand, from the job's stored log events with the same :class:`MetricTracker` that computes its
FinalMetricDataList, so reading metrics adds no work to a running job and the last datapoint of each metric is
its FinalMetricDataList value. Each datapoint carries its log event's time (epoch milliseconds): one per round
for the built-in XGBoost, whose every round prints one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagelocal.service.logstore import TRAINING_LOG_GROUP, LogStore
from sagelocal.service.training.metrics import MetricTracker, metric_definitions

#: The CloudWatch namespace and dimension of training-job metrics.
NAMESPACE = "/aws/sagemaker/TrainingJobs"
DIMENSION = "TrainingJobName"


@dataclass(frozen=True)
class Datapoint:
    """One published value: its log event's time (epoch ms) and the captured number."""

    timestamp_ms: int
    value: float


def series_from_events(
    definitions: list[dict[str, str]], events: list[dict[str, Any]]
) -> dict[str, list[Datapoint]]:
    """Every metric with at least one datapoint, in definition order, each with its datapoints in log order.
    ``events`` are CloudWatch Logs events (``timestamp``, ``message``) in time order."""
    tracker = MetricTracker(definitions)
    found: dict[str, list[Datapoint]] = {}
    for event in events:
        for name, value in tracker.matches(event["message"]):
            found.setdefault(name, []).append(Datapoint(int(event["timestamp"]), value))
    return {name: found[name] for name in tracker.names if name in found}


def job_series(logs: LogStore, name: str, request: dict[str, Any]) -> dict[str, list[Datapoint]]:
    """The datapoints of job ``name`` (its CreateTrainingJob ``request`` names its definitions), from the
    events of all its ``<job>/…`` log streams."""
    definitions = metric_definitions(request)
    if not definitions:
        return {}
    return series_from_events(definitions, logs.merged_events(TRAINING_LOG_GROUP, f"{name}/"))
