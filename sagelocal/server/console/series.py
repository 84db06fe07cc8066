"""A training job's metrics per round, from its log, for the console's charts and sparklines.

The values are what SageMaker would publish to CloudWatch: every log line is matched against the job's
MetricDefinitions (its own, or the built-in algorithm's) by :class:`~sagelocal.service.training.metrics.
MetricTracker`, the same matcher that fills FinalMetricDataList, so the last point of each series is the job's
final metric. A series' n-th point is the n-th match of its definition; for the built-in XGBoost, which prints
one ``[i]#011train-…#011validation-…`` line per boosting round, that is round ``i``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sagelocal.service.training.metrics import MetricTracker, metric_definitions

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
    definition order."""
    definitions = metric_definitions(request)
    tracker = MetricTracker(definitions)
    found: dict[str, Series] = {}
    for timestamp, message in messages:
        before = dict(tracker.last)
        tracker.feed(message, timestamp / 1000)
        for name, point in tracker.last.items():
            if before.get(name) is not point:  # the tracker stores a new (value, time) on every match
                series = found.setdefault(name, Series(name))
                series.values.append(point[0])
                series.times.append(point[1])
    order = [d.get("Name") for d in definitions]
    return sorted(found.values(), key=lambda s: order.index(s.name) if s.name in order else len(order))


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
