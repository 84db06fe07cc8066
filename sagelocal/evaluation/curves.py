"""A training job's metrics per round, read back from its log with the job's MetricDefinitions.

SageMaker reads training metrics by applying each MetricDefinition's regex to the job's log lines
(docs.aws.amazon.com/sagemaker/latest/dg/training-metrics.html); for the built-in XGBoost algorithm the
definitions are ``train:<metric>`` / ``validation:<metric>`` and match the ``[N]#011train-auc:0.91…`` line the
algorithm prints once per boosting round. Here every match is kept, in log order, with the round number
``N`` of the line when it has one (else the match's position).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_ROUND = re.compile(r"^\s*\[([0-9]+)\]")


@dataclass
class Series:
    """One metric's values by round."""

    name: str  # the MetricDefinition's Name, e.g. ``validation:auc``
    rounds: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    @property
    def dataset(self) -> str:
        """``train`` of ``train:auc`` (the whole name when it has no ``:``)."""
        return self.name.partition(":")[0] if ":" in self.name else self.name

    @property
    def metric(self) -> str:
        """``auc`` of ``train:auc``."""
        return self.name.partition(":")[2] or self.name


def metric_series(definitions: list[dict[str, Any]], messages: Iterable[str]) -> list[Series]:
    """The series of every definition that matched at least one line, in definition order."""
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for d in definitions:
        try:
            compiled.append((d["Name"], re.compile(d["Regex"])))
        except (KeyError, TypeError, re.error):
            continue
    found = {name: Series(name) for name, _ in compiled}
    for message in messages:
        line = message.replace("\t", "#011")
        numbered = _ROUND.match(line)
        for name, regex in compiled:
            match = regex.search(line)
            if match is None or not match.groups():
                continue
            try:
                value = float(match.group(1))
            except (TypeError, ValueError):
                continue
            series = found[name]
            series.rounds.append(int(numbered.group(1)) if numbered else len(series.values))
            series.values.append(value)
    return [s for s in found.values() if s.values]
