"""Streaming channels into XGBoost (batches.py, matrices.py) and training from external memory (memory.py).

The streamed matrices must hold what ``data.load_csv``/``load_parquet`` hold, cell for cell, and train the model
the DMatrix path trains; the external-memory switch must be decided from the memory the algorithm can use and
said in the job's log.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sagelocal.algorithms.xgboost import batches, data, main, matrices, memory
from sagelocal.algorithms.xgboost.hyperparameters import training_config, validate_hyperparameters
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import VERSIONS

QUIET = Log(stream=open(os.devnull, "w"))


def streamed(source: batches.ChannelSource) -> tuple[Any, Any, Any]:
    parts = list(source.batches())
    features = np.vstack([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    weights = np.concatenate([p[2] for p in parts]) if parts[0][2] is not None else None
    return features, labels, weights


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 3 rows, so that batches straddle files and rows are split between batches."""
    monkeypatch.setattr(batches, "BATCH_ROWS", 3)


# --- the cell rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize("unparsed", ["missing", "zero"])
@pytest.mark.parametrize("csv_weights", [False, True])
def test_csv_batches_hold_what_load_csv_holds(tmp_path, small_batches, unparsed, csv_weights):
    a = tmp_path / "a.csv"
    a.write_text("1,2,,4,5\n,1.5,3,,7\n0,,1,2,3\n1,2,3,4,5\n0,9,8,7,6\n")
    b = tmp_path / "b.csv"  # narrower: padded with NaN
    b.write_text("1,,2\n0,3,4\n")
    empty = tmp_path / "c.csv"
    empty.write_text("")
    files = [str(a), str(empty), str(b)]
    loaded = data.load_csv(files, ",", csv_weights, unparsed)
    features, labels, weights = streamed(batches.ChannelSource(files, "csv", ",", csv_weights, unparsed))
    np.testing.assert_array_equal(features, loaded.features)
    np.testing.assert_array_equal(labels, loaded.labels)
    if csv_weights:
        np.testing.assert_array_equal(weights, loaded.weights)
    else:
        assert weights is None and loaded.weights is None


def test_parquet_batches_hold_what_load_parquet_holds(tmp_path, small_batches):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"y": [1, 0, 1, 0], "a": [1.5, None, 2.5, 3.0], "b": [7, 8, None, 9]}), tmp_path / "a.pq"
    )
    pq.write_table(
        pa.table({"y": [1.0], "a": [4.0]}), tmp_path / "b.pq"
    )  # narrower: left out, as the loader does
    pq.write_table(pa.table({"y": [0, 1], "a": [5, 6], "b": [1.25, 2.0]}), tmp_path / "c.pq")
    files = [str(tmp_path / n) for n in ("a.pq", "b.pq", "c.pq")]
    loaded = data.load_parquet(files)
    features, labels, _ = streamed(batches.ChannelSource(files, "parquet"))
    np.testing.assert_array_equal(features, loaded.features)
    np.testing.assert_array_equal(labels, loaded.labels)


