"""The headline: the unmodified SageMaker Python SDK v2 runs the XGBoost tutorial against ``sagelocal serve``.

Each notebook runs in a fresh interpreter configured only by the environment ``sagelocal serve`` prints
(endpoint variables, the server's own credentials, region) plus the SDK config that opts out of telemetry. An audit hook
in that interpreter refuses, and records, every connection or name lookup that is not loopback, so the test
also proves the run is offline.
"""

from __future__ import annotations

import json
import re
import socket
import stat
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from support.offline_guard import OFFLINE_GUARD
from support.server_fixture import Server, breast_cancer_csv, clean_environ

BUCKET = "sdk-tutorial"

NOTEBOOK = textwrap.dedent(
    """
    import sagemaker
    from sagemaker.inputs import TrainingInput

    sess = sagemaker.Session()
    bucket = "{bucket}"
    xgb = sagemaker.estimator.Estimator(
        image_uri="811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m4.xlarge",
        output_path=f"s3://{{bucket}}/out",
        sagemaker_session=sess,
    )
    xgb.set_hyperparameters(
        max_depth=5, eta=0.2, gamma=4, min_child_weight=6, subsample=0.8, silent=0,
        objective="binary:logistic", num_round=100,
    )
    try:
        xgb.fit({{"train": TrainingInput(f"s3://{{bucket}}/{train_prefix}", content_type="csv")}}{fit_args})
    except Exception as error:  # the test harness reports it on one line (the SDK's rich traceback wraps)
        print("\\nFIT ERROR:", type(error).__module__, type(error).__name__, " ".join(str(error).split()))
        raise SystemExit(1)
    finally:
        print("JOB NAME:", xgb.latest_training_job.name if xgb.latest_training_job else None)
    print("MODEL DATA:", xgb.model_data)
    """
)


def run_notebook(
    server: Server, train_prefix: str = "train", fit_args: str = ""
) -> subprocess.CompletedProcess:
    script = OFFLINE_GUARD + NOTEBOOK.format(bucket=BUCKET, train_prefix=train_prefix, fit_args=fit_args)
    return subprocess.run(
        [sys.executable, "-c", script],
        env=server.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(server.home.parent),
    )


@pytest.fixture(scope="module")
def tutorial_data(sagelocal_server: Server) -> None:
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="train/train.csv", Body=breast_cancer_csv())


@pytest.mark.timeout(900)
def test_unmodified_sdk_runs_the_tutorial(sagelocal_server: Server, tutorial_data: None) -> None:
    result = run_notebook(sagelocal_server)
    out = result.stdout
    assert result.returncode == 0, (
        f"stdout:\n{out}\nstderr:\n{result.stderr}\nserver:\n{sagelocal_server.log_text()}"
    )

    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    assert re.search(rf"^{stamp} Starting - Starting the training job", out, re.M), out
    # A warm local job can be over before fit()'s first DescribeTrainingJob; the SDK then prints every
    # transition at once and, as it always does after a status line, runs the first log line straight on.
    assert re.search(rf"^{stamp} Completed - Training job completed", out, re.M), out
    training = re.search(r"^Training seconds: (\d+)$", out, re.M)
    billable = re.search(r"^Billable seconds: (\d+)$", out, re.M)
    assert training and billable, out
    assert out.index("Completed - Training job completed") < training.start() < billable.start()
    assert re.search(r"^\[\d+\]#011train-", out, re.M), (
        out
    )  # the container's log lines, as CloudWatch stores them

    job = re.search(r"^JOB NAME: (xgboost-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{3})$", out, re.M)
    assert job, out
    model_data = re.search(r"^MODEL DATA: (\S+)$", out, re.M)
    assert model_data and model_data.group(1) == f"s3://{BUCKET}/out/{job.group(1)}/output/model.tar.gz"
    head = sagelocal_server.client("s3").head_object(
        Bucket=BUCKET, Key=f"out/{job.group(1)}/output/model.tar.gz"
    )
    assert head["ContentLength"] > 0

    assert "NON-LOOPBACK ATTEMPTS: []" in out
    assert "will collect telemetry" not in result.stderr


@pytest.mark.timeout(900)
def test_sdk_without_logs(sagelocal_server: Server, tutorial_data: None) -> None:
    result = run_notebook(sagelocal_server, fit_args=", logs=False")
    out = result.stdout
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Completed - Training job completed$", out, re.M), out
    assert "Training seconds:" not in out  # the logs-off path prints no seconds lines, as on SageMaker
    assert "NON-LOOPBACK ATTEMPTS: []" in out


