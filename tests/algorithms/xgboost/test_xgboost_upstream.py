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
from support.upstream_xgboost import train_upstream

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
