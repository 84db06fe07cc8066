"""sagelocal's training against the XGBoost release of the real image, on the tutorial job (bank data).

The real images install XGBoost from PyPI (``docker/<v>/base/Dockerfile.cpu`` of
github.com/aws/sagemaker-xgboost-container), so that wheel, in a separate venv, is the reference. With
``tree_method`` unset the old libraries grow trees with the exact greedy algorithm and start from
``base_score`` 0.5 (dmlc/xgboost ``src/gbm/gbtree.cc::PerformTreeMethodHeuristic`` up to v1.7.4); sagelocal
runs XGBoost 3.0.5's ``exact`` and replays the old library's row subsampling (``treebuild.py``). The metric
lines printed and the model's predictions must be the real library's, digit for digit.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from support.upstream_xgboost import train_upstream, train_upstream_on_csv

from sagelocal.algorithms.xgboost import main

pytestmark = pytest.mark.slow

TUTORIAL = {
    "eta": "0.2",
    "gamma": "4",
    "max_depth": "5",
    "min_child_weight": "6",
    "num_round": "100",
    "objective": "binary:logistic",
    "subsample": "0.8",
}


def _ml_root(root: Path, hyperparameters: dict[str, str], train: Path, validation: Path) -> Path:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    channel = {"ContentType": "csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
    (config / "inputdataconfig.json").write_text(json.dumps({"train": channel, "validation": channel}))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    for name, source in (("train", train), ("validation", validation)):
        (root / "input" / "data" / name).mkdir(parents=True)
        (root / "input" / "data" / name / source.name).write_bytes(source.read_bytes())
    return root


def _load(path: Path, version: str) -> object:
    import xgboost as xgb

    if version in ("0.90-1", "1.0-1"):
        with open(path, "rb") as f:
            return pickle.load(f)
    booster = xgb.Booster()
    booster.load_model(str(path))
    return booster


@pytest.mark.parametrize(
    ("version", "release", "extra"),
    [("1.7-1", "1.7.4", {}), ("0.90-1", "0.90", {"silent": "0"})],
)
def test_the_tutorial_job_prints_the_real_librarys_metric_lines(
    tmp_path, bank_data, capsys, version, release, extra
):
    import xgboost as xgb

    train, test = bank_data
    hyperparameters = {**TUTORIAL, **extra}
    params = {k: float(v) if "." in v else (int(v) if v.isdigit() else v) for k, v in hyperparameters.items()}
    rounds = int(params.pop("num_round"))
    expected_lines, expected_predictions = train_upstream(release, params, rounds, train, test)
    assert len(expected_lines) == rounds

    root = _ml_root(tmp_path / "ml", hyperparameters, train, test)
    assert main(["train", "--ml-root", str(root), "--image-version", version]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[") and "]\t" in ln]
    assert lines == expected_lines

    booster = _load(root / "model" / "xgboost-model", version)
    table = np.loadtxt(test, delimiter=",")
    predictions = booster.predict(xgb.DMatrix(table[:, 1:]))  # type: ignore[attr-defined]
    assert predictions.tolist() == pytest.approx(expected_predictions, abs=0)


#: A header row, empty cells, words, a number with a tail, a cell that is only an exponent marker, a blank.
#: (A blank *last* cell is left out: dmlc-core's ParseFloat skips the newline too and reads the next row's
#: label into it, which sagelocal does not copy.)
ODD_CSV = "label,age,education,score\n" + "".join(
    f"{i % 2},{'' if i % 7 == 0 else i % 5},"
    f"{'abc' if i % 3 == 0 else ('e' if i % 11 == 0 else (' ' if i % 13 == 0 else i % 4))},"
    f"{'12x' if i % 5 == 0 else i % 6}\n"
    for i in range(120)
)


@pytest.mark.parametrize(("version", "release"), [("1.7-1", "1.7.4"), ("1.0-1", "1.0.0")])
def test_odd_csv_cells_are_read_as_the_real_library_reads_them(tmp_path, capsys, version, release):
    """XGBoost 1.0.0 reads a cell without a number as 0, 1.2.0 on as missing (dmlc/dmlc-core#605); a header
    row is a data row with label 0 in both."""
    path = tmp_path / "odd.csv"
    path.write_text(ODD_CSV)
    params = {"objective": "binary:logistic", "max_depth": 2, "eval_metric": "logloss"}
    expected = train_upstream_on_csv(release, params, 5, path)
    assert len(expected) == 5

    hyperparameters = {
        "num_round": "5",
        "objective": "binary:logistic",
        "max_depth": "2",
        "eval_metric": "logloss",
    }
    config = tmp_path / "ml" / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    channel = {"ContentType": "csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
    (config / "inputdataconfig.json").write_text(json.dumps({"train": channel}))
    (tmp_path / "ml" / "input" / "data" / "train").mkdir(parents=True)
    (tmp_path / "ml" / "input" / "data" / "train" / "odd.csv").write_text(ODD_CSV)
    assert main(["train", "--ml-root", str(tmp_path / "ml"), "--image-version", version]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[") and "]\t" in ln]
    assert lines == expected