def test_non_numeric_cell_falls_back_to_the_cell_parser(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("1,2,abc\n0,3e,4\n1,5,6\n")
    plan = matrices.Plan("quantile", hist=True)
    loaded = matrices.load(plan, "train", str(path), "csv", False, VERSIONS["3.0-5"], QUIET, str)
    assert isinstance(loaded, data.LoadedData)
    assert str(loaded.features.tolist()) == "[[2.0, nan], [3.0, 4.0], [5.0, 6.0]]"


def test_a_channel_without_rows_has_no_labels(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("")
    source = batches.ChannelSource([str(path)], "csv")
    with pytest.raises(data.UserError) as e:
        batches.quantile_matrix(source)
    assert str(e.value) == data.NO_LABELS


def test_unreadable_csv_fails_as_the_loader_does(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("1,2,3\n0,1\n")
    with pytest.raises(data.UserError) as streamed_error:
        batches.quantile_matrix(batches.ChannelSource([str(path)], "csv"))
    with pytest.raises(data.UserError) as loaded_error:
        data.load_csv([str(path)], ",", False)
    assert str(streamed_error.value) == str(loaded_error.value)
    assert str(streamed_error.value).startswith("Failed to load csv data with exception:\nCSV parse error:")


# --- the same model ----------------------------------------------------------------------------------------


def synthetic_csv(path: Path, rows: int = 3000, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 6))
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (np.nan_to_num(x[:, 0]) + rng.standard_normal(rows) > 0).astype(int)
    w = rng.random(rows) * 2
    lines = [
        f"{y[i]},{w[i]:.6f}," + ",".join("" if np.isnan(v) else f"{v:.7g}" for v in x[i]) for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


HIST = {"tree_method": "hist", "objective": "binary:logistic", "max_depth": 4, "seed": 0}


def train(params: dict[str, Any], matrix: Any, rounds: int = 10) -> Any:
    import xgboost as xgb

    return xgb.train(params, matrix, rounds)


def test_quantile_matrix_trains_the_dmatrix_model_on_the_bank_data(bank_data):
    train_csv, _ = bank_data
    loaded, _ = data.load_channel([str(train_csv)], "csv", False, QUIET)
    source = batches.ChannelSource([str(train_csv)], "csv")
    params = {**HIST, "max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6, "subsample": 0.8}
    expected = train(params, data.to_dmatrix(loaded), 20).save_raw("json")
    assert train(params, batches.quantile_matrix(source), 20).save_raw("json") == expected


def test_quantile_matrix_in_many_batches_trains_the_dmatrix_model(tmp_path, monkeypatch):
    monkeypatch.setattr(batches, "BATCH_ROWS", 700)  # 5 batches
    path = synthetic_csv(tmp_path / "w.csv")
    loaded = data.load_csv([str(path)], ",", True)
    source = batches.ChannelSource([str(path)], "csv", csv_weights=True)
    expected = train(HIST, data.to_dmatrix(loaded)).save_raw("json")
    assert train({**HIST, "max_bin": 64}, batches.quantile_matrix(source, max_bin=64)).save_raw("json") == (
        train({**HIST, "max_bin": 64}, data.to_dmatrix(loaded)).save_raw("json")
    )
    assert train(HIST, batches.quantile_matrix(source)).save_raw("json") == expected


def test_external_memory_trains_the_in_memory_model(tmp_path, monkeypatch):
    """hist: the same model bytes from ExtMemQuantileDMatrix. approx on a paged DMatrix sketches each page on
    its own, so its cuts (and trees) differ a little: the AUCs agree to 0.005."""
    from sklearn.metrics import roc_auc_score

    monkeypatch.setattr(batches, "BATCH_ROWS", 700)
    path = synthetic_csv(tmp_path / "w.csv")
    loaded = data.load_csv([str(path)], ",", True)
    source = batches.ChannelSource([str(path)], "csv", csv_weights=True)
    in_memory = data.to_dmatrix(loaded)
    hist = batches.external_matrix(source, str(tmp_path / "cache" / "hist"), hist=True)
    assert train(HIST, hist).save_raw("json") == train(HIST, in_memory).save_raw("json")

    approx = {**HIST, "tree_method": "approx"}
    paged = batches.external_matrix(source, str(tmp_path / "cache" / "approx"), hist=False)
    ours, theirs = train(approx, paged).predict(in_memory), train(approx, in_memory).predict(in_memory)
    assert abs(roc_auc_score(loaded.labels, ours) - roc_auc_score(loaded.labels, theirs)) < 0.005


# --- how much memory there is ----------------------------------------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_limit_less_usage_less_reclaimable_cache(tmp_path):
    write(tmp_path / "memory.max", f"{512 << 20}\n")
    write(tmp_path / "memory.current", f"{300 << 20}\n")
    write(tmp_path / "memory.stat", f"anon 1\ninactive_file {100 << 20}\nactive_file 5\n")
    assert memory.cgroup_available(str(tmp_path)) == 312 << 20
    write(tmp_path / "memory.max", "max\n")
    assert memory.cgroup_available(str(tmp_path)) is None


def test_cgroup_v1_limit(tmp_path):
    write(tmp_path / "memory" / "memory.limit_in_bytes", f"{1 << 30}\n")
    write(tmp_path / "memory" / "memory.usage_in_bytes", f"{200 << 20}\n")
    write(tmp_path / "memory" / "memory.stat", f"total_inactive_file {50 << 20}\n")
    assert memory.cgroup_available(str(tmp_path)) == (1 << 30) - (150 << 20)
    write(tmp_path / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")  # no limit
    assert memory.cgroup_available(str(tmp_path)) is None


def test_available_is_the_smaller_of_cgroup_and_memavailable(tmp_path):
    write(tmp_path / "cg" / "memory.max", f"{512 << 20}\n")
    write(tmp_path / "cg" / "memory.current", "0\n")
    write(tmp_path / "meminfo", "MemTotal: 999 kB\nMemAvailable:    1048576 kB\n")
    got = memory.available(str(tmp_path / "cg"), str(tmp_path / "meminfo"))
    assert got == memory.Available(512 << 20, "the cgroup's memory limit")
    write(tmp_path / "meminfo", "MemAvailable:    1024 kB\n")
    got = memory.available(str(tmp_path / "cg"), str(tmp_path / "meminfo"))
    assert got == memory.Available(1 << 20, "MemAvailable")
    assert memory.available(str(tmp_path / "none"), str(tmp_path / "none")) is None


def test_csv_size_estimate(tmp_path):
    path = tmp_path / "big.csv"
    line = "1," + ",".join(["0.123456"] * 9) + "\n"  # 75 bytes, 10 columns
    path.write_text(line * 40_000)  # 3 MB: estimated from the first MiB
    rows, columns = memory.channel_cells([str(path)], "csv")
    assert rows == pytest.approx(40_000, rel=1e-3) and columns == 10
    assert memory.in_memory_need(40_000, 10, quantile=True) == 40_000 * 10 * 5 + 40_000 * 48 + (128 << 20)
    assert memory.in_memory_need(40_000, 10, quantile=False) == 40_000 * 10 * 16 + 40_000 * 48 + (128 << 20)


# --- the plan ------------------------------------------------------------------------------------------------


def config(version: str, **hps: str) -> Any:
    v = VERSIONS[version]
    return training_config(validate_hyperparameters({"num_round": "2", **hps}, v), v)


class Lines(Log):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)


def plan_for(
    version: str, tmp_path: Path, environ: dict[str, str] | None = None, data_format: str = "csv", **hps: str
) -> tuple[matrices.Plan, list[str]]:
    path = synthetic_csv(tmp_path / "train.csv", rows=100)
    log = Lines()
    plan = matrices.choose(
        config(version, **hps),
        VERSIONS[version],
        data_format,
        False,
        1,
        [str(path)],
        3 << 20,
        log,
        lambda p: "/tmp/" + os.path.basename(p),
        environ or {},
    )
    return plan, log.lines


@pytest.mark.parametrize(
    ("version", "hps", "kind"),
    [
        ("3.0-5", {}, "quantile"),  # 3.0-5's auto is hist
        ("3.0-5", {"tree_method": "approx"}, "dmatrix"),
        ("3.0-5", {"tree_method": "exact"}, "dmatrix"),
        ("1.7-1", {}, "dmatrix"),  # exact or approx by the number of rows
        ("1.7-1", {"tree_method": "hist"}, "quantile"),
        ("3.0-5", {"_kfold": "3"}, "dmatrix"),  # DMatrix.slice
        ("3.0-5", {"booster": "gblinear"}, "dmatrix"),
    ],
)
def test_plan_by_tree_method(tmp_path, version, hps, kind):
    plan, lines = plan_for(version, tmp_path, **hps)
    assert plan.kind == kind and lines == []


def test_plan_keeps_dmatrix_for_libsvm(tmp_path):
    assert plan_for("3.0-5", tmp_path, data_format="libsvm")[0] == matrices.DMATRIX


def test_external_memory_when_the_data_does_not_fit(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "available", lambda: memory.Available(100 << 20, "the cgroup's memory limit"))
    plan, lines = plan_for("3.0-5", tmp_path)
    assert plan.kind == "external" and plan.hist
    assert lines == [
        "sagelocal: the data (3 MiB of csv) would need about 128 MiB in memory, more than the 100 MiB available "
        "(the cgroup's memory limit): training from XGBoost's external memory, cached in "
        "/tmp/sagelocal-external-memory"
    ]
    # exact never runs on external memory: it stays in memory, as in the image
    assert plan_for("3.0-5", tmp_path, tree_method="exact")[0] == matrices.DMATRIX
    # auto on 1.7-1 runs approx there, as XGBoost 1.7.4 did on an external-memory matrix
    plan, _ = plan_for("1.7-1", tmp_path)
    assert plan.kind == "external" and not plan.hist


def test_forced_and_forbidden_external_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "available", lambda: memory.Available(1, "MemAvailable"))
    plan, lines = plan_for("3.0-5", tmp_path, {"SAGELOCAL_EXTERNAL_MEMORY": "0"})
    assert plan.kind == "quantile" and lines == []
    plan, lines = plan_for("3.0-5", tmp_path, {"SAGELOCAL_EXTERNAL_MEMORY": "1"}, max_bin="32")
    assert plan == matrices.Plan("external", True, 32, plan.cache_dir)
    assert lines == [
        "sagelocal: the data (3 MiB of csv) trains from XGBoost's external memory (SAGELOCAL_EXTERNAL_MEMORY=1), "
        "cached in /tmp/sagelocal-external-memory"
    ]


# --- whole jobs ----------------------------------------------------------------------------------------------


def run_job(root: Path, version: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], bytes]:
    code = main(["train", "--ml-root", str(root), "--image-version", version])
    out = capsys.readouterr().out
    model = root / "model" / "xgboost-model"
    return code, out.splitlines(), model.read_bytes() if model.exists() else b""


def job_files(tmp_path: Path) -> dict[str, str]:
    train = synthetic_csv(tmp_path / "t.csv", rows=2000, seed=5).read_text()
    validation = synthetic_csv(tmp_path / "v.csv", rows=500, seed=6).read_text()
    return {"train/train.csv": train, "validation/validation.csv": validation}


def without_times(lines: list[str]) -> list[str]:
    return [re.sub(r"^\[[0-9:\-]+(:INFO|:WARNING|:ERROR)?\]", "[t]", line) for line in lines]


def test_external_memory_job_logs_its_line_and_trains_the_same_model(ml_root, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)
    hps = {"num_round": "5", "objective": "binary:logistic", "csv_weights": "1", "eval_metric": "auc"}
    root = ml_root(hps, {"train": "csv", "validation": "csv"}, job_files(tmp_path))
    code, in_memory, model = run_job(root, "3.0-5", capsys)
    assert code == 0

    monkeypatch.setenv("SAGELOCAL_EXTERNAL_MEMORY", "1")
    code, external, external_model = run_job(root, "3.0-5", capsys)
    assert code == 0
    size = memory.mib(sum(p.stat().st_size for p in (root / "input" / "data").rglob("*.csv")))
    cache = str(tmp_path / "tmp" / "sagelocal-external-memory")
    line = (
        f"sagelocal: the data ({size} of csv) trains from XGBoost's external memory "
        f"(SAGELOCAL_EXTERNAL_MEMORY=1), cached in {cache}"
    )
    assert external_model == model  # hist: the same bytes
    first_file_line = next(i for i, t in enumerate(in_memory) if "File path" in t)
    assert without_times(external) == without_times(
        [*in_memory[:first_file_line], line, *in_memory[first_file_line:]]
    )
    assert not os.path.exists(cache)  # the cache is removed after training


def test_external_memory_on_an_exact_image_runs_approx_with_the_librarys_notice(
    ml_root, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setenv("SAGELOCAL_EXTERNAL_MEMORY", "1")
    root = ml_root({"num_round": "3", "objective": "binary:logistic"}, {"train": "csv"}, job_files(tmp_path))
    code, lines, _ = run_job(root, "1.0-1", capsys)
    assert code == 0
    notice = (
        "WARNING: /workspace/src/gbm/gbtree.cc:133: Tree method is automatically set to 'approx' since "
        "external-memory data matrix is used."
    )
    assert [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", t) for t in lines if notice in t] == [notice]
