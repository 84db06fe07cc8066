"""``sagelocal evaluate``: the tutorial's step 6 on the bank data (within ±0.6 pp of the published 89.5 %, the
table's exact layout), exact output on small models scored through a job's artifact, a model URI and an
endpoint, multi-class models, the three PNGs, and bad inputs as one line without a traceback."""

from __future__ import annotations

import re
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.builders import make_request, tutorial_request, write_csv
from support.hosting import config_request, kill_leftover_endpoints, model_request
from support.serving import booster_of
from typer.testing import CliRunner

from sagelocal.algorithms.xgboost import main as algorithm_main
from sagelocal.backends.local import LocalBackend
from sagelocal.cli.app import app
from sagelocal.service.training.artifacts import extract_tar_gz, make_tar_gz

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's state is the ``backend`` fixture's home."""
    monkeypatch.setenv("SAGELOCAL_HOME", str(home))
    monkeypatch.delenv("SAGELOCAL_DEBUG", raising=False)
    return home


def evaluate(*args: str) -> Any:
    return CliRunner().invoke(app, ["evaluate", *args])


def train_job(backend: LocalBackend, request: dict[str, Any]) -> dict[str, Any]:
    backend.create_training_job(request)
    description = backend.wait(request["TrainingJobName"], timeout=300)
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    return description


def model_dir_of(backend: LocalBackend, description: dict[str, Any], dest: Path) -> Path:
    extract_tar_gz(backend.fetch_artifact(description["ModelArtifacts"]["S3ModelArtifacts"], dest), dest)
    return dest


def booster_scores(model_dir: Path, test_csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels and the booster's own predictions: the reference the CLI's counts are checked against."""
    import xgboost as xgb

    data = np.loadtxt(test_csv, delimiter=",", ndmin=2)
    return data[:, 0], booster_of(model_dir).predict(xgb.DMatrix(data[:, 1:]), validate_features=False)


def png_text_chunks(path: Path) -> dict[str, str]:
    """The ``tEXt`` chunks of a PNG (after checking its signature)."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    chunks: dict[str, str] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            chunks[key.decode("latin-1")] = value.decode("latin-1")
        offset += 12 + length
    return chunks


def assert_matplotlib_png(path: Path, min_bytes: int = 5000) -> None:
    assert path.stat().st_size > min_bytes, path
    assert png_text_chunks(path)["Software"].startswith("Matplotlib version"), path


def tutorial_counts(stdout: str) -> tuple[float, int, int, int, int]:
    """(rate, tn, fp, fn, tp) from the tutorial's printout, checking its layout line by line."""
    lines = stdout.split("\n")
    assert lines[0] == ""
    rate = re.fullmatch(r"Overall Classification Rate: (\d+\.\d)%", lines[1])
    assert rate, lines[1]
    assert lines[2:5] == ["", "Predicted      No Purchase    Purchase", "Observed"]
    row0 = re.fullmatch(r"No Purchase    (\d{2})% \((\d+)\) *(\d+)% \((\d+)\)", lines[5])
    row1 = re.fullmatch(r"Purchase        (\d+)% \((\d+)\) *(\d+)% \((\d+)\) ", lines[6])
    assert row0 and row1, lines[5:7]
    assert lines[7] == ""
    tn, fp, fn, tp = int(row0[2]), int(row0[4]), int(row1[2]), int(row1[4])
    # Every figure in the exact widths of the tutorial's format strings.
    assert lines[5] == "{0:<15}{1:<2.0f}% ({2:<}){3:>6.0f}% ({4:<})".format(  # noqa: UP030
        "No Purchase", tn / (tn + fn) * 100, tn, fp / (tp + fp) * 100, fp
    )
    assert lines[6] == "{0:<16}{1:<1.0f}% ({2:<}){3:>7.0f}% ({4:<}) ".format(  # noqa: UP030
        "Purchase", fn / (tn + fn) * 100, fn, tp / (tp + fp) * 100, tp
    )
    return float(rate[1]), tn, fp, fn, tp


