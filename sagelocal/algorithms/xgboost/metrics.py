"""Metrics the container computes itself and hands to XGBoost as a custom metric
(``metrics/custom_metrics.py`` of github.com/aws/sagemaker-xgboost-container).

Which names exist (``tables.CONTAINER_METRICS``), and what the functions receive, depend on the image:

* 0.90-x, 1.0-1: ``accuracy``, ``f1``, ``mse``; ``feval`` gets transformed predictions, class = ``round(p)``
  (``argmax`` for 2-D output from 1.0-1).
* 1.2-x … 1.7-1: ``feval`` gets raw margins, class = ``margin > 0`` (``argmax`` for 2-D). 1.2-1 adds ``r2``,
  1.2-2 ``f1_binary``/``f1_macro``, 1.3-1 the full list.
* 3.0-5: the same functions passed as ``custom_metric``, which XGBoost 3 calls with *transformed* predictions,
  so ``p > 0`` makes every binary prediction class 1. sagelocal reproduces that: it is what the image
  reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sagelocal.algorithms.xgboost.tables import container_metric_names
from sagelocal.algorithms.xgboost.versions import ImageVersion


def receives_margin(version: ImageVersion) -> bool:
    """Whether the image's metric function gets raw margins (``feval`` on XGBoost 1.2–1.7)."""
    return version.within("1.2-1", "3.0-5")


def _class_labels(version: ImageVersion, preds: Any) -> Any:
    # numpy and scikit-learn are imported when a job computes a metric, not when the package is imported.
    import numpy as np

    preds = np.asarray(preds)
    if version.at_least("1.2-1"):
        if preds.ndim > 1:
            return np.argmax(preds, axis=-1)
        return (preds > 0.0).astype(int)
    if preds.ndim > 1 and version.at_least("1.0-1"):
        return np.argmax(preds, axis=-1)
    return np.array([round(float(v)) for v in preds])


def _classification(
    version: ImageVersion, scorer: Callable[[Any, Any], float]
) -> Callable[[Any, Any], float]:
    def compute(preds: Any, labels: Any) -> float:
        if preds.size == 0:
            return 0.0
        return float(scorer(labels, _class_labels(version, preds)))

    return compute


def _scorers(version: ImageVersion) -> dict[str, Callable[[Any, Any], float]]:
    import numpy as np
    from sklearn import metrics as m

    def mse(preds: Any, labels: Any) -> float:
        return float(m.mean_squared_error(labels, preds))

    return {
        "accuracy": _classification(version, m.accuracy_score),
        "balanced_accuracy": _classification(version, m.balanced_accuracy_score),
        "f1": _classification(version, lambda y, p: m.f1_score(y, p, average="macro")),
        "f1_binary": _classification(version, lambda y, p: m.f1_score(y, p, average="binary")),
        "f1_macro": _classification(version, lambda y, p: m.f1_score(y, p, average="macro")),
        "precision": _classification(version, m.precision_score),
        "precision_macro": _classification(version, lambda y, p: m.precision_score(y, p, average="macro")),
        "precision_micro": _classification(version, lambda y, p: m.precision_score(y, p, average="micro")),
        "recall": _classification(version, m.recall_score),
        "recall_macro": _classification(version, lambda y, p: m.recall_score(y, p, average="macro")),
        "recall_micro": _classification(version, lambda y, p: m.recall_score(y, p, average="micro")),
        "mse": mse,
        "rmse": lambda preds, labels: float(np.sqrt(m.mean_squared_error(labels, preds))),
        "mae": lambda preds, labels: float(m.mean_absolute_error(labels, preds)),
        "r2": lambda preds, labels: float(m.r2_score(labels, preds)),
    }


def split_metrics(version: ImageVersion, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(builtin, container)``: what goes to XGBoost's ``eval_metric`` and what the container computes.
    Order is kept and duplicates dropped."""
    own = container_metric_names(version)
    builtin: list[str] = []
    custom: list[str] = []
    for name in names:
        target = custom if name in own else builtin
        if name not in target:
            target.append(name)
    return builtin, custom


def make_custom_metric(
    version: ImageVersion, names: Sequence[str]
) -> Callable[[Any, Any], list[tuple[str, float]]] | None:
    """The function passed to XGBoost for ``names`` (all container metrics), or None."""
    if not names:
        return None
    scorers = _scorers(version)
    chosen = [(name, scorers[name]) for name in names]

    def evaluate(preds: Any, dmatrix: Any) -> list[tuple[str, float]]:
        import numpy as np

        preds = np.asarray(preds)
        labels = dmatrix.get_label()
        return [(name, scorer(preds, labels)) for name, scorer in chosen]

    return evaluate
