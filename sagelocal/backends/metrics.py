"""Training-job metrics for :meth:`Backend.training_metrics`: read from the emulated service's logs, or from
CloudWatch through boto3, the way the SageMaker SDK's ``TrainingJobAnalytics`` reads them.

The SDK asks GetMetricStatistics, per metric, for namespace ``/aws/sagemaker/TrainingJobs``, dimension
``TrainingJobName``, ``Period=60``, ``Statistics=["Average"]``, from TrainingStartTime to TrainingEndTime (or
now) plus one minute (aws/sagemaker-python-sdk, ``src/sagemaker/analytics.py``). So does the ``sagemaker``
backend, after one ListMetrics to skip the definitions that never matched (a built-in XGBoost job defines 66).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sagelocal.backends.base import MetricPoint
from sagelocal.service.training.metric_series import DIMENSION, NAMESPACE, job_series
from sagelocal.service.training.metrics import MetricTracker

if TYPE_CHECKING:
    from sagelocal.service.service import Emulator

PERIOD = 60
#: GetMetricStatistics' limit on datapoints per call: longer windows are read in slices.
MAX_DATAPOINTS = 1440


def job_metric_points(emulator: Emulator, name: str) -> dict[str, list[MetricPoint]]:
    """The emulated job's metrics, straight from its log (what ``sagelocal serve`` publishes for it)."""
    record = emulator.jobs.require(name)
    return {
        metric: [MetricPoint(datetime.fromtimestamp(p.timestamp_ms / 1000, tz=UTC), p.value) for p in points]
        for metric, points in job_series(emulator.logs, name, record.request).items()
    }


def _listed_metric_names(cloudwatch: Any, job: str) -> set[str]:
    names: set[str] = set()
    params: dict[str, Any] = {"Namespace": NAMESPACE, "Dimensions": [{"Name": DIMENSION, "Value": job}]}
    while True:
        page = cloudwatch.list_metrics(**params)
        names.update(m["MetricName"] for m in page.get("Metrics", []))
        if not page.get("NextToken"):
            return names
        params["NextToken"] = page["NextToken"]


def cloudwatch_metric_points(cloudwatch: Any, description: dict[str, Any]) -> dict[str, list[MetricPoint]]:
    """A job's metrics read from CloudWatch by a boto3 ``cloudwatch`` client; ``description`` is its
    DescribeTrainingJob document (metric names from MetricDefinitions, window from its times)."""
    job = description["TrainingJobName"]
    start = description.get("TrainingStartTime")
    if start is None:  # not training yet: nothing published
        return {}
    end = (description.get("TrainingEndTime") or datetime.now(UTC)) + timedelta(minutes=1)
    definitions = (description.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
    listed = _listed_metric_names(cloudwatch, job)
    found: dict[str, list[MetricPoint]] = {}
    for name in [d["Name"] for d in definitions if d["Name"] in listed]:
        points: list[MetricPoint] = []
        slice_start = start
        while slice_start < end:
            slice_end = min(end, slice_start + timedelta(seconds=PERIOD * MAX_DATAPOINTS))
            answer = cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE,
                MetricName=name,
                Dimensions=[{"Name": DIMENSION, "Value": job}],
                StartTime=slice_start,
                EndTime=slice_end,
                Period=PERIOD,
                Statistics=["Average"],
            )
            points += [MetricPoint(p["Timestamp"], float(p["Average"])) for p in answer.get("Datapoints", [])]
            slice_start = slice_end
        if points:
            # CloudWatch returns datapoints in no particular order; a stable sort keeps equal times as given.
            found[name] = sorted(points, key=lambda p: p.timestamp)
    return found


def log_metric_matcher(description: dict[str, Any]) -> Callable[[str], list[tuple[str, float]]]:
    """The ``(metric, value)`` datapoints one log line of the described job publishes, by the
    MetricDefinitions its DescribeTrainingJob document lists (the service's own rule, on any backend)."""
    definitions = (description.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
    return MetricTracker(list(definitions)).matches
