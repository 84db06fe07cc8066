"""Channel files and data loading of the XGBoost algorithm: the image's checks and messages (reference §7),
run in-process through ``main()`` on small synthetic data."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from support.failures import assert_image_failure, assert_image_failure_startswith

from sagelocal.algorithms.xgboost import data, main

HP = {"num_round": "2", "objective": "binary:logistic"}


def rows(n: int = 40, sep: str = ",", weights: bool = False) -> str:
    lines = []
    for i in range(n):
        label = i % 2
        cols = (
            [str(label)]
            + (["2.0"] if weights else [])
            + [f"{(i * 7) % 11 + label}", f"{i % 5}", f"{i / 10:.1f}"]
        )
        lines.append(sep.join(cols))
    return "\n".join(lines) + "\n"


def libsvm_rows(n: int = 40) -> str:
    return "".join(f"{i % 2} 0:{(i * 7) % 11 + i % 2} 1:{i % 5} 2:{i / 10:.1f}\n" for i in range(n))


def run(root: Path, version: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str | None]:
    code = main(["train", "--ml-root", str(root), "--image-version", version])
    out = capsys.readouterr().out
    failure = root / "output" / "failure"
    return code, out, failure.read_text() if failure.exists() else None


# --- content types and first-line checks ---------------------------------------------------------------


def test_csv_without_content_type_fails_as_libsvm(ml_root, capsys):
    root = ml_root(HP, {"train": None}, {"train/train.csv": rows()})
    code, out, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure(
        failure,
        "UserError",
        "First line '0,0,0,0.0\n...' of file 'train.csv' is not 'LIBSVM' format. "
        "Please ensure the file is in 'LIBSVM' format.",
    )
    assert "Reporting training FAILURE" in out
    assert not (root / "model" / "xgboost-model").exists()


def test_csv_without_content_type_on_072(ml_root, capsys):
    root = ml_root(HP, {"train": None}, {"train/train.csv": rows()})
    code, _, failure = run(root, "1", capsys)
    assert code == 1
    assert failure == (
        "ClientError: Blankspace and colon not found in firstline '0,0,0,0.0\n...' of file 'train.csv'. "
        "ContentType by defaullt is in libsvm. Please ensure the file is in libsvm format."
    )


def test_header_rejected_by_072(ml_root, capsys):
    text = "False,54,3,999,0,1,0,False,False,False,False,False,True\n" + rows()
    root = ml_root(HP, {"train": "csv"}, {"train/train.csv": text})
    code, _, failure = run(root, "1", capsys)
    assert code == 1
    assert failure == (
        "ClientError: Non-numeric value 'F' found in the header line "
        "'False,54,3,999,0,1,0,False,False,False,False,False...' of file 'train.csv'. CSV format require no "
        "header line in it. If header line is already removed, XGBoost does not accept non-numeric value in "
        "the data."
    )


def test_header_becomes_a_data_row_on_090_plus(ml_root, capsys):
    text = "label,a,b,c\n" + rows(40)
    root = ml_root(HP, {"train": "csv"}, {"train/train.csv": text})
    code, out, failure = run(root, "1.7-1", capsys)
    assert (code, failure) == (0, None)
    assert "Train matrix has 41 rows and 3 columns" in out


def test_libsvm_line_is_not_csv_on_072(ml_root, capsys):
    root = ml_root(HP, {"train": "csv"}, {"train/train.libsvm": libsvm_rows()})
    code, _, failure = run(root, "1", capsys)
    assert code == 1
    assert failure == (
        "ClientError: Blankspace and colon found in firstline '0 0:0 1:0 2:0.0\n...' of file 'train.libsvm'. "
        "Please ensure the file is in csv format."
    )


def test_delimiter_is_sniffed_and_logged(ml_root, capsys):
    root = ml_root(HP, {"train": "text/csv"}, {"train/train.csv": rows(sep=";")})
    code, out, _ = run(root, "3.0-5", capsys)
    assert code == 0
    assert "INFO] Determined delimiter of CSV input is ';'" in out
    assert "Train matrix has 40 rows and 3 columns" in out


def test_empty_file_in_non_empty_channel_cannot_be_sniffed(ml_root, capsys):
    root = ml_root(HP, {"train": "csv"}, {"train/a.csv": rows(), "train/b.csv": ""})
    code, _, failure = run(root, "1.7-1", capsys)
    assert code == 1
    assert_image_failure(
        failure, "UserError", "Could not determine delimiter on line :\nCould not determine delimiter"
    )


def test_unloadable_csv(ml_root, capsys):
    root = ml_root(HP, {"train": "csv"}, {"train/train.csv": rows() + "1,2\n"})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure_startswith(failure, "UserError", "Failed to load csv data with exception:\n")


def test_unloadable_libsvm(ml_root, capsys):
    root = ml_root(HP, {"train": "libsvm"}, {"train/train": libsvm_rows() + "1 x\n"})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure_startswith(failure, "UserError", "Failed to load libsvm data with exception:\n")


def test_unloadable_parquet(ml_root, capsys):
    root = ml_root(HP, {"train": "parquet"}, {"train/train.parquet": b"not parquet at all"})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure_startswith(failure, "UserError", "Failed to load parquet data with exception:\n")


def test_unloadable_recordio(ml_root, capsys):
    root = ml_root(HP, {"train": "recordio-protobuf"}, {"train/train.rec": b"\x01\x02\x03\x04garbage"})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure_startswith(
        failure, "UserError", "Failed to load recordio-protobuf data with exception:\n"
    )


# --- channel contents -----------------------------------------------------------------------------------


def test_hidden_file(ml_root, capsys):
    root = ml_root(HP, {"train": "csv"}, {"train/train.csv": rows(), "train/sub/.DS_Store": "x"})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure(
        failure, "UserError", "Hidden file found in the data path! Remove that before training."
    )


def test_empty_training_channel_names_the_container_path(ml_root, capsys):
    root = ml_root(HP, {"train": "csv"}, {})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure(failure, "UserError", "No data in training channel path /opt/ml/input/data/train")


def test_empty_validation_channel(ml_root, capsys):
    root = ml_root(HP, {"train": "csv", "validation": "csv"}, {"train/train.csv": rows()})
    code, _, failure = run(root, "1.7-1", capsys)
    assert code == 1
    assert_image_failure(
        failure, "UserError", "No data in validation channel path /opt/ml/input/data/validation"
    )


def test_data_without_labels(ml_root, capsys, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"y": pa.array([], pa.float32()), "x": pa.array([], pa.float32())}), buffer)
    root = ml_root(HP, {"train": "parquet"}, {"train/empty.parquet": buffer.getvalue()})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure(
        failure,
        "UserError",
        "Got input data without labels. Please check the input data set. If training job is "
        "running on multiple instances, please switch to using single instance if number of records in the "
        "data set is less than number of workers (16 * number of instance) in the cluster.",
    )


def test_missing_train_channel_is_a_bare_key_error(ml_root, capsys):
    root = ml_root(HP, {"validation": "csv"}, {"validation/v.csv": rows()})
    code, _, failure = run(root, "3.0-5", capsys)
    assert code == 1
    # training.py::run_algorithm_mode reads os.environ["SM_CHANNEL_TRAIN"] before anything else.
    assert_image_failure(failure, "KeyError", "'SM_CHANNEL_TRAIN'")
    assert failure.startswith(
        "framework error: \nTraceback (most recent call last):\n"
        '  File "/miniconda3/lib/python3.10/site-packages/sagemaker_containers/_trainer.py", line 84, in train\n'
        "    entrypoint()\n"
        '  File "/miniconda3/lib/python3.10/site-packages/sagemaker_xgboost_container/training.py", line 102, in main\n'
        "    train(framework.training_env())\n"
        '  File "/miniconda3/lib/python3.10/site-packages/sagemaker_xgboost_container/training.py", line 98, in train\n'
        "    run_algorithm_mode()\n"
        '  File "/miniconda3/lib/python3.10/site-packages/sagemaker_xgboost_container/training.py", line 57, in '
        "run_algorithm_mode\n"
        "    train_path = os.environ[sm_env_constants.SM_CHANNEL_TRAIN]\n"
        '  File "/miniconda3/lib/python3.10/os.py", line 680, in __getitem__\n'
        "    raise KeyError(key) from None\n"
        "KeyError: 'SM_CHANNEL_TRAIN'\n"
    )


def test_depth_three_rule_loads_subfolders_and_skips_deeper(ml_root, capsys):
    files = {
        "train/a.csv": rows(10),
        "train/x/b.csv": rows(10),
        "train/x/y/c.csv": rows(10),
        "train/x/y/z/d.csv": rows(10),
    }
    root = ml_root(HP, {"train": "csv"}, files)
    code, out, _ = run(root, "1.7-1", capsys)
    assert code == 0
    assert "Train matrix has 30 rows and 3 columns" in out
    assert (
        "WARNING] The depth of folder /opt/ml/input/data/train exceed the limit 3. Files in deeper sub dirs "
        "won't be loaded. Please adjust the folder structure accordingly."
    ) in out


def test_first_leaf_rule_before_17(ml_root, capsys):
    files = {"train/a.csv": rows(10), "train/x/b.csv": rows(12), "train/y/c.csv": rows(14)}
    root = ml_root(HP, {"train": "csv"}, files)
    code, out, _ = run(root, "1.5-1", capsys)
    assert code == 0
    assert "INFO] files path: /opt/ml/input/data/train/x" in out
    assert "Train matrix has 12 rows and 3 columns" in out


def test_several_files_are_concatenated(ml_root, capsys):
    files = {f"train/part-{i}.csv": rows(10 + i) for i in range(4)}
    root = ml_root(HP, {"train": "csv"}, files)
    code, out, _ = run(root, "3.0-5", capsys)
    assert code == 0
    assert "Train matrix has 46 rows and 3 columns" in out


def test_csv_weights_take_column_1(ml_root, capsys):
    root = ml_root({**HP, "csv_weights": "1"}, {"train": "csv"}, {"train/train.csv": rows(weights=True)})
    code, out, _ = run(root, "3.0-5", capsys)
    assert code == 0
    assert "Train matrix has 40 rows and 3 columns" in out


def test_libsvm_and_parquet_train(ml_root, capsys, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = ml_root(HP, {"train": "text/libsvm"}, {"train/train": libsvm_rows()})
    code, out, _ = run(root, "3.0-5", capsys)
    assert code == 0
    assert "Train matrix has 40 rows and 3 columns" in out

    buffer = io.BytesIO()
    pq.write_table(
        pa.table({"y": [float(i % 2) for i in range(30)], "x": [float(i) for i in range(30)]}), buffer
    )
    other = ml_root(HP, {"train": "application/x-parquet"}, {"train/t.parquet": buffer.getvalue()})
    (other / "input" / "data" / "train" / "train").unlink()
    code, out, _ = run(other, "3.0-5", capsys)
    assert code == 0
    assert "Train matrix has 30 rows and 1 columns" in out


def test_recordio_protobuf_trains(ml_root, capsys):
    import numpy as np

    from sagelocal.algorithms.xgboost.data import _record_module

    common = _record_module()
    features = np.array([[i % 5, (i * 3) % 7] for i in range(30)], dtype=np.float32)
    labels = np.array([i % 2 for i in range(30)], dtype=np.float32)
    buffer = io.BytesIO()
    common.write_numpy_to_dense_tensor(buffer, features, labels)
    root = ml_root(HP, {"train": "recordio-protobuf"}, {"train/data.rec": buffer.getvalue()})
    code, out, failure = run(root, "3.0-5", capsys)
    assert (code, failure) == (0, None)
    assert "Train matrix has 30 rows and 2 columns" in out


# --- layout and SM_* environment ------------------------------------------------------------------------


def test_sm_channel_train_from_environment_wins(ml_root, capsys, monkeypatch):
    """SM_CHANNEL_TRAIN names a container path: one under /opt/ml is that folder of the job."""
    root = ml_root(HP, {"train": "csv"}, {"train/train.csv": rows(40), "elsewhere/d.csv": rows(25)})
    monkeypatch.setenv("SM_CHANNEL_TRAIN", "/opt/ml/input/data/elsewhere")
    code, out, _ = run(root, "3.0-5", capsys)
    assert code == 0
    assert "Train matrix has 25 rows and 3 columns" in out


def test_sm_channel_train_outside_opt_ml_stays_in_the_job(ml_root, capsys, monkeypatch, tmp_path):
    """A host path is only a container path: the file at that host path is never read."""
    secret = tmp_path / "credentials"
    secret.write_text("[default]\naws_secret_access_key = sagelocal-secret\n")
    root = ml_root(HP, {"train": "csv"}, {"train/train.csv": rows(40)})
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(secret))
    code, out, failure = run(root, "3.0-5", capsys)
    assert code == 1
    assert_image_failure(failure, "UserError", f"No data in training channel path {secret}")
    assert "sagelocal-secret" not in out


def test_sm_model_dir_from_environment_wins(ml_root, capsys, monkeypatch, tmp_path):
    """SM_MODEL_DIR names the container folder the model goes to; outside /opt/ml it is the job's own copy of
    that folder (so, as on SageMaker, the model is not in /opt/ml/model)."""
    root = ml_root(HP, {"train": "csv"}, {"train/train.csv": rows()})
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "models"))
    code, _, _ = run(root, "3.0-5", capsys)
    assert code == 0
    assert not (tmp_path / "models").exists()
    assert (root / ".rootfs" / str(tmp_path / "models").lstrip("/") / "xgboost-model").exists()
    assert not (root / "model" / "xgboost-model").exists()
    monkeypatch.setenv("SM_MODEL_DIR", "/opt/ml/output/data")
    code, _, _ = run(root, "3.0-5", capsys)
    assert code == 0
    assert (root / "output" / "data" / "xgboost-model").exists()


def test_image_version_from_environment(ml_root, capsys, monkeypatch):
    root = ml_root({**HP, "silent": "0"}, {"train": "csv"}, {"train/train.csv": rows()})
    monkeypatch.setenv("SAGELOCAL_XGBOOST_IMAGE_VERSION", "1.0-1")
    code = main(["train", "--ml-root", str(root)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Train matrix has 40 rows\n" in out


def test_sm_env_is_computed_from_the_layout(ml_root):
    from sagelocal.contract import read_layout

    root = ml_root(
        {"num_round": "3", "objective": "binary:logistic"},
        {"train": "csv", "validation": "csv"},
        {},
        checkpoint={"LocalPath": "/opt/ml/checkpoints"},
    )
    layout = read_layout(root)
    env = layout.sm_env({"SM_MODEL_DIR": "/somewhere"})
    assert env["SM_CHANNEL_TRAIN"] == str(root / "input" / "data" / "train")
    assert env["SM_CHANNEL_VALIDATION"] == str(root / "input" / "data" / "validation")
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_HP_NUM_ROUND"] == "3"
    assert env["SM_HP_OBJECTIVE"] == "binary:logistic"
    assert json.loads(env["SM_HPS"]) == {"num_round": 3, "objective": "binary:logistic"}
    assert env["SM_OUTPUT_DATA_DIR"] == str(root / "output" / "data")
    assert env["SM_MODEL_DIR"] == str(root / ".rootfs" / "somewhere")
    assert layout.checkpoint_config["LocalPath"] == str(root / "checkpoints")
    assert (
        layout.container_path(root / "input" / "data" / "train" / "a.csv") == "/opt/ml/input/data/train/a.csv"
    )


# --- cells without a number (dmlc-core CSVParser::ParseBlock, include/dmlc/strtonum.h::ParseFloat) ----------


@pytest.mark.parametrize(
    ("cell", "value", "consumed"),
    [
        ("abc", 0.0, False),
        ("", 0.0, False),
        ("y_yes", 0.0, False),
        ("infi", 0.0, False),
        ("12abc", 12.0, True),
        ("e", 0.0, True),  # ParseFloat takes the exponent marker even without digits: "education" reads 0
        (" ", 0.0, True),
        ("-", 0.0, True),
        (".5", 0.5, True),
        ("1e", 1.0, True),
        ("2.5e2", 250.0, True),
        ("-inf", float("-inf"), True),
        ("Infinity", float("inf"), True),
    ],
)
def test_parse_cell_reads_what_dmlc_parsefloat_reads(cell, value, consumed):
    assert data.parse_cell(cell) == (value, consumed)
    assert data.parse_cell("nan")[1] and data.parse_cell("NaN")[0] != data.parse_cell("NaN")[0]


@pytest.mark.parametrize(
    ("version", "unread"), [("0.90-1", 0.0), ("1.0-1", 0.0), ("1.2-1", None), ("1.7-1", None)]
)
def test_header_row_and_empty_cells_per_version(tmp_path, version, unread):
    """XGBoost ≤ 1.0.0 (images 0.90-1 … 1.0-1) stores 0 for an empty or non-numeric feature cell; from 1.2.0
    (dmlc/dmlc-core#605, "Don't push zero when value is missing in CSV parser") the cell is missing. The label
    cell is the parsed number, 0 for a header. Checked against the PyPI wheels by test_xgboost_upstream.py."""
    import numpy as np

    from sagelocal.algorithms.xgboost.versions import VERSIONS

    path = tmp_path / "train.csv"
    path.write_text("label,a,b\n1,,7\n0,3,x\n")
    loaded = data.load_csv([str(path)], ",", False, VERSIONS[version].unparsed_csv_cell)
    assert loaded.labels.tolist() == [0.0, 1.0, 0.0]
    expected = [[unread, unread], [unread, 7.0], [3.0, unread]]
    got = [[None if np.isnan(v) else float(v) for v in row] for row in loaded.features]
    assert got == expected


def test_all_numeric_files_and_empty_cells_take_the_same_rule(tmp_path):
    """Arrow reads an all-numeric file (empty cells are nulls there); the rule must not depend on the path."""
    path = tmp_path / "train.csv"
    path.write_text("1,,7\n,3,4\n")
    zero = data.load_csv([str(path)], ",", False, "zero")
    assert zero.labels.tolist() == [1.0, 0.0] and zero.features.tolist() == [[0.0, 7.0], [3.0, 4.0]]
    missing = data.load_csv([str(path)], ",", False, "missing")
    assert missing.labels.tolist() == [1.0, 0.0]
    assert str(missing.features.tolist()) == "[[nan, 7.0], [3.0, 4.0]]"
