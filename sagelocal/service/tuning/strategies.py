"""How a tuning job picks each child's hyperparameters: Random, Grid, Bayesian (optuna) and Hyperband.

A strategy hands out the next configuration (``suggest``), and hears each finished child's objective
(``observe``; None when the child produced none). Semantics follow the developer guide
(docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-how-it-works.html):

- Random: independent draws; the same RandomSeed gives the same configurations.
- Grid: categorical ranges only; every combination of their values once, in a fixed order.
- Bayesian: a model of hyperparameters -> objective proposes where to look next. sagelocal uses optuna's
  tree-structured Parzen estimator (a well-kept library, not a hand-written Gaussian process), with the first
  configurations drawn at random and pending children imputed ("constant liar") when several run at once.
- Hyperband: configurations are random draws; its early stopping of children (num_round is the resource) is the
  tuner's business (``stopping.py``).
"""

from __future__ import annotations

import itertools
import random
import warnings
from typing import Any, Protocol

from sagelocal.service.tuning.ranges import CATEGORICAL, INTEGER, Range

#: Configurations Bayesian draws at random before its model takes over (at least the parallel jobs).
BAYESIAN_STARTUP = 5
OPTUNA_MISSING = (
    "The Bayesian strategy needs optuna: pip install 'sagelocal[tuning]' (or choose the Random, Grid or "
    "Hyperband strategy)."
)


class Strategy(Protocol):
    def suggest(self, seq: int) -> dict[str, str] | None:
        """Child ``seq``'s tuned hyperparameters, or None when the strategy has nothing left to try."""
        ...

    def observe(self, seq: int, tuned: dict[str, str], value: float | None) -> None:
        """Child ``seq`` ended with objective ``value`` (None: it produced none)."""
        ...


class RandomSearch:
    def __init__(self, ranges: list[Range], seed: int | None) -> None:
        self.ranges = ranges
        self.rng = random.Random(seed)

    def suggest(self, seq: int) -> dict[str, str] | None:
        return {r.name: r.draw(self.rng) for r in self.ranges}

    def observe(self, seq: int, tuned: dict[str, str], value: float | None) -> None:
        pass


class GridSearch:
    def __init__(self, ranges: list[Range]) -> None:
        self.ranges = ranges
        self._combinations = itertools.product(*(r.values for r in ranges))

    def suggest(self, seq: int) -> dict[str, str] | None:
        combination = next(self._combinations, None)
        if combination is None:
            return None
        return dict(zip((r.name for r in self.ranges), combination, strict=True))

    def observe(self, seq: int, tuned: dict[str, str], value: float | None) -> None:
        pass


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise RuntimeError(OPTUNA_MISSING) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class BayesianSearch:
    """optuna's ask-and-tell interface over the ranges. ReverseLogarithmic ranges are searched in ``1 - x`` on
    a log scale, so the model sees the space the scaling type describes."""

    def __init__(self, ranges: list[Range], seed: int | None, maximize: bool, parallel: int) -> None:
        optuna = _optuna()
        self.optuna = optuna
        self.ranges = ranges
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant_liar is marked experimental in some optuna releases
            sampler = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=max(BAYESIAN_STARTUP, parallel), constant_liar=True
            )
        self.study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=sampler)
        self.distributions = {r.name: self._distribution(r) for r in ranges}
        self._trials: dict[int, Any] = {}

    def _distribution(self, r: Range) -> Any:
        d = self.optuna.distributions
        if r.kind == CATEGORICAL:
            return d.CategoricalDistribution(list(r.values))
        if r.kind == INTEGER:
            return d.IntDistribution(int(r.low), int(r.high), log=r.log)
        if r.reverse_log:
            return d.FloatDistribution(1.0 - r.high, 1.0 - r.low, log=True)
        return d.FloatDistribution(r.low, r.high, log=r.log)

    def _to_model(self, r: Range, text: str) -> Any:
        if r.kind == CATEGORICAL:
            return text
        if r.kind == INTEGER:
            return int(float(text))
        return 1.0 - float(text) if r.reverse_log else float(text)

    def suggest(self, seq: int) -> dict[str, str] | None:
        trial = self.study.ask(self.distributions)
        self._trials[seq] = trial
        tuned = {}
        for r in self.ranges:
            value = trial.params[r.name]
            tuned[r.name] = r.format(1.0 - value if r.reverse_log else value)
        return tuned

    def observe(self, seq: int, tuned: dict[str, str], value: float | None) -> None:
        trial = self._trials.pop(seq, None)
        if trial is not None:
            state = (
                self.optuna.trial.TrialState.COMPLETE
                if value is not None
                else self.optuna.trial.TrialState.FAIL
            )
            self.study.tell(trial, value if value is not None else None, state=state)
            return
        # A warm-start parent's child: a finished trial the model learns from.
        if value is None or not all(r.name in tuned and r.contains(tuned[r.name]) for r in self.ranges):
            return
        params = {r.name: self._to_model(r, tuned[r.name]) for r in self.ranges}
        self.study.add_trial(
            self.optuna.trial.create_trial(params=params, distributions=self.distributions, value=value)
        )


def make_strategy(
    name: str, ranges: list[Range], seed: int | None, maximize: bool, parallel: int
) -> Strategy:
    if name == "Grid":
        return GridSearch(ranges)
    if name == "Bayesian":
        return BayesianSearch(ranges, seed, maximize, parallel)
    return RandomSearch(ranges, seed)  # Random, and Hyperband's configurations