# --- the tutorial ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_tutorials_evaluation_on_the_bank_data(
    backend: LocalBackend, bank_data: tuple[Path, Path], tmp_path: Path
) -> None:
    train_csv, test_csv = bank_data
    uri = backend.upload_input(train_csv, "s3://bank/sagemaker/DEMO-xgboost-dm/train")
    request = tutorial_request("bank-tutorial", {"train": uri}, "s3://bank/sagemaker/DEMO-xgboost-dm/output")
    description = train_job(backend, request)

    result = evaluate("--job", "bank-tutorial", "--test", str(test_csv), "--plot", str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    rate, tn, fp, fn, tp = tutorial_counts(result.stdout)
    assert abs(rate - 89.5) <= 0.6, result.stdout
    assert tn + fp + fn + tp == 12357
    assert rate == round((tp + tn) / 12357 * 100, 1)

    labels, scores = booster_scores(model_dir_of(backend, description, tmp_path / "model"), test_csv)
    predicted = scores > 0.5
    assert (tn, fp, fn, tp) == (
        int(np.sum(~predicted & (labels == 0))),
        int(np.sum(predicted & (labels == 0))),
        int(np.sum(~predicted & (labels == 1))),
        int(np.sum(predicted & (labels == 1))),
    )
    metrics = result.stdout.split("\n")[8:]
    assert [line[:11] for line in metrics[:5]] == [
        "Precision: ",
        "Recall:    ",
        "F1:        ",
        "AUC:       ",
        "Log loss:  ",
    ]
    assert metrics[1] == f"Recall:    {tp / (tp + fn):.4f}"
    for name in ("confusion.png", "roc.png", "metrics.png"):
        assert_matplotlib_png(tmp_path / "plots" / name)


# --- small models, exact output --------------------------------------------------------------------------

SMALL_TABLE = (
    "\n"
    "Overall Classification Rate: 84.0%\n"
    "\n"
    "Predicted      No Purchase    Purchase\n"
    "Observed\n"
    "No Purchase    88% (14)    18% (6)\n"
    "Purchase        12% (2)     82% (28) \n"
    "\n"
)


@pytest.fixture
def small_job(backend: LocalBackend, inputs: dict[str, str], tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """A 5-round binary job with train and validation channels, and a 50-row test set of the same problem."""
    description = train_job(backend, make_request("small-job", inputs, eval_metric="auc"))
    write_csv(tmp_path / "test.csv", 50, seed=3)
    return description, tmp_path / "test.csv"


def test_evaluate_a_job_prints_the_table_and_metrics_exactly(
    backend: LocalBackend, small_job: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    description, test_csv = small_job
    result = evaluate("--job", "small-job", "--test", str(test_csv))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(SMALL_TABLE)
    assert result.stderr == ""

    labels, scores = booster_scores(model_dir_of(backend, description, tmp_path / "model"), test_csv)
    predicted = (scores > 0.5).astype(int)
    from sklearn import metrics as m

    assert result.stdout[len(SMALL_TABLE) :] == (
        f"Precision: {m.precision_score(labels, predicted):.4f}\n"
        f"Recall:    {m.recall_score(labels, predicted):.4f}\n"
        f"F1:        {m.f1_score(labels, predicted):.4f}\n"
        f"AUC:       {m.roc_auc_score(labels, scores):.4f}\n"
        f"Log loss:  {m.log_loss(labels, scores):.4f}\n"
    )
    cm = m.confusion_matrix(labels, predicted)
    assert (cm[0, 0], cm[0, 1], cm[1, 0], cm[1, 1]) == (14, 6, 2, 28)


def test_a_model_uri_and_a_local_file_give_the_same_output(
    backend: LocalBackend, small_job: tuple[dict[str, Any], Path]
) -> None:
    description, test_csv = small_job
    artifact = description["ModelArtifacts"]["S3ModelArtifacts"]
    by_job = evaluate("--job", "small-job", "--test", str(test_csv))
    by_uri = evaluate("--model", artifact, "--xgboost-version", "3.0-5", "--test", str(test_csv))
    by_file = evaluate(
        "--model",
        str(backend.fetch_artifact(artifact, Path())),
        "--xgboost-version",
        "3.0-5",
        "--test",
        str(test_csv),
    )
    assert by_uri.exit_code == by_file.exit_code == 0, (by_uri.output, by_file.output)
    assert by_job.stdout == by_uri.stdout == by_file.stdout
    assert by_job.stdout.startswith(SMALL_TABLE)


def test_plots_are_three_matplotlib_pngs(small_job: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    _, test_csv = small_job
    plots = tmp_path / "plots"
    result = evaluate("--job", "small-job", "--test", str(test_csv), "--plot", str(plots))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(SMALL_TABLE)
    assert result.stderr == "".join(
        f"Wrote {plots / n}\n" for n in ("confusion.png", "roc.png", "metrics.png")
    )
    for name in ("confusion.png", "roc.png", "metrics.png"):
        assert_matplotlib_png(plots / name)


def test_metrics_png_needs_a_job(small_job: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    description, test_csv = small_job
    plots = tmp_path / "plots"
    artifact = description["ModelArtifacts"]["S3ModelArtifacts"]
    result = evaluate("--model", artifact, "--test", str(test_csv), "--plot", str(plots))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == (
        "metrics.png skipped: --model names no training job, and the metrics per round come from a training "
        "job's log (use --job)."
    )
    assert sorted(p.name for p in plots.iterdir()) == ["confusion.png", "roc.png"]


def test_evaluate_through_an_endpoint(
    backend: LocalBackend, small_job: tuple[dict[str, Any], Path], home: Path, tmp_path: Path
) -> None:
    description, test_csv = small_job
    artifact = description["ModelArtifacts"]["S3ModelArtifacts"]
    try:
        backend.create_model(model_request("small-model", "3.0-5", artifact))
        backend.create_endpoint_config(config_request("small-config", "small-model"))
        backend.create_endpoint({"EndpointName": "small-endpoint", "EndpointConfigName": "small-config"})
        assert backend.wait_endpoint("small-endpoint", timeout=180)["EndpointStatus"] == "InService"
        result = evaluate(
            "--endpoint", "small-endpoint", "--test", str(test_csv), "--plot", str(tmp_path / "p")
        )
        assert result.exit_code == 0, result.output
        assert result.stdout == evaluate("--job", "small-job", "--test", str(test_csv)).stdout
        assert result.stdout.startswith(SMALL_TABLE)
        assert result.stderr.splitlines()[-1].startswith(
            "metrics.png skipped: --endpoint names no training job"
        )
        # The test set went through the endpoint: its container logged the request (logs arrive batched).
        deadline = time.monotonic() + 30
        while not any(
            '"POST /invocations HTTP/1.1" 200' in e["message"]
            for e in backend.emulator.logs.merged_events("/aws/sagemaker/Endpoints/small-endpoint", "")
        ):
            assert time.monotonic() < deadline, "no InvokeEndpoint reached the endpoint's container"
            time.sleep(0.2)
    finally:
        kill_leftover_endpoints(home)


# --- multi-class -----------------------------------------------------------------------------------------


def three_class_rows(count: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(count):
        label = int(rng.integers(0, 3))
        x = rng.normal(0, 0.6, 3)
        x[label] += 1.5
        lines.append(",".join([str(label), *(f"{v:.4f}" for v in x)]))
    return "\n".join(lines) + "\n"


def train_multiclass(root: Path, objective: str) -> tuple[Path, Path]:
    """The algorithm's own ``train`` on a 3-class problem (1.7-1); returns (model.tar.gz, model dir)."""
    import json

    config = root / "input" / "config"
    config.mkdir(parents=True)
    params = {"num_round": "5", "objective": objective, "num_class": "3", "max_depth": "2"}
    (config / "hyperparameters.json").write_text(json.dumps(params))
    channel = {
        "ContentType": "text/csv",
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
    }
    (config / "inputdataconfig.json").write_text(json.dumps({"train": channel}))
    data = root / "input" / "data" / "train"
    data.mkdir(parents=True)
    (data / "train.csv").write_text(three_class_rows(150, seed=1))
    assert algorithm_main(["train", "--ml-root", str(root), "--image-version", "1.7-1"]) == 0
    return make_tar_gz(root / "model", root / "model.tar.gz"), root / "model"


def test_a_softprob_model_gets_the_class_table_and_macro_metrics(tmp_path: Path) -> None:
    tarball, model_dir = train_multiclass(tmp_path / "ml", "multi:softprob")
    test_csv = tmp_path / "test.csv"
    test_csv.write_text(three_class_rows(60, seed=2))
    result = evaluate("--model", str(tarball), "--xgboost-version", "1.7-1", "--test", str(test_csv))
    assert result.exit_code == 0, result.output

    labels, scores = booster_scores(model_dir, test_csv)
    predicted = scores.argmax(axis=1)
    from sklearn import metrics as m

    cm = m.confusion_matrix(labels, predicted, labels=[0, 1, 2])
    columns = cm.sum(axis=0)
    cells = [
        [f"{cm[o, p] / columns[p] * 100:.0f}% ({cm[o, p]})".ljust(15) for p in range(3)] for o in range(3)
    ]
    proba = scores / scores.sum(axis=1, keepdims=True)
    assert result.stdout == (
        "\n"
        f"Overall Classification Rate: {np.trace(cm) / 60 * 100:.1f}%\n"
        "\n"
        "Predicted      0              1              2\n"
        "Observed\n" + "".join((f"{o:<15}" + "".join(cells[o])).rstrip() + "\n" for o in range(3)) + "\n"
        f"Precision (macro):        {m.precision_score(labels, predicted, average='macro'):.4f}\n"
        f"Recall (macro):           {m.recall_score(labels, predicted, average='macro'):.4f}\n"
        f"F1 (macro):               {m.f1_score(labels, predicted, average='macro'):.4f}\n"
        f"AUC (macro, one-vs-rest): {m.roc_auc_score(labels, proba, multi_class='ovr'):.4f}\n"
        f"Log loss:                 {m.log_loss(labels, proba):.4f}\n"
    )
    assert np.trace(cm) >= 45  # the problem is learnable: a broken argmax would not get here


def test_a_softmax_model_gets_class_numbers_and_no_roc(tmp_path: Path) -> None:
    tarball, model_dir = train_multiclass(tmp_path / "ml", "multi:softmax")
    test_csv = tmp_path / "test.csv"
    test_csv.write_text(three_class_rows(60, seed=2))
    plots = tmp_path / "plots"
    result = evaluate(
        "--model",
        str(tarball),
        "--xgboost-version",
        "1.7-1",
        "--test",
        str(test_csv),
        "--class-names",
        "red,green,blue",
        "--plot",
        str(plots),
    )
    assert result.exit_code == 0, result.output
    labels, predicted = booster_scores(model_dir, test_csv)
    lines = result.stdout.splitlines()
    assert lines[1] == f"Overall Classification Rate: {np.mean(labels == predicted) * 100:.1f}%"
    assert lines[3:5] == ["Predicted      red            green          blue", "Observed"]
    assert [line[:15] for line in lines[5:8]] == ["red            ", "green          ", "blue           "]
    assert lines[-2:] == [
        "AUC (macro, one-vs-rest): n/a (the model gives class numbers, not probabilities)",
        "Log loss:                 n/a (the model gives class numbers, not probabilities)",
    ]
    assert result.stderr.splitlines()[:2] == [
        f"Wrote {plots / 'confusion.png'}",
        "roc.png skipped: the model answers class numbers (multi:softmax), not scores to rank by.",
    ]
    assert_matplotlib_png(plots / "confusion.png")


# --- bad inputs ------------------------------------------------------------------------------------------


def one_line_error(result: Any, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    return str(result.stderr[:-1])


def test_a_missing_test_file(tmp_path: Path) -> None:
    result = evaluate("--model", "s3://b/model.tar.gz", "--test", str(tmp_path / "nope.csv"))
    assert one_line_error(result) == f"Test set {tmp_path / 'nope.csv'} does not exist."


def test_a_wrong_column_count(small_job: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,0.1,0.2,0.3,0.4\n0,0.1,0.2\n")
    result = evaluate("--job", "small-job", "--test", str(ragged))
    assert one_line_error(result) == (
        f"{ragged}, line 2: 3 columns where line 1 has 5; every row needs the label and the same features."
    )
    # More features than the model knows: the image's own 400 answer, on one line.
    wide = tmp_path / "wide.csv"
    wide.write_text("1,0.1,0.2,0.3,0.4,0.5,0.6\n")
    message = one_line_error(evaluate("--job", "small-job", "--test", str(wide)))
    assert message.startswith(
        f"The model in {small_job[0]['ModelArtifacts']['S3ModelArtifacts']} answered 400 (image 3.0-5): "
        "Unable to evaluate payload provided: "
    )
    assert "Number of columns does not match number of features in booster." in message


def test_an_unknown_job_and_an_unknown_endpoint(tmp_path: Path) -> None:
    write_csv(tmp_path / "test.csv", 5, seed=3)
    test_csv = str(tmp_path / "test.csv")
    assert one_line_error(evaluate("--job", "no-such-job", "--test", test_csv)) == (
        "An error occurred (ValidationException) when calling the DescribeTrainingJob operation: "
        "Requested resource not found."
    )
    assert one_line_error(evaluate("--endpoint", "no-such-endpoint", "--test", test_csv)) == (
        "An error occurred (ValidationError) when calling the InvokeEndpoint operation: "
        "Endpoint no-such-endpoint of account 123456789012 not found."
    )


def test_a_job_that_did_not_complete(backend: LocalBackend, inputs: dict[str, str], tmp_path: Path) -> None:
    backend.create_training_job(make_request("bad-job", inputs, objective="no:such"))
    assert backend.wait("bad-job", timeout=120)["TrainingJobStatus"] == "Failed"
    write_csv(tmp_path / "test.csv", 5, seed=3)
    assert one_line_error(evaluate("--job", "bad-job", "--test", str(tmp_path / "test.csv"))) == (
        "Training job bad-job is Failed: only a Completed job has a model to evaluate."
    )


def test_not_a_model_archive(tmp_path: Path) -> None:
    write_csv(tmp_path / "test.csv", 5, seed=3)
    (tmp_path / "model.tar.gz").write_text("not a tarball")
    result = evaluate("--model", str(tmp_path / "model.tar.gz"), "--test", str(tmp_path / "test.csv"))
    assert (
        one_line_error(result)
        == f"The model artifact {tmp_path / 'model.tar.gz'} is not a valid tar.gz archive."
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--test", "t.csv"],
        ["--job", "j", "--model", "m", "--test", "t.csv"],
    ],
)
def test_exactly_one_source(args: list[str]) -> None:
    assert one_line_error(evaluate(*args), code=2) == (
        "sagelocal evaluate: give exactly one of --endpoint, --job or --model."
    )


def test_the_sagemaker_backend_downloads_the_artifact_and_scores_it_alike(
    small_job: tuple[dict[str, Any], Path], sagelocal_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--backend sagemaker`` (boto3, here aimed at ``sagelocal serve``): the same output as the local backend
    for the same model.tar.gz, fetched from the other side's S3."""
    description, test_csv = small_job
    local = evaluate("--job", "small-job", "--test", str(test_csv))
    archive = LocalBackend().fetch_artifact(description["ModelArtifacts"]["S3ModelArtifacts"], Path())

    import os

    from sagelocal.backends.sagemaker import SageMakerBackend

    for name in list(os.environ):
        if name.startswith(("AWS_", "SAGEMAKER_")):
            monkeypatch.delenv(name)
    for name, value in sagelocal_server.env.items():
        monkeypatch.setenv(name, value)
    remote = SageMakerBackend()
    remote.make_bucket("evaluate-remote")
    uri = remote.upload_input(archive, "s3://evaluate-remote/small")
    result = evaluate("--backend", "sagemaker", "--model", uri, "--test", str(test_csv))
    assert result.exit_code == 0, result.output
    assert result.stdout == local.stdout
    assert result.stdout.startswith(SMALL_TABLE)
    missing = evaluate("--backend", "sagemaker", "--model", uri + "-nope", "--test", str(test_csv))
    assert one_line_error(missing) == f"NoSuchKey: The specified key does not exist: {uri}-nope"
