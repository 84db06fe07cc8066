"""Batch transform through the unchanged SageMaker Python SDK v2 against ``sagelocal serve``: the tutorial's model
trained on the bank data, then ``xgb.transformer(...).transform(test set, content_type='text/csv',
split_type='Line')`` and ``.wait()``, as a notebook runs them (reference inference §9)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from support.builders import TUTORIAL_HYPERPARAMETERS, TUTORIAL_IMAGE
from support.server_fixture import Server

pytestmark = pytest.mark.slow

BUCKET = "sdk-transform"

NOTEBOOK = textwrap.dedent(
    """
    import sagemaker
    from sagemaker.inputs import TrainingInput

    sess = sagemaker.Session()
    xgb = sagemaker.estimator.Estimator(
        image_uri="{image}",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m4.xlarge",
        output_path="s3://{bucket}/out",
        sagemaker_session=sess,
    )
    xgb.set_hyperparameters(**{hyperparameters})
    xgb.fit({{"train": TrainingInput("s3://{bucket}/train", content_type="csv")}}, logs=False)
    print("MODEL DATA:", xgb.model_data, flush=True)
    transformer = xgb.transformer(instance_count=1, instance_type="ml.m4.xlarge")
    try:
        transformer.transform("{data}", content_type="text/csv", split_type="Line")
        transformer.wait()
    except Exception as error:
        print("\\nTRANSFORM ERROR:", type(error).__name__, " ".join(str(error).split()))
        raise SystemExit(1)
    finally:
        print("JOB NAME:", transformer.latest_transform_job.name if transformer.latest_transform_job else None)
    print("OUTPUT PATH:", transformer.output_path)
    """
)


def run_notebook(server: Server, data: str) -> subprocess.CompletedProcess[str]:
    script = NOTEBOOK.format(
        image=TUTORIAL_IMAGE, bucket=BUCKET, hyperparameters=dict(TUTORIAL_HYPERPARAMETERS), data=data
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        env=server.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(server.home.parent),
    )


def booster_scores(model_tar_gz: bytes, features: np.ndarray) -> np.ndarray:
    """The trained booster's own predictions (the tutorial's 0.72 image pickles it)."""
    import pickle

    import xgboost as xgb

    with tarfile.open(fileobj=io.BytesIO(model_tar_gz)) as archive:
        member = archive.extractfile("xgboost-model")
        assert member is not None
        raw = member.read()
    try:
        booster = pickle.loads(raw)
    except Exception:
        booster = xgb.Booster()
        booster.load_model(bytearray(raw))
    return booster.predict(xgb.DMatrix(features), validate_features=False)


@pytest.mark.timeout(1200)
def test_sdk_transforms_the_bank_test_set(sagelocal_server: Server, bank_data: tuple[Path, Path]) -> None:
    train_csv, test_csv = bank_data
    features = np.loadtxt(test_csv, delimiter=",")[:, 1:]
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="train/train.csv", Body=train_csv.read_bytes())
    body = "".join(line.split(",", 1)[1] for line in test_csv.read_text().splitlines(keepends=True))
    s3.put_object(Bucket=BUCKET, Key="test/test.csv", Body=body.encode())

    result = run_notebook(sagelocal_server, f"s3://{BUCKET}/test/test.csv")
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}\nserver:\n{sagelocal_server.log_text()}"

    job = re.search(r"^JOB NAME: (xgboost-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{3})$", out, re.M)
    assert job, out
    assert f"Creating transform job with name: {job.group(1)}" in err
    # What the SDK prints while it follows the job's logs: the container's lines and the platform's data-log.
    assert re.search(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}:\[sagemaker logs\]: MaxConcurrentTransforms=\d+, "
        r"MaxPayloadInMB=6, BatchStrategy=MULTI_RECORD",
        out,
    ), out
    assert '"POST /invocations HTTP/1.1" 200' in out
    output_path = re.search(r"^OUTPUT PATH: s3://([^/]+)/(\S+)$", out, re.M)
    assert output_path, out
    assert output_path.group(2) == job.group(1)  # the SDK's default: s3://<default bucket>/<job name>
    model_data = re.search(r"^MODEL DATA: s3://[^/]+/(\S+)$", out, re.M)
    assert model_data, out

    scored = s3.get_object(Bucket=output_path.group(1), Key=f"{job.group(1)}/test.csv.out")["Body"].read()
    lines = scored.decode().splitlines()
    assert len(lines) == len(features) == 12357
    model = s3.get_object(Bucket=BUCKET, Key=model_data.group(1))["Body"].read()
    expected = booster_scores(model, features)
    assert np.allclose([float(v) for v in lines], expected, rtol=0, atol=1e-6)

    sm = sagelocal_server.client("sagemaker")
    described = sm.describe_transform_job(TransformJobName=job.group(1))
    assert described["TransformJobStatus"] == "Completed"
    assert described["TransformInput"]["SplitType"] == "Line"
    assert described["TransformStartTime"] <= described["TransformEndTime"]
    streams = sagelocal_server.client("logs").describe_log_streams(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=f"{job.group(1)}/"
    )["logStreams"]
    names = sorted(s["logStreamName"] for s in streams)
    assert len(names) == 2 and names[1] == names[0] + "/data-log"
    assert re.fullmatch(rf"{job.group(1)}/i-0[0-9a-f]{{16}}-\d{{10}}", names[0])
