"""Training of the XGBoost algorithm per image version: log lines, metrics, early stopping, checkpoints,
intermediate models, serialization and error mapping (reference §6, §8–§10, §12)."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.failures import assert_image_failure, assert_image_failure_startswith

from sagelocal.algorithms.xgboost import main

METRIC_LINE = re.compile(r"^\[\d+\]\t")


def rows(n: int = 60, flip: bool = False) -> str:
    lines = []
    for i in range(n):
        label = i % 2 if not flip else 1 - i % 2
        lines.append(f"{label},{(i * 7) % 11 + i % 2},{i % 5},{i / 10:.1f}")
    return "\n".join(lines) + "\n"


def run(root: Path, version: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str | None]:
    code = main(["train", "--ml-root", str(root), "--image-version", version])
    out = capsys.readouterr().out
    failure = root / "output" / "failure"
    return code, out, failure.read_text() if failure.exists() else None


def metric_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if METRIC_LINE.match(line)]


def train_data() -> tuple[object, object]:
    import numpy as np

    table = np.loadtxt(rows().splitlines(), delimiter=",", dtype=np.float32)
    return table[:, 1:], table[:, 0]


# --- log lines --------------------------------------------------------------------------------------------


def test_30_startup_lines_in_order(ml_root, capsys):
    root = ml_root(
        {"num_round": "2", "objective": "binary:logistic"}, {"train": "csv"}, {"train/t.csv": rows()}
    )
    code, out, _ = run(root, "3.0-5", capsys)
    assert code == 0
    messages = [re.sub(r"^\[[0-9:-]+:(INFO|WARNING)\] ", "", line) for line in out.splitlines()]
    expected = [
        "Imported framework sagemaker_xgboost_container.training",
        "Failed to parse hyperparameter objective value binary:logistic to Json.",
        "Returning the value itself",
        "No GPUs detected (normal if no gpus installed)",
        "Running XGBoost Sagemaker in algorithm mode",
        "Determined 0 GPU(s) available on the instance.",
        "Determined delimiter of CSV input is ','",
        "File path /opt/ml/input/data/train of input files",
        "Making smlinks from folder /opt/ml/input/data/train to folder /tmp/sagemaker_xgboost_input_data",
    ]
    assert messages[: len(expected)] == expected
    assert messages.index("Single node training.") < messages.index("Train matrix has 60 rows and 3 columns")
    assert re.match(r"^\[\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d:INFO\] Running XGBoost", out.splitlines()[4])
    assert [line.split("\t")[0] for line in metric_lines(out)] == ["[0]", "[1]"]


def test_090_prints_g_format_and_error_by_default(ml_root, capsys):
    root = ml_root(
        {"num_round": "3", "objective": "binary:logistic"}, {"train": "csv"}, {"train/t.csv": rows()}
    )
    code, out, _ = run(root, "0.90-2", capsys)
    assert code == 0
    lines = metric_lines(out)
    assert len(lines) == 3
    assert re.fullmatch(r"\[0\]\ttrain-error:[0-9.e-]+", lines[0])
    value = lines[0].split(":")[1]
    assert value == f"{float(value):g}"
    assert "Train matrix has 60 rows\n" in out


def test_13_plus_prints_five_decimals_and_logloss_by_default(ml_root, capsys):
    channels = {"train": "csv", "validation": "csv"}
    files = {"train/t.csv": rows(), "validation/v.csv": rows(30)}
    root = ml_root({"num_round": "2", "objective": "binary:logistic"}, channels, files)
    code, out, _ = run(root, "1.3-1", capsys)
    assert code == 0
    lines = metric_lines(out)
    assert re.fullmatch(r"\[0\]\ttrain-logloss:\d\.\d{5}\tvalidation-logloss:\d\.\d{5}", lines[0])


def test_container_metric_matches_the_model_on_17(ml_root, capsys):
    import numpy as np
    import xgboost as xgb

    hps = {"num_round": "1", "objective": "binary:logistic", "eval_metric": "auc,accuracy"}
    root = ml_root(hps, {"train": "csv"}, {"train/t.csv": rows()})
    code, out, _ = run(root, "1.7-1", capsys)
    assert code == 0
    (line,) = metric_lines(out)
    match = re.fullmatch(r"\[0\]\ttrain-auc:(\d\.\d{5})\ttrain-accuracy:(\d\.\d{5})", line)
    assert match
    booster = xgb.Booster()
    booster.load_model(str(root / "model" / "xgboost-model"))
    features, labels = train_data()
    accuracy = float(((booster.predict(xgb.DMatrix(features)) > 0.5) == (labels == 1)).mean())
    assert match.group(2) == f"{accuracy:.5f}"
    assert np.isclose(float(match.group(2)), accuracy, atol=1e-5)


def test_30_accuracy_sees_probabilities_like_the_image(ml_root, capsys):
    """3.0-5 passes the container's metrics as ``custom_metric``: probabilities, all ``> 0``, so every row is
    predicted positive and accuracy is the share of positive labels (0.5 here)."""
    hps = {"num_round": "2", "objective": "binary:logistic", "eval_metric": "accuracy"}
    root = ml_root(hps, {"train": "csv"}, {"train/t.csv": rows()})
    code, out, _ = run(root, "3.0-5", capsys)
    assert code == 0
    assert metric_lines(out)[1] == "[1]\ttrain-logloss:" + metric_lines(out)[1].split(":")[1].split("\t")[
        0
    ] + ("\ttrain-accuracy:0.50000")


def test_before_13_builtin_metrics_come_first_for_every_set(ml_root, capsys):
    hps = {"num_round": "1", "objective": "binary:logistic", "eval_metric": "auc,accuracy"}
    files = {"train/t.csv": rows(), "validation/v.csv": rows(30)}
    root = ml_root(hps, {"train": "csv", "validation": "csv"}, files)
    code, out, _ = run(root, "1.2-2", capsys)
    assert code == 0
    (line,) = metric_lines(out)
    names = [part.split(":")[0] for part in line.split("\t")[1:]]
    assert names == ["train-auc", "validation-auc", "train-accuracy", "validation-accuracy"]


# --- early stopping ---------------------------------------------------------------------------------------


def test_early_stopping_keeps_the_best_model_from_13(ml_root, capsys):
    import xgboost as xgb

    hps = {
        "num_round": "50",
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "early_stopping_rounds": "3",
        "eta": "0.5",
    }
    files = {"train/t.csv": rows(), "validation/v.csv": rows(60, flip=True)}
    root = ml_root(hps, {"train": "csv", "validation": "csv"}, files)
    code, out, _ = run(root, "3.0-5", capsys)
    assert code == 0
    lines = metric_lines(out)
    assert len(lines) < 50
    booster = xgb.Booster()
    booster.load_model(str(root / "model" / "xgboost-model"))
    assert booster.num_boosted_rounds() == len(lines) - 3


def test_early_stopping_before_13_keeps_every_round(ml_root, capsys):
    hps = {"num_round": "50", "objective": "binary:logistic", "early_stopping_rounds": "3", "eta": "0.5"}
    files = {"train/t.csv": rows(), "validation/v.csv": rows(60, flip=True)}
    root = ml_root(hps, {"train": "csv", "validation": "csv"}, files)
    code, out, _ = run(root, "1.2-2", capsys)
    assert code == 0
    lines = metric_lines(out)
    assert len(lines) < 50
    with open(root / "model" / "xgboost-model", "rb") as f:
        booster = pickle.load(f)
    assert booster.num_boosted_rounds() == len(lines)


def test_early_stopping_needs_validation_from_13(ml_root, capsys):
    hps = {
        "num_round": "6",
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "early_stopping_rounds": "1",
    }
    root = ml_root(hps, {"train": "csv"}, {"train/t.csv": rows()})
    code, out, _ = run(root, "1.7-1", capsys)
    assert code == 0
    assert len(metric_lines(out)) == 6


# --- checkpoints and intermediate models -----------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.90-1", "1.2-2"])
def test_checkpoints_are_written_and_training_resumes_before_13(ml_root, capsys, version):
    """0.90-1 … 1.2-2: ``checkpointing.SaveCheckpoint`` writes ``xgboost-checkpoint.<iteration>`` (keeping 5) and
    ``load_checkpoint`` (regex ``^xgboost-checkpoint\\.[0-9]+$``) resumes from the newest."""
    checkpoint = {"LocalPath": "/opt/ml/checkpoints", "S3Uri": "s3://bucket/checkpoints"}
    root = ml_root(
        {"num_round": "8", "objective": "binary:logistic"},
        {"train": "csv"},
        {"train/t.csv": rows()},
        checkpoint,
    )
    code, _, _ = run(root, version, capsys)
    assert code == 0
    saved = sorted(os.listdir(root / "checkpoints"), key=lambda n: int(n.split(".")[1]))
    assert saved == [f"xgboost-checkpoint.{i}" for i in range(3, 8)]

    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"num_round": "10", "objective": "binary:logistic"})
    )
    code, out, _ = run(root, version, capsys)
    assert code == 0
    assert "INFO] Checkpoint loaded from /opt/ml/checkpoints/xgboost-checkpoint.7\n" in out
    assert "INFO] Resuming from iteration 8\n" in out
    assert [line.split("\t")[0] for line in metric_lines(out)] == [
        "[8]",
        "[9]",
    ]  # print_checkpointed_evaluation
    with open(root / "model" / "xgboost-model", "rb") as f:
        assert pickle.load(f).num_boosted_rounds() == 10


@pytest.mark.parametrize(
    ("version", "name"),
    [
        ("1.3-1", "xgboost-checkpoint_0.json"),
        ("1.7-1", "xgboost-checkpoint_0.json"),
        ("3.0-5", "xgboost-checkpoint_0.ubj"),
    ],
)
def test_from_13_the_checkpoint_file_never_resumes(ml_root, capsys, version, name):
    """1.3-1 on: XGBoost's ``TrainingCheckPoint(iterations=0, name="xgboost-checkpoint")`` saves once, after the
    first round, as ``xgboost-checkpoint_0.json`` (``.ubj`` in XGBoost 3); the image's loader looks for
    ``xgboost-checkpoint.<n>`` only, so a second job starts over (aws/sagemaker-xgboost-container ``callback.py``,
    dmlc/xgboost ``python-package/xgboost/callback.py``)."""
    import xgboost as xgb

    checkpoint = {"LocalPath": "/opt/ml/checkpoints", "S3Uri": "s3://bucket/checkpoints"}
    root = ml_root(
        {"num_round": "8", "objective": "binary:logistic"},
        {"train": "csv"},
        {"train/t.csv": rows()},
        checkpoint,
    )
    assert run(root, version, capsys)[0] == 0
    assert os.listdir(root / "checkpoints") == [name]
    saved = xgb.Booster()
    saved.load_model(str(root / "checkpoints" / name))
    assert saved.num_boosted_rounds() == 1
    code, out, _ = run(root, version, capsys)
    assert code == 0
    assert "Checkpoint loaded" not in out and "Resuming" not in out
    assert [line.split("\t")[0] for line in metric_lines(out)][:2] == ["[0]", "[1]"]
    assert sorted(os.listdir(root / "checkpoints")) == [name]


def test_save_model_on_termination_survives_sigterm(ml_root, tmp_path):
    import xgboost as xgb

    hps = {"num_round": "100000", "objective": "binary:logistic", "save_model_on_termination": "true"}
    root = ml_root(hps, {"train": "csv"}, {"train/t.csv": rows()})
    (root / "model").mkdir()
    (root / "model" / "leftover.txt").write_text("x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    command = [sys.executable, "-m", "sagelocal.algorithms.xgboost", "train", "--ml-root", str(root)]
    process = subprocess.Popen(
        [*command, "--image-version", "1.7-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("[3]\t"):
                break
        else:
            pytest.fail("training printed no metric line")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert sorted(os.listdir(root / "model")) == ["xgboost-model"]
    booster = xgb.Booster()
    booster.load_model(str(root / "model" / "xgboost-model"))
    assert 3 <= booster.num_boosted_rounds() < 100000


# --- serialization ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "head", "pickled"),
    [
        ("1", b"ccopy_reg", True),
        ("1.0-1", b"\x80\x03", True),
        ("1.2-2", b"\x80\x04", True),
        ("1.5-1", b"binf", False),
        ("3.0-5", b"{", False),
    ],
)
def test_model_format_per_version(ml_root, capsys, version, head, pickled):
    import numpy as np
    import xgboost as xgb

    root = ml_root(
        {"num_round": "3", "objective": "binary:logistic"}, {"train": "csv"}, {"train/t.csv": rows()}
    )
    code, _, failure = run(root, version, capsys)
    assert (code, failure) == (0, None)
    path = root / "model" / "xgboost-model"
    payload = path.read_bytes()
    assert payload.startswith(head)
    if pickled:
        booster = pickle.loads(payload)
    else:
        with pytest.raises(pickle.UnpicklingError):
            pickle.loads(payload)
        booster = xgb.Booster()
        booster.load_model(str(path))
    features, _ = train_data()
    predictions = booster.predict(xgb.DMatrix(features))
    assert predictions.shape == (60,) and np.all((predictions > 0) & (predictions < 1))


# --- errors -----------------------------------------------------------------------------------------------


def test_customer_error_during_training_is_a_client_error(ml_root, capsys):
    text = "".join(f"{i % 4},{i},{i % 3}\n" for i in range(40))
    hps = {"num_round": "2", "objective": "multi:softmax", "num_class": "2"}
    root = ml_root(hps, {"train": "csv"}, {"train/t.csv": text})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure_startswith(failure, "UserError", "")
    assert "label must be in [0, num_class)" in failure


def test_other_training_error_is_an_algorithm_error(ml_root, capsys):
    text = "".join(f"-{i + 1},{i},{i % 3}\n" for i in range(40))
    root = ml_root({"num_round": "2", "objective": "count:poisson"}, {"train": "csv"}, {"train/t.csv": text})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure_startswith(failure, "AlgorithmError", "XGB train call failed with exception:\n ")
    assert "PoissonRegression: label must be nonnegative" in failure


def test_072_rewords_label_errors(ml_root, capsys):
    text = "".join(f"{i % 3},{i},{i % 3}\n" for i in range(40))
    root = ml_root(
        {"num_round": "2", "objective": "binary:logistic"}, {"train": "csv"}, {"train/t.csv": text}
    )
    code, _, failure = run(root, "1", capsys)
    assert code == 1
    assert failure == (
        "ClientError: Label must be in [0,1] for logistic regression task. If input is in csv format, ensure "
        "the first column is the label."
    )


def test_unexpected_error_names_the_image_modules_never_the_host(ml_root, capsys, monkeypatch):
    """Any exception reaches sagemaker-containers' generic handler: ``framework error`` and a traceback of the
    image's modules; sagelocal's own traceback goes to the log only with SAGELOCAL_DEBUG."""
    monkeypatch.delenv("SAGELOCAL_DEBUG", raising=False)
    root = ml_root({"num_round": "2"}, {"train": "csv"}, {"train/t.csv": rows()})
    (root / "input" / "config" / "hyperparameters.json").write_text("{not json")
    code, out, failure = run(root, "3.0-5", capsys)
    assert code == 1
    message = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert_image_failure(failure, "JSONDecodeError", message)
    assert "sagelocal" not in failure and "sagelocal" not in out.split("Reporting training FAILURE")[1]


def test_unknown_image_version(ml_root, capsys):
    root = ml_root({"num_round": "2"}, {"train": "csv"}, {"train/t.csv": rows()})
    code, _, failure = run(root, "9.9-9", capsys)
    assert code == 1
    assert failure.startswith("AlgorithmError: Unknown XGBoost image version '9.9-9'.")


def test_import_is_light():
    command = "import sys, sagelocal.algorithms.xgboost as m; print('xgboost' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_kfold_writes_one_model_per_fold_and_predictions(ml_root, capsys):
    import numpy as np

    hps = {"num_round": "3", "objective": "binary:logistic", "_kfold": "3", "_num_cv_round": "2"}
    files = {"train/t.csv": rows(), "validation/v.csv": rows(30)}
    root = ml_root(hps, {"train": "csv", "validation": "csv"}, files)
    code, out, failure = run(root, "3.0-5", capsys)
    assert (code, failure) == (0, None)
    assert "INFO] Run 2-round of 3-fold cross validation with 90 rows\n" in out
    assert sorted(os.listdir(root / "model")) == [f"xgboost-model-{i}" for i in range(6)]
    assert "INFO] The overall metrics of 2-round cross validation\n" in out
    cv_lines = [line for line in metric_lines(out) if line.startswith("[3]\t")]
    assert len(cv_lines) == 3
    assert re.fullmatch(r"\[3\]\ttrain-logloss:\d\.\d{5}\tvalidation-logloss:\d\.\d{5}", cv_lines[-1])
    predictions = np.loadtxt(root / "output" / "data" / "predictions.csv", delimiter=",")
    assert predictions.shape == (90, 3)
    assert set(np.unique(predictions[:, 2])) <= {0.0, 1.0}
    assert "INFO] Storing predictions on validation set(s) in /opt/ml/output/data/predictions.csv\n" in out


def test_dask_gpu_training_needs_a_gpu(ml_root, capsys):
    hps = {
        "num_round": "2",
        "objective": "binary:logistic",
        "use_dask_gpu_training": "true",
        "tree_method": "gpu_hist",
    }
    root = ml_root(hps, {"train": "libsvm"}, {"train/t": "1 0:1 1:2\n0 0:2 1:1\n"})
    code, _, failure = run(root, "1.7-1", capsys)
    assert code == 1
    assert_image_failure(
        failure,
        "UserError",
        "Some configurations unsuitable for Dask GPU training were found: Dask training is only "
        "available for `gpu_hist` training on GPU instances.. Dask training is only supported for CSV and "
        "Parquet input.",  # the image joins messages that end in "." with ". "
    )


# --- where the image's xgb.train fails and XGBoost 3 would not ------------------------------------------------


@pytest.mark.parametrize(
    ("version", "fails"), [("1.3-1", False), ("1.5-1", True), ("1.7-1", True), ("3.0-5", True)]
)
def test_interaction_constraints_fail_from_15_as_the_image_fails(ml_root, capsys, version, fails):
    """XGBoost ≥ 1.5 maps a list-valued interaction_constraints through the DMatrix's feature names
    (``Booster._transform_interaction_constraints``); the image passes the validator's list and its CSV DMatrix
    has no names, so ``train_job`` re-raises the ValueError (checked with the 1.3.3, 1.7.4 and 3.0.5 wheels)."""
    hps = {"num_round": "2", "interaction_constraints": "[[1, 2]]", "tree_method": "exact"}
    root = ml_root(hps, {"train": "csv"}, {"train/t.csv": rows()})
    code, _, failure = run(root, version, capsys)
    if not fails:
        assert code == 0
        return
    assert code == 1
    assert_image_failure(
        failure,
        "AlgorithmError",
        "XGB train call failed with exception:\n Constrained features are not a subset of training data feature names",
    )


@pytest.mark.parametrize(
    ("version", "native"),
    [
        ("1.2-1", "../src/gbm/gbtree.cc:459: Check failed: common::AllVisibleGPUs() >= 1 (0 vs. 1) : No visible GPU "
         "is found for XGBoost."),
        ("1.7-1", "../src/gbm/gbtree.cc:625: Check failed: common::AllVisibleGPUs() >= 1 (0 vs. 1) : No visible GPU "
         "is found for XGBoost."),
        ("3.0-5", "/workspace/src/tree/updater_gpu_hist.cu:847: Check failed: ctx_->Ordinal() >= 0 (-1 vs. 0) : Must "
         "have at least one device"),
    ],
)  # fmt: skip
def test_gpu_hist_on_a_cpu_instance_fails_as_the_images_xgboost(ml_root, capsys, version, native):
    """The PyPI wheel each image installs, on a machine without a GPU (checked with 1.2.0, 1.7.4 and 3.0.5)."""
    root = ml_root({"num_round": "2", "tree_method": "gpu_hist"}, {"train": "csv"}, {"train/t.csv": rows()})
    code, _, failure = run(root, version, capsys)
    assert code == 1
    message = assert_image_failure_startswith(
        failure, "AlgorithmError", "XGB train call failed with exception:\n ["
    )
    assert re.fullmatch(
        r"XGB train call failed with exception:\n \[\d\d:\d\d:\d\d\] " + re.escape(native), message
    )
