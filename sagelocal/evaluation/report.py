"""Scores and labels into the tutorial's table and scikit-learn's metrics.

Binary models print step 6 of the SageMaker XGBoost tutorial ("Build, train, and deploy a machine learning
model", aws.amazon.com/getting-started/hands-on/build-train-deploy-machine-learning-model-sagemaker) with its own
``print`` formats: the predictions are rounded (``np.round``; here ``score > threshold``, the same thing at 0.5),
``pd.crosstab`` counts them against the labels, and the percentages are per *predicted* column (``tn/(tn+fn)``,
``fp/(tp+fp)``…). Multi-class models (``multi:softprob`` rows, or ``multi:softmax`` class numbers) get the same
layout with one column and one row per class. Then precision, recall, F1, AUC and log loss follow (macro
averages, one-vs-rest AUC, for several classes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sagelocal.evaluation.testset import EvaluationError

#: The tutorial's row and column names for class 0 and class 1.
TUTORIAL_CLASS_NAMES = ("No Purchase", "Purchase")
#: The tutorial's headline format: a blank line, the rate, a blank line.
RATE_FORMAT = "\n{0:<20}{1:<4.1f}%\n"


@dataclass
class Evaluation:
    """One model on one test set."""

    labels: Any  # int array of observed classes
    predicted: Any  # int array of predicted classes
    #: 1-D probabilities (binary), 2-D class probabilities (softprob), or None (class numbers only).
    scores: Any
    classes: int
    threshold: float
    class_names: list[str]
    confusion: Any = field(init=False)  # confusion[observed, predicted] counts

    def __post_init__(self) -> None:
        import numpy as np

        self.confusion = np.zeros((self.classes, self.classes), dtype=np.int64)
        np.add.at(self.confusion, (self.labels, self.predicted), 1)

    @property
    def binary(self) -> bool:
        return self.classes == 2 and (self.scores is None or self.scores.ndim == 1)

    @property
    def rate(self) -> float:
        """Overall classification rate in percent."""
        return float(self.confusion.trace()) / float(self.confusion.sum()) * 100


def evaluate(
    labels: Any, scores: Any, threshold: float = 0.5, class_names: list[str] | None = None
) -> Evaluation:
    """Decide binary or multi-class from the scores and labels, and predict classes from the scores.

    2-D scores are class probabilities (``multi:softprob``): the class is the arg max. 1-D scores are
    probabilities of class 1 when every label is 0 or 1 and no score is a class number above 1; otherwise they
    are ``multi:softmax`` class numbers."""
    import numpy as np

    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if scores.shape[0] != labels.shape[0]:
        raise EvaluationError(f"{scores.shape[0]} scores for {labels.shape[0]} labels.")
    if np.any(labels != np.round(labels)) or np.any(labels < 0):
        bad = labels[(labels != np.round(labels)) | (labels < 0)][0]
        raise EvaluationError(
            f"The labels must be class numbers 0, 1, …: found {bad:g} (is the label the first column?)."
        )
    observed = labels.astype(np.int64)
    if scores.ndim == 2:
        classes = scores.shape[1]
        if observed.max() >= classes:
            raise EvaluationError(
                f"The model scores {classes} classes but the test set has label {observed.max()}."
            )
        predicted = scores.argmax(axis=1)
        probabilities: Any = scores
    else:
        whole = bool(np.all(scores == np.round(scores)))
        if observed.max() <= 1 and not (whole and scores.max() > 1):
            classes = 2
            predicted = (scores > threshold).astype(np.int64)
            probabilities = scores
        else:
            if not whole or scores.min() < 0:
                raise EvaluationError(
                    f"The test set has {observed.max() + 1} classes but the model answers one score per "
                    "record that is not a class number (a binary or regression model?)."
                )
            predicted = scores.astype(np.int64)
            classes = int(max(observed.max(), predicted.max())) + 1
            probabilities = None
    names = list(class_names) if class_names else _default_names(classes)
    if len(names) != classes:
        raise EvaluationError(f"{len(names)} class names for {classes} classes.")
    return Evaluation(observed, predicted, probabilities, classes, threshold, names)


def _default_names(classes: int) -> list[str]:
    return list(TUTORIAL_CLASS_NAMES) if classes == 2 else [str(c) for c in range(classes)]


def table(ev: Evaluation) -> str:
    """The tutorial's printout (each ``print`` ends with a newline), or its multi-class form."""
    if ev.binary:
        return _binary_table(ev)
    return _multiclass_table(ev)


def _pct(part: float, whole: float) -> float:
    """``part / whole * 100`` as numpy divides (NaN for an empty column, as the tutorial's numpy ints give)."""
    return part / whole * 100 if whole else math.nan


