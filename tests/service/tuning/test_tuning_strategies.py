"""Strategies, scaling types and the early-stopping rules, without running jobs."""

from __future__ import annotations

import math
import random
import statistics

from sagelocal.service.tuning.ranges import Range, parse_ranges
from sagelocal.service.tuning.stopping import hyperband_rungs, hyperband_stops, median_rule_round
from sagelocal.service.tuning.strategies import BayesianSearch, GridSearch, RandomSearch, make_strategy

RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "1", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"},
        {"Name": "gamma", "MinValue": "0", "MaxValue": "5", "ScalingType": "Linear"},
    ],
    "IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"}
    ],
    "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
}


def test_random_is_reproducible_with_a_seed_and_written_as_the_service_writes_values() -> None:
    ranges = parse_ranges(RANGES)
    first = [RandomSearch(ranges, 42).suggest(i) for i in range(1, 4)]
    again = [RandomSearch(ranges, 42).suggest(i) for i in range(1, 4)]
    other = [RandomSearch(ranges, 43).suggest(i) for i in range(1, 4)]
    assert first == again and first != other
    draw = first[0]
    assert draw is not None
    assert list(draw) == ["max_depth", "eta", "subsample", "gamma", "booster"]
    assert draw["max_depth"] == str(int(draw["max_depth"]))  # integers as "3"
    assert draw["eta"] == repr(float(draw["eta"]))  # continuous as Python's full float repr
    assert draw["booster"] in ("gbtree", "dart")


def test_scaling_types_shape_the_draws() -> None:
    rng = random.Random(0)
    log = Range("eta", "Continuous", 0.01, 1.0, "Logarithmic")
    linear = Range("eta", "Continuous", 0.01, 1.0, "Linear")
    reverse = Range("subsample", "Continuous", 0.0, 0.999, "ReverseLogarithmic")
    log_draws = [float(log.draw(rng)) for _ in range(4000)]
    linear_draws = [float(linear.draw(rng)) for _ in range(4000)]
    reverse_draws = [float(reverse.draw(rng)) for _ in range(4000)]
    assert all(0.01 <= v <= 1.0 for v in log_draws + linear_draws)
    # Uniform in log space: the median is near the geometric mean (0.1); linear's near the middle (0.505).
    assert 0.08 < statistics.median(log_draws) < 0.125
    assert 0.45 < statistics.median(linear_draws) < 0.56
    # Uniform in log(1 - x): half the draws lie above 1 - sqrt(0.001) ~ 0.968.
    assert 0.95 < statistics.median(reverse_draws) < 0.98
    assert all(0.0 <= v < 1.0 for v in reverse_draws)


def test_grid_gives_every_combination_once_then_nothing() -> None:
    ranges = parse_ranges(
        {
            "CategoricalParameterRanges": [
                {"Name": "booster", "Values": ["gbtree", "dart"]},
                {"Name": "max_depth", "Values": ["3", "5", "7"]},
            ]
        }
    )
    grid = GridSearch(ranges)
    combos = [grid.suggest(i) for i in range(1, 7)]
    assert combos == [
        {"booster": "gbtree", "max_depth": "3"},
        {"booster": "gbtree", "max_depth": "5"},
        {"booster": "gbtree", "max_depth": "7"},
        {"booster": "dart", "max_depth": "3"},
        {"booster": "dart", "max_depth": "5"},
        {"booster": "dart", "max_depth": "7"},
    ]
    assert grid.suggest(7) is None


def _objective(tuned: dict[str, str]) -> float:
    """A smooth problem with its optimum at eta=0.1, max_depth=6, booster=dart."""
    eta, depth = float(tuned["eta"]), int(tuned["max_depth"])
    return (
        -((math.log10(eta) + 1) ** 2) - 0.05 * (depth - 6) ** 2 + (0.2 if tuned["booster"] == "dart" else 0)
    )


def _run(strategy: object, jobs: int) -> list[float]:
    values = []
    for seq in range(1, jobs + 1):
        tuned = strategy.suggest(seq)  # type: ignore[attr-defined]
        value = _objective(tuned)
        strategy.observe(seq, tuned, value)  # type: ignore[attr-defined]
        values.append(value)
    return values


def test_bayesian_uses_optuna_reproducibly_and_beats_random_on_a_smooth_problem() -> None:
    ranges = [r for r in parse_ranges(RANGES) if r.name in ("eta", "max_depth", "booster")]
    first = _run(BayesianSearch(ranges, 1, maximize=True, parallel=1), 30)
    again = _run(BayesianSearch(ranges, 1, maximize=True, parallel=1), 30)
    assert first == again
    bayes = statistics.fmean(max(_run(make_strategy("Bayesian", ranges, s, True, 1), 30)) for s in range(3))
    rand = statistics.fmean(max(_run(make_strategy("Random", ranges, s, True, 1), 30)) for s in range(3))
    assert bayes >= rand


def test_bayesian_learns_from_warm_start_parents() -> None:
    ranges = [r for r in parse_ranges(RANGES) if r.name in ("eta", "max_depth", "booster")]
    search = BayesianSearch(ranges, 3, maximize=True, parallel=1)
    search.observe(-1, {"eta": "0.1", "max_depth": "6", "booster": "dart"}, 0.2)
    search.observe(-2, {"eta": "5.0", "max_depth": "6", "booster": "dart"}, 0.0)  # out of range: ignored
    assert len(search.study.trials) == 1


def test_median_rule_stops_a_child_worse_than_the_median_of_earlier_running_averages() -> None:
    earlier = [[0.8, 0.9, 0.95], [0.7, 0.8, 0.9], [0.75, 0.85, 0.9]]
    # Round 0: averages 0.8, 0.7, 0.75 -> median 0.75; 0.5 is worse when maximizing.
    assert median_rule_round([0.5, 0.5], earlier, maximize=True) == 0
    assert median_rule_round([0.76, 0.81, 0.9], earlier, maximize=True) is None
    # Round 1: averages 0.85, 0.75, 0.8 -> median 0.8; 0.79 is worse.
    assert median_rule_round([0.76, 0.79], earlier, maximize=True) == 1
    # Minimizing, lower is better.
    assert median_rule_round([0.5], earlier, maximize=False) is None
    # Fewer than three earlier children reached the round: no decision.
    assert median_rule_round([0.1], earlier[:2], maximize=True) is None


def test_hyperband_keeps_the_best_third_at_each_rung_and_stops_at_max_resource() -> None:
    assert hyperband_rungs(1, 30) == [1, 3, 9, 27]
    others = [[0.9], [0.8], [0.7], [0.6], [0.5]]
    assert not hyperband_stops([0.95], others, True, 1, 30)
    assert not hyperband_stops([0.85], others, True, 1, 30)  # 2nd of 6: in the best third (2)
    assert hyperband_stops([0.75], others, True, 1, 30)
    assert not hyperband_stops([0.1], others[:1], True, 1, 30)  # too few at the rung to judge
    assert not hyperband_stops([0.1], others, True, 2, 30)  # below MinResource: never stopped
    assert hyperband_stops([0.9] * 30, others, True, 1, 30)  # reached MaxResource