@pytest.mark.timeout(900)
def test_sdk_reports_a_failed_job(sagelocal_server: Server, tutorial_data: None) -> None:
    result = run_notebook(sagelocal_server, train_prefix=f"empty-{uuid.uuid4().hex[:6]}")
    out = result.stdout
    assert result.returncode == 1, f"stdout:\n{out}\nstderr:\n{result.stderr}"
    job = re.search(r"^JOB NAME: (xgboost-\S+)$", out, re.M)
    assert job, out
    error = re.search(r"^FIT ERROR: (.*)$", out, re.M)
    assert error, out
    prefix = "sagemaker.exceptions UnexpectedStatusException Error for Training job"
    assert error.group(1).startswith(f"{prefix} {job.group(1)}: Failed. Reason: ")
    assert error.group(1).endswith(
        "Check troubleshooting guide for common errors: "
        "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-python-sdk-troubleshooting.html"
    )
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Failed - Training job failed\.*$", out, re.M), out
    assert "Training seconds:" not in out
    assert "NON-LOOPBACK ATTEMPTS: []" in out


# --- the serve command a user starts first ------------------------------------------------------------------


def _serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sagelocal.cli.app", "serve", *args]


def test_serve_prints_the_export_lines(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = clean_environ() | {"SAGELOCAL_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        _serve_command("--port", "0"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("export SAGEMAKER_USER_CONFIG_OVERRIDE="):
                break
        url = lines[3].split("=", 1)[1]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), lines
        sdk_config = home / "sagemaker-sdk-config.yaml"
        # The credentials every request must be signed with: created at first use, private to their owner.
        credentials_file = home / "credentials.json"
        assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
        stored = json.loads(credentials_file.read_text())
        assert re.fullmatch(r"AKIA[A-Z2-7]{16}", stored["AccessKeyId"])
        assert re.fullmatch(r"[A-Za-z0-9+/]{40}", stored["SecretAccessKey"])
        assert lines[3:] == [
            f"export AWS_ENDPOINT_URL_SAGEMAKER={url}",
            f"export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={url}",
            f"export AWS_ENDPOINT_URL_S3={url}",
            f"export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS={url}",
            f"export AWS_ENDPOINT_URL_STS={url}",
            f"export AWS_ENDPOINT_URL_CLOUDWATCH={url}",
            "export AWS_DEFAULT_REGION=us-east-1",
            f"export AWS_ACCESS_KEY_ID={stored['AccessKeyId']}",
            f"export AWS_SECRET_ACCESS_KEY={stored['SecretAccessKey']}",
            f"export SAGEMAKER_USER_CONFIG_OVERRIDE={sdk_config}",
        ]
        assert lines[1] == (
            f"# backend local; state in {home.resolve()}; requests must be signed with the credentials below."
        )
        assert all(line.startswith("# ") for line in lines[:3])  # the whole block is valid shell
        assert "TelemetryOptOut: true" in sdk_config.read_text()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_sagelocal/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_serve_refuses_non_loopback_addresses(host: str, tmp_path: Path) -> None:
    env = clean_environ() | {"SAGELOCAL_HOME": str(tmp_path)}
    result = subprocess.run(
        _serve_command("--host", host), env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"sagelocal serve: refusing to listen on {host}: not a loopback address, and sagelocal speaks plain "
        "HTTP (requests are signed, not encrypted). Pass --allow-remote to serve other machines anyway.\n"
    )
    assert result.stdout == ""


def test_serve_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = clean_environ() | {"SAGELOCAL_HOME": str(tmp_path)}
        result = subprocess.run(
            _serve_command("--port", str(port)), env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert result.stderr == f"sagelocal serve: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_bind_address_rules() -> None:
    from sagelocal.server.run import ServeError, base_url, check_bind_address

    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost", "[::1]"):
        check_bind_address(host, allow_remote=False)
    for host in ("0.0.0.0", "::", "10.1.2.3"):
        with pytest.raises(ServeError):
            check_bind_address(host, allow_remote=False)
        check_bind_address(host, allow_remote=True)
    assert base_url("0.0.0.0", 9090) == "http://127.0.0.1:9090"
    assert base_url("::", 9090) == "http://[::1]:9090"
    assert base_url("::1", 9090) == "http://[::1]:9090"
    assert base_url("localhost", 9090) == "http://localhost:9090"
