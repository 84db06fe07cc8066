"""A training job's metric tracker: the last value of each metric, from the algorithm's log lines."""

from __future__ import annotations

from sagelocal.algorithms.xgboost.metric_definitions import builtin_metric_definitions
from sagelocal.service.training.metrics import MetricTracker


def test_metric_tracker_keeps_last_values() -> None:
    tracker = MetricTracker(builtin_metric_definitions())
    tracker.feed("[0]#011train-logloss:0.60000#011validation-logloss:0.61000", 1.0)
    tracker.feed("[2022-08-27:00:38:45:INFO] Single node training.", 1.5)
    tracker.feed("[1]#011train-logloss:0.50000#011validation-logloss:0.52000", 2.0)
    tracker.feed("[2]#011train-aft-nloglik:1e-05", 3.0)
    final = {m["MetricName"]: (m["Value"], m["Timestamp"]) for m in tracker.final()}
    assert final == {
        "train:logloss": (0.5, 2.0),
        "validation:logloss": (0.52, 2.0),
        "train:aft-nloglik": (1e-05, 3.0),
    }


def test_builtin_metric_fast_path_matches_the_regexes() -> None:
    """The one-scan parser for built-in jobs gives what SageMaker's 66 regexes give."""
    defs = builtin_metric_definitions()
    fast = MetricTracker(defs)
    by_regex = MetricTracker(defs)
    by_regex._builtin = False  # apply every definition's regex, as SageMaker does
    lines = [
        "[3]#011train-logloss:0.5#011validation-logloss:0.6",
        "x [2]#011train-auc:1e-3 junk",
        "#011train-rmse:1 [4]",
        "[7]#011train-error@0.7:0.1#011train-error:0.2",
        "[1]#011validation-f1_binary:0.9#011validation-f1:0.8",
        "[0]#011train-mae:.5#011train-mae:0.25",
        "[2]#011train-mlogloss:nan",
        "[5]#011train-logloss:0.1#011validation-aft-nloglik:-3.2E+2",
    ]
    for i, line in enumerate(lines):
        fast.feed(line, float(i))
        by_regex.feed(line, float(i))
    assert fast.final() == by_regex.final()
    assert {m["MetricName"] for m in fast.final()} == {
        "train:auc",
        "train:error",
        "train:logloss",
        "train:mae",
        "validation:aft-nloglik",
        "validation:f1",
        "validation:f1_binary",
        "validation:logloss",
    }