def _binary_table(ev: Evaluation) -> str:
    cm = ev.confusion
    tn, fp, fn, tp = int(cm[0, 0]), int(cm[0, 1]), int(cm[1, 0]), int(cm[1, 1])
    p = (tp + tn) / (tp + tn + fp + fn) * 100
    no, yes = ev.class_names
    # The tutorial's own format strings, kept verbatim (hence no f-strings).
    lines = [
        RATE_FORMAT.format("Overall Classification Rate: ", p),
        "{0:<15}{1:<15}{2:>8}".format("Predicted", no, yes),  # noqa: UP030
        "Observed",
        "{0:<15}{1:<2.0f}% ({2:<}){3:>6.0f}% ({4:<})".format(  # noqa: UP030, UP032
            no, _pct(tn, tn + fn), tn, _pct(fp, tp + fp), fp
        ),
        "{0:<16}{1:<1.0f}% ({2:<}){3:>7.0f}% ({4:<}) \n".format(  # noqa: UP030, UP032
            yes, _pct(fn, tn + fn), fn, _pct(tp, tp + fp), tp
        ),
    ]
    return "".join(line + "\n" for line in lines)


def _multiclass_table(ev: Evaluation) -> str:
    cm = ev.confusion
    width = max(15, *(len(n) + 1 for n in ev.class_names))
    column_totals = cm.sum(axis=0)
    cells = [
        [f"{_pct(cm[o, p], column_totals[p]):.0f}% ({cm[o, p]})" for p in range(ev.classes)]
        for o in range(ev.classes)
    ]
    width = max(width, *(len(c) + 1 for row in cells for c in row))

    def row(first: str, values: list[str]) -> str:
        return (first.ljust(width) + "".join(v.ljust(width) for v in values)).rstrip()

    lines = [
        RATE_FORMAT.format("Overall Classification Rate: ", ev.rate),
        row("Predicted", ev.class_names),
        "Observed",
        *(row(ev.class_names[o], cells[o]) for o in range(ev.classes)),
        "",
    ]
    return "".join(line + "\n" for line in lines)


@dataclass
class Metric:
    label: str
    value: float | None  # None: not defined for this model or test set
    why: str = ""  # why it is None


def metrics(ev: Evaluation) -> list[Metric]:
    """Precision, recall, F1 (class 1, or macro averages), AUC and log loss, from scikit-learn."""
    import numpy as np
    from sklearn import metrics as m

    macro = not ev.binary
    average = "macro" if macro else "binary"
    suffix = " (macro)" if macro else ""
    labels = list(range(ev.classes))
    common: dict[str, Any] = {"zero_division": 0}
    if macro:
        common["labels"] = labels
    result = [
        Metric(
            f"Precision{suffix}", float(m.precision_score(ev.labels, ev.predicted, average=average, **common))
        ),
        Metric(f"Recall{suffix}", float(m.recall_score(ev.labels, ev.predicted, average=average, **common))),
        Metric(f"F1{suffix}", float(m.f1_score(ev.labels, ev.predicted, average=average, **common))),
    ]
    auc_label = "AUC (macro, one-vs-rest)" if macro else "AUC"
    present = np.unique(ev.labels)
    if ev.scores is None:
        no_scores = "the model gives class numbers, not probabilities"
        result += [Metric(auc_label, None, no_scores), Metric("Log loss", None, no_scores)]
        return result
    if present.size < 2:
        result.append(Metric(auc_label, None, "the test set has one class only"))
    elif macro:
        if present.size < ev.classes:
            result.append(Metric(auc_label, None, "some classes are absent from the test set"))
        else:
            result.append(
                Metric(
                    auc_label, float(m.roc_auc_score(ev.labels, _normalized(ev.scores), multi_class="ovr"))
                )
            )
    else:
        result.append(Metric(auc_label, float(m.roc_auc_score(ev.labels, ev.scores))))
    if np.any(ev.scores < 0) or np.any(ev.scores > 1):
        result.append(Metric("Log loss", None, "the scores are not probabilities"))
    else:
        probabilities = _normalized(ev.scores) if macro else ev.scores
        result.append(Metric("Log loss", float(m.log_loss(ev.labels, probabilities, labels=labels))))
    return result


def _normalized(scores: Any) -> Any:
    """Rows that sum to 1 (scikit-learn checks it to 1e-8; float32 softmax rows miss by ~1e-7)."""
    return scores / scores.sum(axis=1, keepdims=True)


def metrics_text(ev: Evaluation) -> str:
    """One ``Label: value`` line per metric, values aligned, 4 decimals (``n/a (why)`` when undefined)."""
    rows = metrics(ev)
    width = max(len(r.label) for r in rows) + 2
    out = []
    for r in rows:
        value = f"{r.value:.4f}" if r.value is not None else f"n/a ({r.why})"
        out.append(f"{r.label + ':':<{width}}{value}\n")
    return "".join(out)
