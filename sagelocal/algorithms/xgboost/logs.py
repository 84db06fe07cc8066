"""What the container prints: logger lines, XGBoost's own lines and the per-round metric line (reference §8).

Every line is written and flushed on its own, because a supervisor reads stdout live.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

from sagelocal.algorithms.xgboost.versions import ImageVersion


class Log:
    """``[%(asctime)s:%(levelname)s] %(message)s`` with datefmt ``%Y-%m-%d:%H:%M:%S`` (``integration.py``),
    in UTC as inside a SageMaker container."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def line(self, text: str) -> None:
        """A bare line (``print``): metric lines, ``Arguments: train``…"""
        self.stream.write(text + "\n")
        self.stream.flush()

    def _log(self, level: str, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d:%H:%M:%S", time.gmtime())
        self.line(f"[{stamp}:{level}] {message}")

    def info(self, message: str) -> None:
        self._log("INFO", message)

    def warning(self, message: str) -> None:
        self._log("WARNING", message)

    def error(self, message: str) -> None:
        self._log("ERROR", message)

    def native(self, message: str) -> None:
        """A line from XGBoost's C++ logger: ``[HH:MM:SS] message``."""
        self.line(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {message}")


def format_value(version: ImageVersion, value: float) -> str:
    if version.metric_format == "%g":
        return f"{value:g}"
    return f"{value:.5f}"


def metric_line(
    version: ImageVersion,
    iteration: int,
    evals_log: Mapping[str, Mapping[str, Sequence[float]]],
    custom_metrics: Sequence[str] = (),
) -> str:
    """``[<iter>]`` then ``\\t<set>-<metric>:<value>`` for every set and metric.

    1.3-1+ (``EvaluationMonitor``) goes set by set. Before, the line was XGBoost's ``eval_set`` string: the
    built-in metrics of every set first, then the container's ``feval`` metrics set by set."""
    parts = [f"[{iteration}]"]
    if version.callback_early_stopping:
        for data, metrics in evals_log.items():
            for name, values in metrics.items():
                parts.append(f"{data}-{name}:{format_value(version, _last(values))}")
    else:
        for data, metrics in evals_log.items():
            for name, values in metrics.items():
                if name not in custom_metrics:
                    parts.append(f"{data}-{name}:{format_value(version, _last(values))}")
        for data, metrics in evals_log.items():
            for name, values in metrics.items():
                if name in custom_metrics:
                    parts.append(f"{data}-{name}:{format_value(version, _last(values))}")
    return "\t".join(parts)


def _last(values: Sequence[float]) -> float:
    value = values[-1]
    if isinstance(value, tuple):
        return float(value[0])
    return float(value)
