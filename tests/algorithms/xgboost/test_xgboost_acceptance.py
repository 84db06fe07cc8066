"""Acceptance: the SageMaker XGBoost tutorial on the bank-marketing data, through the real ``train`` command
(``python -m sagelocal.algorithms.xgboost train --ml-root …``), with test.csv as validation."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.builders import TUTORIAL_HYPERPARAMETERS as TUTORIAL
from support.failures import assert_image_failure

pytestmark = pytest.mark.slow

CSV_CHANNEL = {
    "ContentType": "csv",
    "TrainingInputMode": "File",
    "S3DistributionType": "FullyReplicated",
    "RecordWrapperType": "None",
}
METRIC_LINE = re.compile(r"^\[\d+\]\t")


def layout(root: Path, bank_data: tuple[Path, Path], hyperparameters: dict[str, str]) -> Path:
    train, test = bank_data
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(
        json.dumps({"train": CSV_CHANNEL, "validation": CSV_CHANNEL})
    )
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    for channel, source in (("train", train), ("validation", test)):
        (root / "input" / "data" / channel).mkdir(parents=True)
        shutil.copy(source, root / "input" / "data" / channel / source.name)
    return root


def train(root: Path, version: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    command = [sys.executable, "-m", "sagelocal.algorithms.xgboost", "train"]
    return subprocess.run(
        [*command, "--ml-root", str(root), "--image-version", version],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def test_tutorial_on_the_072_image(tmp_path, bank_data):
    import numpy as np
    import xgboost as xgb

    root = layout(tmp_path / "ml", bank_data, TUTORIAL)
    result = train(root, "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (root / "output" / "failure").exists()
    lines = result.stdout.splitlines()
    assert lines[0] == "Arguments: train"
    assert re.match(
        r"^\[\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d:INFO\] Running standalone xgboost training\.$", lines[1]
    )
    assert any(
        line.endswith(
            "] 28831x59 matrix with 1701029 entries loaded from "
            "/opt/ml/input/data/train?format=csv&label_column=0&delimiter=,"
        )
        for line in lines
    )
    metric_lines = [line for line in lines if METRIC_LINE.match(line)]
    assert len(metric_lines) == 100
    assert re.fullmatch(r"\[0\]\ttrain-error:[0-9.]+\tvalidation-error:[0-9.]+", metric_lines[0])
    assert metric_lines[-1].startswith("[99]\t")

    with open(root / "model" / "xgboost-model", "rb") as f:
        booster = pickle.load(f)
    test = np.loadtxt(bank_data[1], delimiter=",", dtype=np.float32)
    predictions = booster.predict(xgb.DMatrix(test[:, 1:]))
    accuracy = float(((predictions > 0.5) == (test[:, 0] == 1)).mean())
    assert accuracy >= 0.89


def test_silent_is_rejected_by_the_30_image(tmp_path, bank_data):
    root = layout(tmp_path / "ml", bank_data, TUTORIAL)
    result = train(root, "3.0-5")
    assert result.returncode == 1
    assert_image_failure(
        (root / "output" / "failure").read_text(), "UserError", "Extraneous hyperparameter found: silent"
    )
    assert "Reporting training FAILURE" in result.stdout
    assert not (root / "model" / "xgboost-model").exists()


def test_tutorial_without_silent_on_the_30_image_is_deterministic(tmp_path, bank_data):
    import numpy as np
    import xgboost as xgb

    hyperparameters = {k: v for k, v in TUTORIAL.items() if k != "silent"}
    models = []
    for run in ("a", "b"):
        root = layout(tmp_path / run, bank_data, hyperparameters)
        result = train(root, "3.0-5")
        assert result.returncode == 0, result.stdout + result.stderr
        metric_lines = [line for line in result.stdout.splitlines() if METRIC_LINE.match(line)]
        assert len(metric_lines) == 100
        assert re.fullmatch(r"\[0\]\ttrain-logloss:\d\.\d{5}\tvalidation-logloss:\d\.\d{5}", metric_lines[0])
        models.append((root / "model" / "xgboost-model").read_bytes())
    assert models[0] == models[1]

    path = tmp_path / "a" / "model" / "xgboost-model"
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(path.read_bytes())
    booster = xgb.Booster()
    booster.load_model(str(path))
    assert booster.num_boosted_rounds() == 100
    test = np.loadtxt(bank_data[1], delimiter=",", dtype=np.float32)
    predictions = booster.predict(xgb.DMatrix(test[:, 1:]))
    assert float(((predictions > 0.5) == (test[:, 0] == 1)).mean()) >= 0.89
