"""``sagelocal transform`` and ``sagelocal transforms``: a training job's model made as the SDK makes it, the job
followed with its log lines as transformer.wait() prints them, the outputs, and list / describe / stop."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.builders import make_request, write_csv
from support.transform import kill_leftover_transforms

from sagelocal.backends.local import LocalBackend

NAME = r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{3}"


def console(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("sagelocal")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sagelocal.cli.app"]
    env = {**os.environ, "SAGELOCAL_HOME": str(home)}
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.timeout(600)
def test_transform_a_training_jobs_model(tmp_path: Path) -> None:
    home = tmp_path / "home"
    backend = LocalBackend(home=home)
    try:
        write_csv(tmp_path / "train.csv", 200, seed=1)
        train_uri = backend.upload_input(tmp_path / "train.csv", "s3://bucket/train")
        backend.create_training_job(make_request("trained", {"train": train_uri}))
        assert backend.wait("trained", timeout=240)["TrainingJobStatus"] == "Completed"
        features = np.round(np.random.default_rng(2).uniform(0, 1, size=(7, 4)), 4)
        (tmp_path / "in").mkdir()
        np.savetxt(tmp_path / "in" / "test.csv", features, delimiter=",", fmt="%g")
        backend.upload_input(tmp_path / "in", "s3://bucket/batch")

        result = console(
            home, "transform", "trained", "--input", "s3://bucket/batch", "--output", "s3://bucket/scored"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        model = re.search(
            rf"^INFO:sagemaker:Creating model with name: (sagemaker-xgboost-{NAME})$", result.stderr, re.M
        )
        job = re.search(
            rf"^INFO:sagemaker:Creating transform job with name: (sagemaker-xgboost-{NAME})$",
            result.stderr,
            re.M,
        )
        assert model and job, result.stderr
        assert re.search(
            r":\[sagemaker logs\]: MaxConcurrentTransforms=\d+, MaxPayloadInMB=6, BatchStrategy=MULTI_RECORD$",
            result.stdout,
            re.M,
        )
        assert result.stdout.endswith(
            f"Transform job {job.group(1)}: Completed\nOutput: s3://bucket/scored\n"
        )
        scored = tmp_path / "test.csv.out"
        backend.get_object("bucket", "scored/test.csv.out", scored)
        assert len(scored.read_text().splitlines()) == 7

        described = console(home, "transforms", "describe", job.group(1))
        assert described.returncode == 0
        assert "TransformJobStatus: Completed" in described.stdout
        assert f"ModelName:          {model.group(1)}" in described.stdout
        listed = console(home, "transforms", "list")
        assert re.search(rf"^{job.group(1)}\s+Completed\s", listed.stdout, re.M), listed.stdout

        # The model by name this time; a content type the algorithm refuses fails the job, exit code 1.
        failed = console(
            home,
            "transform",
            model.group(1),
            "--input",
            "s3://bucket/batch",
            "--output",
            "s3://bucket/bad",
            "--content-type",
            "application/json",
        )
        assert failed.returncode == 1
        assert failed.stderr.rstrip().endswith(
            "Failed. Reason: ClientError: See job logs for more information. Check troubleshooting guide for common "
            "errors: https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-python-sdk-troubleshooting.html"
        )
        assert ": ClientError: 415" in failed.stdout

        missing = console(home, "transforms", "stop", "nope")
        assert missing.returncode == 1
        assert 'Could not find requested job with name "nope"' in missing.stderr
    finally:
        kill_leftover_transforms(home)
