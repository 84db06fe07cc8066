"""A tuning job's ParameterRanges as typed ranges, and how a value is drawn from one and written down.

Scaling types, as the developer guide documents them (docs.aws.amazon.com/sagemaker/latest/dg/
automatic-model-tuning-define-ranges.html): ``Linear`` draws uniformly, ``Logarithmic`` uniformly in log space
(all values > 0), ``ReverseLogarithmic`` uniformly in the log of ``1 - x`` so values crowd towards 1 (continuous
ranges only, 0 <= x < 1), and ``Auto`` lets the service choose: it starts by assuming linear, and sagelocal keeps
to linear. Values are written as the service writes tuned values: integers ``"3"``, continuous values as
Python's full float repr (``"0.0037170512924477993"``), categorical values verbatim.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

INTEGER, CONTINUOUS, CATEGORICAL = "Integer", "Continuous", "Categorical"
RANGE_KEYS = {
    INTEGER: "IntegerParameterRanges",
    CONTINUOUS: "ContinuousParameterRanges",
    CATEGORICAL: "CategoricalParameterRanges",
}


@dataclass(frozen=True)
class Range:
    name: str
    kind: str  # INTEGER, CONTINUOUS or CATEGORICAL
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    @property
    def log(self) -> bool:
        return self.scaling == "Logarithmic"

    @property
    def reverse_log(self) -> bool:
        return self.scaling == "ReverseLogarithmic"

    def count(self) -> float:
        """How many distinct values the range holds (infinite for a continuous range)."""
        if self.kind == CATEGORICAL:
            return len(self.values)
        if self.kind == INTEGER:
            return int(self.high) - int(self.low) + 1
        return math.inf

    def draw(self, rng: random.Random) -> str:
        """One value, uniformly under the range's scaling."""
        if self.kind == CATEGORICAL:
            return rng.choice(self.values)
        if self.reverse_log:
            value = 1.0 - math.exp(rng.uniform(math.log(1.0 - self.high), math.log(1.0 - self.low)))
        elif self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return self.format(value)

    def format(self, value: Any) -> str:
        if self.kind == CATEGORICAL:
            return str(value)
        if self.kind == INTEGER:
            return str(min(int(self.high), max(int(self.low), round(float(value)))))
        return repr(min(self.high, max(self.low, float(value))))

    def contains(self, text: str) -> bool:
        """Whether a tuned value (e.g. a warm-start parent's) lies in this range."""
        if self.kind == CATEGORICAL:
            return text in self.values
        try:
            value = float(text)
        except ValueError:
            return False
        return self.low <= value <= self.high


def parse_ranges(parameter_ranges: dict[str, Any] | None) -> list[Range]:
    """The request's ranges (already validated as numbers where numeric), in request order by kind."""
    found: list[Range] = []
    given = parameter_ranges or {}
    for item in given.get(RANGE_KEYS[INTEGER]) or []:
        found.append(
            Range(
                item["Name"],
                INTEGER,
                float(item["MinValue"]),
                float(item["MaxValue"]),
                item.get("ScalingType") or "Auto",
            )
        )
    for item in given.get(RANGE_KEYS[CONTINUOUS]) or []:
        found.append(
            Range(
                item["Name"],
                CONTINUOUS,
                float(item["MinValue"]),
                float(item["MaxValue"]),
                item.get("ScalingType") or "Auto",
            )
        )
    for item in given.get(RANGE_KEYS[CATEGORICAL]) or []:
        found.append(Range(item["Name"], CATEGORICAL, values=tuple(item["Values"])))
    return found
