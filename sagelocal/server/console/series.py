"""A training job's metrics per round, from its log, for the console's charts and sparklines.

The values are what SageMaker would publish to CloudWatch: every log line is matched against the job's
MetricDefinitions (its own, or the built-in algorithm's) by the same matcher that fills FinalMetricDataList
(the datapoints CloudWatch serves, :mod:`sagelocal.service.training.metric_series`), so the last point of each
series is the job's final metric. A series' n-th point is the n-th match of its definition; for the built-in
XGBoost, which prints one ``[i]#011train-…#011validation-…`` line per boosting round, that is round ``i``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sagelocal.service.training.metric_series import series_from_events
from sagelocal.service.training.metrics import metric_definitions

#: The hyperparameter a tuning job gives its children, naming the objective metric (reference: SageMaker
#: automatic model tuning, "_tuning_objective_metric").
TUNING_OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"


@dataclass
class Series:
    name: str  # the MetricDefinition's Name, e.g. ``validation:rmse``
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # epoch seconds of each value's log line


def metric_series(request: dict[str, Any], messages: Iterable[tuple[int, str]]) -> list[Series]:
    """The series of every metric the job's definitions found in ``messages`` (``(timestamp ms, line)``), in
    definition order: CloudWatch's datapoints of the job (:mod:`sagelocal.service.training.metric_series`)."""
    events = [{"timestamp": timestamp, "message": message} for timestamp, message in messages]
    found = series_from_events(metric_definitions(request), events)
    return [
        Series(name, [p.value for p in points], [p.timestamp_ms / 1000 for p in points])
        for name, points in found.items()
    ]


def objective_series(request: dict[str, Any], series: list[Series]) -> Series | None:
    """The series a job list shows as its sparkline: the tuning objective when the job has one, else the first
    validation metric (the one XGBoost's early stopping watches is a validation metric), else the first."""
    if not series:
        return None
    by_name = {s.name: s for s in series}
    wanted = (request.get("HyperParameters") or {}).get(TUNING_OBJECTIVE_HYPERPARAMETER)
    if isinstance(wanted, str) and wanted in by_name:
        return by_name[wanted]
    for s in series:
        if s.name.startswith("validation:"):
            return s
    return series[0]
