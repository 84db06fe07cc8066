"""Issue acceptance, end to end through the real console script: the classic tutorial on the UCI bank data
(../shared/data) with the tutorial's image URI and hyperparameters, as `sagelocal train` runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from support.builders import PHASES, TUTORIAL_HYPERPARAMETERS, TUTORIAL_IMAGE

from sagelocal.service.service import Emulator

pytestmark = pytest.mark.slow

SAGELOCAL = str(Path(sys.executable).with_name("sagelocal"))
TUTORIAL_HPS = [f"{name}={value}" for name, value in TUTORIAL_HYPERPARAMETERS.items()]
#: The service-side metric regex users quote for built-in XGBoost (reference xgboost-algorithm §8).
TRAIN_METRIC = re.compile(r".*\[[0-9]+\].*#011train-[a-z]+:(\S+)")


def train(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [SAGELOCAL, "train", *args]
    for hp in TUTORIAL_HPS:
        argv += ["-H", hp]
    env = {**os.environ, "SAGELOCAL_HOME": str(home)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)


def test_the_tutorial_job_on_the_bank_data(tmp_path: Path, bank_data: tuple[Path, Path]) -> None:
    train_csv, test_csv = bank_data
    home = tmp_path / "home"
    result = train(
        home,
        "--image-uri",
        TUTORIAL_IMAGE,
        "--train",
        str(train_csv),
        "--content-type",
        "csv",
        "--job-name",
        "bank-tutorial",
        "--json",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    desc = json.loads(result.stdout)
    assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("Completed", "Completed")
    assert [(t["Status"], t["StatusMessage"]) for t in desc["SecondaryStatusTransitions"]] == PHASES
    for line in PHASES:
        assert re.search(
            rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {line[0]} - {re.escape(line[1])}", result.stderr, re.M
        )
    assert re.search(r"^Training seconds: \d+$", result.stderr, re.M)
    assert re.search(r"^Billable seconds: \d+$", result.stderr, re.M)

    emulator = Emulator(home=home)
    artifact = desc["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact.endswith("/bank-tutorial/output/model.tar.gz")
    bucket, key = artifact.removeprefix("s3://").split("/", 1)
    with tarfile.open(emulator.objects.object_path(bucket, key)) as tar:
        assert tar.getnames() == ["xgboost-model"]
        tar.extractall(tmp_path / "model", filter="data")

    import pickle

    import xgboost as xgb

    with open(tmp_path / "model" / "xgboost-model", "rb") as f:  # the 0.72 image pickles its Booster
        booster = pickle.load(f)
    test = np.loadtxt(test_csv, delimiter=",")
    predictions = booster.predict(xgb.DMatrix(test[:, 1:]))
    accuracy = float(((predictions > 0.5) == (test[:, 0] == 1)).mean())
    assert accuracy >= 0.89, accuracy

    messages = [e["message"] for e in emulator.job_log_events("bank-tutorial")]
    assert sum(1 for m in messages if TRAIN_METRIC.match(m)) == 100


def test_the_same_job_on_the_30_image_fails_on_silent(tmp_path: Path, bank_data: tuple[Path, Path]) -> None:
    train_csv, _ = bank_data
    result = train(
        tmp_path / "home",
        "--xgboost-version",
        "3.0-5",
        "--train",
        str(train_csv),
        "--content-type",
        "csv",
        "--job-name",
        "bank-30",
    )
    assert result.returncode == 1
    # The 3.0-5 image's FailureReason (sagemaker-containers' "framework error" and the image's traceback, cut at
    # 1,024 characters before the UserError line), then sagelocal's own line naming the root error.
    reason, own = result.stderr.strip().splitlines()[-2:]
    assert reason.startswith(
        "Error for Training job bank-30: Failed. Reason: AlgorithmError: framework error: \\nTraceback (most "
        'recent call last):\\n  File "/miniconda3/lib/python3.10/site-packages/sagemaker_algorithm_toolkit/'
        'hyperparameter_validation.py", line 276, in validate\\n    hyperparameter_obj = self.hyperparameters[hp]'
        "\\nKeyError: 'silent'\\n\\nDuring handling of the above exception, another exception occurred:"
    )
    assert own == "sagelocal: the algorithm failed with UserError: Extraneous hyperparameter found: silent"
