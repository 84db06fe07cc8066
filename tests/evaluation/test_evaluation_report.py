"""``sagelocal.evaluation``: the tutorial's table byte for byte, its multi-class form, the metrics, the test set
reader, the request bodies and the answers of every image version, and the per-round metric series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from sagelocal.evaluation.curves import metric_series
from sagelocal.evaluation.report import evaluate, metrics, metrics_text, table
from sagelocal.evaluation.testset import EvaluationError, bodies, decode_scores, read_test_set

#: The tutorial's stdout as re-run in public notebook T1 (xgboost:latest): reference inference §10.
T1_TABLE = (
    "\n"
    "Overall Classification Rate: 89.5%\n"
    "\n"
    "Predicted      No Purchase    Purchase\n"
    "Observed\n"
    "No Purchase    90% (10769)    37% (167)\n"
    "Purchase        10% (1133)     63% (288) \n"
    "\n"
)


def _binary(tn: int, fp: int, fn: int, tp: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores with exactly these counts (scores 0.2 / 0.8 / 0.4 / 0.6 on each side of 0.5)."""
    labels = np.array([0] * (tn + fp) + [1] * (fn + tp), dtype=float)
    scores = np.array([0.2] * tn + [0.8] * fp + [0.4] * fn + [0.6] * tp)
    return labels, scores


def test_the_tutorials_table_byte_for_byte() -> None:
    labels, scores = _binary(tn=10769, fp=167, fn=1133, tp=288)
    assert table(evaluate(labels, scores)) == T1_TABLE


def test_the_tutorials_prose_counts_render_as_the_reference_says() -> None:
    """T5's counts (reference §10): ``90% (10785)    35% (151)`` / ``10% (1143)     65% (278)``, 89.5%."""
    labels, scores = _binary(tn=10785, fp=151, fn=1143, tp=278)
    lines = table(evaluate(labels, scores)).splitlines()
    assert lines[1] == "Overall Classification Rate: 89.5%"
    assert lines[5:7] == [
        "No Purchase    90% (10785)    35% (151)",
        "Purchase        10% (1143)     65% (278) ",
    ]


def test_a_score_of_exactly_the_threshold_is_class_0_as_np_round_makes_it() -> None:
    ev = evaluate(np.array([0, 1, 1]), np.array([0.5, 0.5, 0.51]))
    assert ev.predicted.tolist() == [0, 0, 1]
    assert np.array_equal(ev.predicted, np.round([0.5, 0.5, 0.51]).astype(int))
    assert evaluate(np.array([0, 1]), np.array([0.3, 0.35]), threshold=0.32).predicted.tolist() == [0, 1]


def test_an_empty_predicted_column_prints_nan_as_numpy_would() -> None:
    lines = table(evaluate(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.3]))).splitlines()
    assert lines[1] == "Overall Classification Rate: 66.7%"
    assert lines[5:7] == ["No Purchase    67% (2)   nan% (0)", "Purchase        33% (1)    nan% (0) "]


def test_binary_metrics_are_scikit_learns() -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 200).astype(float)
    scores = np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1)
    ev = evaluate(labels, scores)
    predicted = (scores > 0.5).astype(int)
    got = {m.label: m.value for m in metrics(ev)}
    assert got == {
        "Precision": pytest.approx(skm.precision_score(labels, predicted)),
        "Recall": pytest.approx(skm.recall_score(labels, predicted)),
        "F1": pytest.approx(skm.f1_score(labels, predicted)),
        "AUC": pytest.approx(skm.roc_auc_score(labels, scores)),
        "Log loss": pytest.approx(skm.log_loss(labels, scores)),
    }
    text = metrics_text(ev)
    assert text.splitlines()[0] == f"Precision: {skm.precision_score(labels, predicted):.4f}"
    assert [line[:11] for line in text.splitlines()] == [
        "Precision: ",
        "Recall:    ",
        "F1:        ",
        "AUC:       ",
        "Log loss:  ",
    ]


