"""The tutorial job with ``instance_count=2`` through the unchanged SageMaker SDK v2 against ``sagelocal serve``:
two hosts, two log streams, one model from XGBoost's own distributed training, on the bank data."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from support.server_fixture import Server, running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BUCKET = "dist-tutorial"

NOTEBOOK = textwrap.dedent(
    """
    import sagemaker
    from sagemaker.inputs import TrainingInput

    sess = sagemaker.Session()
    xgb = sagemaker.estimator.Estimator(
        image_uri="811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_count={count},
        instance_type="ml.m4.xlarge",
        output_path="s3://{bucket}/out",
        sagemaker_session=sess,
    )
    xgb.set_hyperparameters(
        max_depth=5, eta=0.2, gamma=4, min_child_weight=6, subsample=0.8, silent=0,
        objective="binary:logistic", num_round=100,
    )
    xgb.fit({{"train": TrainingInput("s3://{bucket}/train", content_type="csv")}})
    print("JOB NAME:", xgb.latest_training_job.name)
    print("MODEL DATA:", xgb.model_data)
    """
)


def _fit(server: Server, count: int) -> subprocess.CompletedProcess[str]:
    # JPY_PARENT_PID makes the SDK colour each log stream as in a notebook (sagemaker.logs.ColorWrap).
    env = {**server.subprocess_env(), "JPY_PARENT_PID": "1"}
    return subprocess.run(
        [sys.executable, "-c", NOTEBOOK.format(bucket=BUCKET, count=count)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(server.home.parent),
    )


def _accuracy(server: Server, model_data: str, dest: Path, test: np.ndarray) -> tuple[float, np.ndarray]:
    import xgboost as xgb

    bucket, key = model_data.removeprefix("s3://").split("/", 1)
    with tarfile.open(server.home / "s3" / bucket / key) as tar:
        assert tar.getnames() == ["xgboost-model"]
        tar.extractall(dest, filter="data")
    with open(dest / "xgboost-model", "rb") as f:  # the 0.72 image pickles its Booster
        booster = pickle.load(f)
    predictions = booster.predict(xgb.DMatrix(test[:, 1:]))
    return float(((predictions > 0.5) == (test[:, 0] == 1)).mean()), predictions


def test_the_tutorial_on_two_instances_through_the_sdk(tmp_path: Path, bank_data: tuple[Path, Path]) -> None:
    train_csv, test_csv = bank_data
    with running_server(tmp_path / "home") as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(train_csv), BUCKET, "train/train.csv")

        two = _fit(server, 2)
        assert two.returncode == 0, f"{two.stdout[-4000:]}\n{two.stderr[-4000:]}"
        one = _fit(server, 1)
        assert one.returncode == 0, f"{one.stdout[-4000:]}\n{one.stderr[-4000:]}"

        out = two.stdout
        # A job that ends before the SDK's first poll gets every phase line first and its logs after, the first
        # log line run on (``end=""``) after the last phase line, as logs_for_job prints it.
        assert re.search(
            r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Completed - Training job completed(?:$|\x1b\[3\dm)", out, re.M
        )
        job = re.search(r"^JOB NAME: (\S+)$", out, re.M)
        assert job is not None
        name = job.group(1)
        logs = server.client("logs")
        streams = logs.describe_log_streams(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
        )["logStreams"]
        assert [re.sub(r"-\d+$", "", s["logStreamName"]) for s in streams] == [
            f"{name}/algo-1",
            f"{name}/algo-2",
        ]
        # The SDK prints each stream's lines in its own colour (34: the first stream, algo-1; 35: algo-2).
        first = re.findall(r"\x1b\[34m(.*?)\x1b\[0m", out)
        second = re.findall(r"\x1b\[35m(.*?)\x1b\[0m", out)
        assert any("Distributed node training with 2 hosts: ['algo-1', 'algo-2']" in line for line in first)
        assert any("Distributed node training with 2 hosts: ['algo-1', 'algo-2']" in line for line in second)
        assert sum(1 for line in first if re.match(r"\[\d+\]#011train-error:", line)) == 100
        assert not any(re.match(r"\[\d+\]#011", line) for line in second)
        assert re.search(r"^Training seconds: \d+$", out, re.M)

        test = np.loadtxt(test_csv, delimiter=",")
        model_two = re.search(r"^MODEL DATA: (\S+)$", out, re.M)
        model_one = re.search(r"^MODEL DATA: (\S+)$", one.stdout, re.M)
        assert model_two is not None and model_one is not None
        acc_two, pred_two = _accuracy(server, model_two.group(1), tmp_path / "two", test)
        acc_one, pred_one = _accuracy(server, model_one.group(1), tmp_path / "one", test)
    assert acc_two >= 0.89, acc_two
    assert acc_one >= 0.89, acc_one
    # Two hosts on FullyReplicated data grow approx trees (XGBoost's rule for distributed training) on twice
    # the rows; one host grows exact trees. The models differ, but not in quality.
    assert abs(acc_two - acc_one) < 0.01, (acc_two, acc_one)
    agreement = float(((pred_two > 0.5) == (pred_one > 0.5)).mean())
    print(f"accuracy 2 hosts {acc_two:.4f}, 1 host {acc_one:.4f}, same label on {agreement:.4f} of test rows")
    assert agreement > 0.97, agreement
