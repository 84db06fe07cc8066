"""CloudWatch's ListMetrics and GetMetricStatistics over training-job metrics: what the SageMaker SDK's
``TrainingJobAnalytics(job).dataframe()`` reads.

The metrics are the ones SageMaker publishes for a training job (namespace ``/aws/sagemaker/TrainingJobs``,
dimension ``TrainingJobName``), derived from the job's log by its MetricDefinitions
(:mod:`sagelocal.service.training.metric_series`). Parameters are checked against botocore's CloudWatch model
first, then by the service's own rules (the GetMetricStatistics API reference,
docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html):

- StartTime is inclusive and rounded down to the whole minute (for a start less than 15 days ago, which every
  sagelocal job is); EndTime is exclusive; StartTime equal to EndTime is refused.
- At most 1,440 datapoints per call: ``(EndTime - StartTime) / Period`` periods.
- Exactly one of Statistics and ExtendedStatistics.
- A metric, dimension or namespace with no data is no error: ``{"Label": <name>, "Datapoints": []}``.

One deliberate difference (issue 16): real CloudWatch merges the datapoints of one Period into one aggregate,
so the rounds of a fast XGBoost job, all printed within a minute, come back as one datapoint per metric
(aws/sagemaker-python-sdk#1361). sagelocal returns each published datapoint on its own, stamped with its log
event's time, with the statistics of that one sample (SampleCount 1, Average = Sum = Minimum = Maximum =
the value), so ``TrainingJobAnalytics(...).dataframe()`` shows one row per metric per round.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sagelocal.aws.errors import SerializationException, ServiceError, ValidationException
from sagelocal.aws.validation import parse_timestamp, validate
from sagelocal.service.logstore import LogStore
from sagelocal.service.training.metric_series import DIMENSION, NAMESPACE, Datapoint, job_series
from sagelocal.service.training.store import JobRecord, JobStore

SERVICE = "cloudwatch"
#: GetMetricStatistics' limit on datapoints per call.
MAX_DATAPOINTS = 1440
#: ListMetrics' page size ("Up to 500 results are returned for any one call", ListMetrics API reference).
LIST_PAGE_SIZE = 500
#: RecentlyActive's only value and the window it selects.
RECENTLY_ACTIVE = "PT3H"
_RECENT_SECONDS = 3 * 3600
#: Training metrics carry no unit; CloudWatch reports such data with Unit ``None``.
UNIT = "None"
_PERCENTILE = re.compile(r"p(\d{1,2}(\.\d+)?|100(\.0+)?)")


class CloudWatchError(ServiceError):
    """A CloudWatch error: ``code`` is the query-protocol code; ``shape`` the model's error shape name, which
    the JSON protocol sends as ``__type``; ``sender`` whether the client is at fault."""

    shape = "InvalidParameterValueException"
    sender = True


class InvalidParameterValue(CloudWatchError):
    code = "InvalidParameterValue"


class InvalidParameterCombination(CloudWatchError):
    code = "InvalidParameterCombination"
    shape = "InvalidParameterCombinationException"


class MissingParameter(CloudWatchError):
    code = "MissingParameter"
    shape = "MissingRequiredParameterException"


class ValidationError(CloudWatchError):
    """A constraint of the model (length, enum, required…), as the query services name it."""

    code = "ValidationError"
    shape = "ValidationError"


class InternalServiceError(CloudWatchError):
    code = "InternalServiceError"
    shape = "InternalServiceFault"
    http_status = 500
    sender = False


def _validate(operation: str, params: dict[str, Any]) -> None:
    try:
        validate(SERVICE, operation, params)
    except SerializationException:
        raise
    except ValidationException as error:
        raise ValidationError(error.message) from None


def _epoch(value: Any) -> float:
    parsed = parse_timestamp(value)
    if parsed is None:  # the model check let through something that is no time
        raise InvalidParameterValue(f"The timestamp {value!r} is not a valid time.")
    return parsed.timestamp()


def _iso(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


class TrainingMetrics:
    """The CloudWatch view of every training job's metrics, read from the job store and the log store."""

    def __init__(self, jobs: JobStore, logs: LogStore) -> None:
        self._jobs = jobs
        self._logs = logs

    def _series(self, record: JobRecord) -> dict[str, list[Datapoint]]:
        return job_series(self._logs, record.name, record.request)

    def _jobs_matching(self, dimensions: list[dict[str, Any]]) -> Iterator[JobRecord]:
        """The jobs whose one dimension (TrainingJobName) satisfies every filter."""
        names = {f.get("Name") for f in dimensions}
        if names - {DIMENSION}:
            return
        wanted = {f["Value"] for f in dimensions if f.get("Value") is not None}
        if len(wanted) > 1:
            return
        if wanted:
            record = self._jobs.get(next(iter(wanted)))
            if record is not None:
                yield record
            return
        yield from sorted(self._jobs.all(), key=lambda r: r.name)

    # --- ListMetrics --------------------------------------------------------------------------------------

    def list_metrics(self, params: dict[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in params.items() if v is not None}
        _validate("ListMetrics", params)
        if params.get("Namespace", NAMESPACE) != NAMESPACE:
            return {"Metrics": []}
        wanted_name = params.get("MetricName")
        since = time.time() - _RECENT_SECONDS if params.get("RecentlyActive") == RECENTLY_ACTIVE else None
        metrics: list[dict[str, Any]] = []
        for record in self._jobs_matching(list(params.get("Dimensions") or [])):
            for name, points in self._series(record).items():
                if wanted_name is not None and name != wanted_name:
                    continue
                if since is not None and points[-1].timestamp_ms / 1000 < since:
                    continue
                metrics.append(
                    {
                        "Namespace": NAMESPACE,
                        "MetricName": name,
                        "Dimensions": [{"Name": DIMENSION, "Value": record.name}],
                    }
                )
        offset = _token_offset(params["NextToken"]) if "NextToken" in params else 0
        page: dict[str, Any] = {"Metrics": metrics[offset : offset + LIST_PAGE_SIZE]}
        if offset + LIST_PAGE_SIZE < len(metrics):
            page["NextToken"] = base64.urlsafe_b64encode(
                json.dumps({"offset": offset + LIST_PAGE_SIZE}).encode()
            ).decode()
        return page

    # --- GetMetricStatistics ------------------------------------------------------------------------------

    def get_metric_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in params.items() if v is not None}
        _validate("GetMetricStatistics", params)
        statistics = list(params.get("Statistics") or [])
        extended = list(params.get("ExtendedStatistics") or [])
        if bool(statistics) == bool(extended):
            raise InvalidParameterCombination(
                "Must specify either Statistics or ExtendedStatistics, but not both."
            )
        for stat in extended:
            if not _PERCENTILE.fullmatch(stat) or float(stat[1:]) > 100:
                raise InvalidParameterValue(
                    f"The value {stat} for parameter ExtendedStatistics is not supported."
                )
        period = int(params["Period"])
        start = _epoch(params["StartTime"])
        end = _epoch(params["EndTime"])
        if start == end:
            raise InvalidParameterValue("The parameter StartTime must not equal parameter EndTime.")
        if start > end:
            raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
        requested = math.ceil((end - start) / period)
        if requested > MAX_DATAPOINTS:
            raise InvalidParameterCombination(
                f"You have requested up to {requested} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. "
                "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            )
        start = math.floor(start / 60) * 60 if period >= 60 else start
        name = params["MetricName"]
        answer: dict[str, Any] = {"Label": name, "Datapoints": []}
        if params["Namespace"] != NAMESPACE or params.get("Unit", UNIT) != UNIT:
            return answer
        dimensions = list(params.get("Dimensions") or [])
        # A metric is the exact set of its dimensions: the training metrics have TrainingJobName alone.
        if len(dimensions) != 1 or dimensions[0].get("Name") != DIMENSION:
            return answer
        record = self._jobs.get(str(dimensions[0].get("Value")))
        if record is None:
            return answer
        points = self._series(record).get(name, [])
        answer["Datapoints"] = [
            _datapoint(p, statistics, extended) for p in points if start <= p.timestamp_ms / 1000 < end
        ]
        return answer


def _datapoint(point: Datapoint, statistics: list[str], extended: list[str]) -> dict[str, Any]:
    """The statistics of one sample, in the model's member order."""
    doc: dict[str, Any] = {"Timestamp": _iso(point.timestamp_ms)}
    for stat in ("SampleCount", "Average", "Sum", "Minimum", "Maximum"):
        if stat in statistics:
            doc[stat] = 1.0 if stat == "SampleCount" else point.value
    doc["Unit"] = UNIT
    if extended:
        doc["ExtendedStatistics"] = {stat: point.value for stat in extended}
    return doc


def _token_offset(token: Any) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token)))["offset"]
    except Exception:
        raise InvalidParameterValue("The specified NextToken is not valid.") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidParameterValue("The specified NextToken is not valid.")
    return offset