def test_metrics_text_exactly() -> None:
    """By hand: precision = recall = F1 = 3/4; AUC = 12 of 16 positive-negative pairs ranked right; log loss =
    (3 ln 1/0.8 + ln 1/0.2 + ln 1/0.4 + 3 ln 1/0.6) / 8 = 0.5910."""
    labels, scores = _binary(tn=3, fp=1, fn=1, tp=3)
    assert metrics_text(evaluate(labels, scores)) == (
        "Precision: 0.7500\nRecall:    0.7500\nF1:        0.7500\nAUC:       0.7500\nLog loss:  0.5910\n"
    )


def test_multiclass_softprob_table_and_macro_metrics() -> None:
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    predicted = [0, 1, 1, 1, 2, 2, 2, 2, 0]
    scores = np.full((9, 3), 0.1)
    scores[np.arange(9), predicted] = 0.8
    ev = evaluate(labels, scores)
    assert table(ev) == (
        "\n"
        "Overall Classification Rate: 66.7%\n"
        "\n"
        "Predicted      0              1              2\n"
        "Observed\n"
        "0              50% (1)        33% (1)        0% (0)\n"
        "1              0% (0)         67% (2)        25% (1)\n"
        "2              50% (1)        0% (0)         75% (3)\n"
        "\n"
    )
    got = {m.label: m.value for m in metrics(ev)}
    assert got["Precision (macro)"] == pytest.approx(skm.precision_score(labels, predicted, average="macro"))
    assert got["Recall (macro)"] == pytest.approx(skm.recall_score(labels, predicted, average="macro"))
    assert got["F1 (macro)"] == pytest.approx(skm.f1_score(labels, predicted, average="macro"))
    assert got["AUC (macro, one-vs-rest)"] == pytest.approx(
        skm.roc_auc_score(labels, scores / 1.0, multi_class="ovr")
    )
    assert got["Log loss"] == pytest.approx(skm.log_loss(labels, scores))
    assert metrics_text(ev).splitlines()[0].startswith("Precision (macro):        0.6389")


def test_multiclass_softmax_class_numbers_have_no_auc_or_log_loss() -> None:
    ev = evaluate(np.array([0, 1, 2, 2]), np.array([0.0, 1.0, 2.0, 1.0]), class_names=["a", "b", "c"])
    assert table(ev).splitlines()[3:5] == ["Predicted      a              b              c", "Observed"]
    assert metrics_text(ev).splitlines()[-2:] == [
        "AUC (macro, one-vs-rest): n/a (the model gives class numbers, not probabilities)",
        "Log loss:                 n/a (the model gives class numbers, not probabilities)",
    ]


def test_labels_that_are_not_class_numbers_are_refused() -> None:
    with pytest.raises(
        EvaluationError, match=r"^The labels must be class numbers 0, 1, …: found 0.25 \(is the label"
    ):
        evaluate(np.array([0.25, 1.0]), np.array([0.1, 0.9]))


# --- the test set and the request bodies ---------------------------------------------------------------------


