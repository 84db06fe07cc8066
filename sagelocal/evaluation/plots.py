"""The evaluation as pictures: ``confusion.png``, ``roc.png`` and ``metrics.png``, drawn with matplotlib's
Agg backend (no display needed). matplotlib is the ``plot`` extra; importing this module without it raises
the ImportError that names it.

Each function writes one PNG and returns its path; matplotlib stamps ``Software: matplotlib version…`` in the
file's text chunk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from sagelocal.evaluation.curves import Series
from sagelocal.evaluation.report import Evaluation

DPI = 100


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI, format="png")
    plt.close(figure)
    return path


def confusion_png(ev: Evaluation, path: Path) -> Path:
    """Observed (rows) against predicted (columns): each cell's count and its share of the predicted
    column (the tutorial's percentages), shaded by that share; the overall rate in the title."""
    import numpy as np

    cm = ev.confusion
    totals = cm.sum(axis=0)
    shares = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
    size = max(4.0, 1.2 * ev.classes + 2)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(shares * 100, cmap="Blues", vmin=0, vmax=100)
    figure.colorbar(image, ax=axes, label="% of the predicted column")
    for o in range(ev.classes):
        for p in range(ev.classes):
            color = "white" if shares[o, p] > 0.6 else "black"
            share = f"{shares[o, p] * 100:.0f}%" if totals[p] else "–"
            axes.text(p, o, f"{share}\n({cm[o, p]})", ha="center", va="center", color=color, fontsize=11)
    ticks = range(ev.classes)
    axes.set_xticks(ticks, ev.class_names)
    axes.set_yticks(ticks, ev.class_names)
    axes.set_xlabel("Predicted")
    axes.set_ylabel("Observed")
    axes.set_title(f"Overall classification rate {ev.rate:.1f}%")
    return _save(figure, path)


def roc_png(ev: Evaluation, path: Path) -> Path:
    """The ROC curve with its AUC (one curve per class, one-vs-rest, for class probabilities), the chance
    diagonal, and for a binary model the point the threshold picks."""
    import numpy as np
    from sklearn.metrics import auc, roc_curve

    if ev.scores is None:
        raise ValueError("no scores to draw a ROC curve from")
    figure, axes = plt.subplots(figsize=(6, 6))
    if ev.binary:
        fpr, tpr, _ = roc_curve(ev.labels, ev.scores)
        axes.plot(fpr, tpr, label=f"AUC {auc(fpr, tpr):.4f}")
        predicted = ev.scores > ev.threshold
        negatives = max(int(np.sum(ev.labels == 0)), 1)
        positives = max(int(np.sum(ev.labels == 1)), 1)
        point = (
            np.sum(predicted & (ev.labels == 0)) / negatives,
            np.sum(predicted & (ev.labels == 1)) / positives,
        )
        axes.plot(*point, "o", color="crimson", label=f"threshold {ev.threshold:g}")
    else:
        for c in range(ev.classes):
            truth = ev.labels == c
            if truth.all() or not truth.any():
                continue
            fpr, tpr, _ = roc_curve(truth, ev.scores[:, c])
            axes.plot(fpr, tpr, label=f"{ev.class_names[c]} vs rest: AUC {auc(fpr, tpr):.4f}")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_xlabel("False positive rate")
    axes.set_ylabel("True positive rate")
    axes.set_title("ROC curve")
    axes.legend(loc="lower right")
    return _save(figure, path)


def metrics_figure(series: list[Series], title: str = "") -> Any:
    """One panel per metric (``auc``, ``error``…): its value per boosting round for each data set (train,
    validation), as the job's log reported them. The figure ``metrics.png`` and ``jobs metrics --png`` draw."""
    by_metric: dict[str, list[Series]] = {}
    for s in series:
        by_metric.setdefault(s.metric, []).append(s)
    count = len(by_metric)
    figure, panels = plt.subplots(count, 1, figsize=(8, 3.2 * count), squeeze=False)
    for axes, (metric, group) in zip(panels[:, 0], by_metric.items(), strict=True):
        for s in group:
            axes.plot(s.rounds, s.values, label=s.dataset, marker="." if len(s.values) < 30 else None)
        axes.set_ylabel(metric)
        axes.set_xlabel("round")
        axes.grid(True, alpha=0.3)
        axes.legend()
    if title:
        panels[0, 0].set_title(title)
    return figure


def metrics_png(series: list[Series], path: Path, title: str = "") -> Path:
    """:func:`metrics_figure` written to ``path``."""
    return _save(metrics_figure(series, title), path)
