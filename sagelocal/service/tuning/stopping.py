"""Stopping children early from their per-round objective values (one value per ``[N]`` line of the log).

- TrainingJobEarlyStoppingType=Auto, the documented median rule (docs.aws.amazon.com/sagemaker/latest/dg/
  automatic-model-tuning-early-stopping.html): after each round take the child's objective value; for every
  earlier child compute the running average of its objective up to that same round; if the value is worse than
  the median of those averages, the child is stopped. sagelocal applies it once at least
  ``MEDIAN_MIN_EARLIER`` earlier children reached that round, so a median means something.
- Hyperband, with num_round as the resource (docs: automatic-model-tuning-how-it-works.html, and botocore's
  HyperbandStrategyConfig): rungs at MinResource, MinResource*3, MinResource*9 … below MaxResource. A child that
  reaches a rung continues only if its value there is among the best third of the values children recorded at
  that rung (asynchronous successive halving; the third is Hyperband's reduction factor 3). A child below
  MinResource is never stopped, and one that reaches MaxResource is stopped.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

MEDIAN_MIN_EARLIER = 3
HYPERBAND_FACTOR = 3


def _worse(value: float, than: float, maximize: bool) -> bool:
    return value < than if maximize else value > than


def median_rule_round(
    values: Sequence[float], earlier: Sequence[Sequence[float]], maximize: bool, first_round: int = 0
) -> int | None:
    """The first round from ``first_round`` at which the median rule stops a child whose per-round values are
    ``values``, given the per-round values of the children launched before it; None if it does not."""
    for r in range(first_round, len(values)):
        averages = [statistics.fmean(h[: r + 1]) for h in earlier if len(h) > r]
        if len(averages) >= MEDIAN_MIN_EARLIER and _worse(values[r], statistics.median(averages), maximize):
            return r
    return None


def hyperband_rungs(min_resource: int, max_resource: int) -> list[int]:
    rungs, r = [], max(1, min_resource)
    while r < max_resource:
        rungs.append(r)
        r *= HYPERBAND_FACTOR
    return rungs


def hyperband_stops(
    values: Sequence[float],
    others: Sequence[Sequence[float]],
    maximize: bool,
    min_resource: int,
    max_resource: int,
) -> bool:
    """Whether Hyperband stops a running child with per-round ``values``, given every other child's values."""
    if len(values) >= max_resource:
        return True
    for rung in hyperband_rungs(min_resource, max_resource):
        if len(values) < rung:
            break
        mine = values[rung - 1]
        at_rung = [h[rung - 1] for h in others if len(h) >= rung] + [mine]
        if len(at_rung) < HYPERBAND_FACTOR:
            continue
        keep = math.ceil(len(at_rung) / HYPERBAND_FACTOR)
        ranked = sorted(at_rung, reverse=maximize)
        if _worse(mine, ranked[keep - 1], maximize):
            return True
    return False