def test_read_test_set(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    path.write_text("1,0.5,3\n0,0.25,4\r\n\n")
    test_set = read_test_set(path)
    assert test_set.labels.tolist() == [1.0, 0.0]
    assert (test_set.rows, test_set.columns) == (["0.5,3", "0.25,4"], 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "1,2,3\n0,1\n",
            "{path}, line 2: 2 columns where line 1 has 3; every row needs the label and the same features.",
        ),
        (
            "1\n0\n",
            "{path}, line 1: 1 column; a test set needs the label first and then the features, "
            "comma-separated, no header.",
        ),
        (
            "y,age\n1,2\n",
            "{path}, line 1: the label 'y' is not a number; the test set is the label first, then the "
            "features, with no header row.",
        ),
        ("\n\n", "Test set {path} has no rows."),
    ],
)
def test_bad_test_sets(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "test.csv"
    path.write_text(text)
    with pytest.raises(EvaluationError) as caught:
        read_test_set(path)
    assert str(caught.value) == message.format(path=path)


def test_a_missing_test_set(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError) as caught:
        read_test_set(tmp_path / "nope.csv")
    assert str(caught.value) == f"Test set {tmp_path / 'nope.csv'} does not exist."


def test_bodies_stay_under_the_limit_and_keep_every_row_in_order() -> None:
    rows = [f"{i},{i * 2}" for i in range(1000)]
    chunks = list(bodies(rows, limit=100))
    assert all(len(body) <= 100 for body, _ in chunks)
    assert b"\n".join(body for body, _ in chunks).decode().split("\n") == rows
    assert sum(n for _, n in chunks) == 1000
    assert list(bodies(["1,2", "3,4"])) == [(b"1,2\n3,4", 2)]
    with pytest.raises(EvaluationError) as caught:
        list(bodies(["1,2", "12345"], limit=4))
    assert str(caught.value) == "Row 2 of the test set is 5 bytes, over InvokeEndpoint's 4-byte limit."


@pytest.mark.parametrize(
    ("body", "rows", "expected"),
    [
        (
            b"0.8793270587921143\n0.09925389289855957\n",
            2,
            [0.8793270587921143, 0.09925389289855957],
        ),  # 1.2-2+
        (
            b"0.8793270587921143,0.09925389289855957",
            2,
            [0.8793270587921143, 0.09925389289855957],
        ),  # 0.72 … 1.2-1
        (b"0.9966071844100952", 1, [0.9966071844100952]),
        (b"0.1,0.2,0.7\n0.6,0.3,0.1\n", 2, [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]),  # softprob, 1.2-2+
        (b"[0.1, 0.2, 0.7],[0.6, 0.3, 0.1]", 2, [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]),  # softprob, 1.0-1
        (b"0.1,0.2,0.7\n", 1, [[0.1, 0.2, 0.7]]),
        (b"2.0\n0.0\n", 2, [2.0, 0.0]),  # softmax
    ],
)
def test_decode_scores_of_every_image(body: bytes, rows: int, expected: list) -> None:
    assert decode_scores(body, rows).tolist() == expected


def test_decode_scores_refuses_a_wrong_count() -> None:
    for body, rows, message in [
        (b"0.5\n0.4\n0.3\n", 2, "The model answered 3 scores for 2 records."),
        (b"0.5", 2, "The model's answer is not one score per record: 0.5"),
    ]:
        with pytest.raises(EvaluationError) as caught:
            decode_scores(body, rows)
        assert str(caught.value) == message
    with pytest.raises(
        EvaluationError, match=r"^The model's answer is not one score per record: \{\"predictions\""
    ):
        decode_scores(b'{"predictions": [{"score": 0.5}]}', 1)


# --- metrics per round ---------------------------------------------------------------------------------------


def test_metric_series_from_the_builtin_definitions() -> None:
    from sagelocal.algorithms.xgboost.metric_definitions import builtin_metric_definitions

    messages = [
        "[2024-01-01:00:00:00:INFO] Train matrix has 60 rows",
        "[0]#011train-auc:0.81#011validation-auc:0.75",
        "[1]#011train-auc:0.85#011validation-auc:0.77",
        "[2]\ttrain-auc:0.9\tvalidation-auc:0.7",
    ]
    series = metric_series(builtin_metric_definitions(), messages)
    assert [(s.name, s.dataset, s.metric, s.rounds, s.values) for s in series] == [
        ("train:auc", "train", "auc", [0, 1, 2], [0.81, 0.85, 0.9]),
        ("validation:auc", "validation", "auc", [0, 1, 2], [0.75, 0.77, 0.7]),
    ]


def test_metric_series_with_a_custom_definition_without_round_numbers() -> None:
    series = metric_series(
        [{"Name": "loss", "Regex": "loss=([0-9.]+)"}, {"Name": "bad", "Regex": "("}],
        ["loss=0.5", "x", "loss=0.25"],
    )
    assert [(s.name, s.rounds, s.values) for s in series] == [("loss", [0, 1], [0.5, 0.25])]
