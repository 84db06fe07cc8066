"""``sagelocal deploy``, ``endpoints``, ``models`` and ``invoke``: the SDK's requests and progress line, the
response body as the endpoint answers it, batches under the payload limit, and errors on one line.

The local backend runs in-process (typer's CliRunner); the sagemaker backend runs as the console script against
``sagelocal serve``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.hosting import (
    CSV,
    ROWS,
    expected_scores,
    kill_leftover_endpoints,
    model_tarball,
    serve_pids,
)
from support.server_fixture import Server
from typer.testing import CliRunner

from sagelocal.cli.app import app
from sagelocal.cli.invoke import MAX_PAYLOAD_BYTES, csv_batches, join_bodies

ARN = "arn:aws:sagemaker:us-east-1:123456789012"
STAMP = r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{3}"
IMAGE_30 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
TROUBLESHOOTING = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-troubleshooting.html"
FAST = ("--poll-interval", "0.2")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return model_tarball(tmp_path_factory.mktemp("cli-model"), "3.0-5")


@pytest.fixture
def sagelocal_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("SAGELOCAL_HOME", str(home))
    monkeypatch.delenv("SAGELOCAL_DEBUG", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    yield home
    kill_leftover_endpoints(home)


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def score_lines(rows: list[list[float]], model_dir: Path) -> str:
    """The 3.0-5 image's text/csv answer for ``rows``: one ``repr`` score per line."""
    return "".join(f"{v!r}\n" for v in expected_scores(model_dir, rows))


def test_deploy_invoke_list_and_delete(
    sagelocal_home: Path, tarball: tuple[Path, Path], tmp_path: Path
) -> None:
    result = run("deploy", str(tarball[0]), "--endpoint-name", "cli-ep", *FAST)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    model = re.fullmatch(rf"Creating model with name: (sagemaker-xgboost-{STAMP})", lines[0])
    assert model, lines
    assert lines[1:3] == ["Creating endpoint-config with name cli-ep", "Creating endpoint with name cli-ep"]
    assert re.fullmatch(r"-*!", lines[3]), lines
    assert lines[4:] == ["Endpoint: cli-ep"]
    model_name = model.group(1)

    # a payload that fits is one request; the answer is the image's body, as is
    answer = run("invoke", "cli-ep", "--content-type", "text/csv", "--body", CSV.decode())
    assert answer.exit_code == 0, answer.output
    assert answer.stdout == score_lines(ROWS, tarball[1])
    as_json = run(
        "invoke",
        "cli-ep",
        "--content-type",
        "text/csv",
        "--body",
        "0.9,0.1,0.2",
        "--accept",
        "application/json",
    )
    [score] = expected_scores(tarball[1], ROWS[:1])
    assert as_json.stdout == f'{{"predictions": [{{"score": {score!r}}}]}}\n'

    # a CSV file over 6 MB goes in batches of whole rows; the answers come back in row order
    rows = ROWS * 186_667
    big = tmp_path / "test.csv"
    big.write_text("".join(",".join(map(str, row)) + "\n" for row in rows))
    assert big.stat().st_size > MAX_PAYLOAD_BYTES
    batched = run("invoke", "cli-ep", "--content-type", "text/csv", "--file", str(big))
    assert batched.exit_code == 0, batched.output
    assert batched.stdout == score_lines(ROWS, tarball[1]) * 186_667

    listed = run("endpoints", "list")
    assert listed.exit_code == 0
    header, row = listed.stdout.splitlines()
    assert header.split() == ["Name", "Status", "Creation", "time", "(UTC)", "Last", "modified", "(UTC)"]
    assert row.split()[:2] == ["cli-ep", "InService"]
    described = run("endpoints", "describe", "cli-ep")
    text = described.stdout.splitlines()
    assert text[:4] == [
        "EndpointName:       cli-ep",
        f"EndpointArn:        {ARN}:endpoint/cli-ep",
        "EndpointConfigName: cli-ep",
        "EndpointStatus:     InService",
    ]
    assert text[-2:] == ["  AllTraffic: 1 of 1 instances, weight 1.0", f"    image {IMAGE_30}"]
    models = run("models", "list")
    assert models.stdout.splitlines()[1].split()[0] == model_name

    deleted = run("endpoints", "delete", "cli-ep", "--delete-config", "--wait")
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout == (
        "Deleting endpoint configuration with name: cli-ep\nDeleting endpoint with name: cli-ep\n"
    )
    assert serve_pids(sagelocal_home) == []
    assert run("endpoints", "list").stdout == "No endpoints.\n"
    gone = run("endpoints", "describe", "cli-ep")
    assert (gone.exit_code, gone.stdout) == (1, "")
    assert gone.stderr == (
        "An error occurred (ValidationException) when calling the DescribeEndpoint operation: Could not find "
        f'endpoint "{ARN}:endpoint/cli-ep".\n'
    )
    assert run("models", "delete", model_name).stdout == f"Deleting model with name: {model_name}\n"
    assert run("models", "list").stdout == "No models.\n"


def test_invoke_errors_are_one_line(sagelocal_home: Path, tarball: tuple[Path, Path], tmp_path: Path) -> None:
    unknown = run("invoke", "nope", "--content-type", "text/csv", "--body", "1,2,3")
    assert (unknown.exit_code, unknown.stdout) == (1, "")
    assert unknown.stderr == (
        "An error occurred (ValidationError) when calling the InvokeEndpoint operation: Endpoint nope of account "
        "123456789012 not found.\n"
    )
    both = run("invoke", "nope", "--body", "1", "--file", str(tarball[0]))
    assert both.exit_code == 2
    assert "give exactly one of --body and --file" in both.stderr
    assert run("invoke", "nope").exit_code == 2

    assert run("deploy", str(tarball[0]), "--endpoint-name", "errs", "--no-wait").exit_code == 0
    assert run("deploy", str(tarball[0]), "--endpoint-name", "errs", "--no-wait").stderr == (
        "An error occurred (ValidationException) when calling the CreateEndpointConfig operation: Cannot create "
        f'already existing endpoint configuration "{ARN}:endpoint-config/errs".\n'
    )
    from sagelocal.backends import get_backend

    assert (
        get_backend("local").wait_endpoint("errs", poll_interval=0.2, timeout=120)["EndpointStatus"]
        == "InService"
    )
    wrong = run("invoke", "errs", "--content-type", "application/json", "--body", "{}")
    assert (wrong.exit_code, wrong.stdout) == (1, "")
    original = (
        "application/json is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, "
        "text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf."
    )
    assert wrong.stderr == (
        "An error occurred (ModelError) when calling the InvokeEndpoint operation: Received client error (415) "
        f'from primary with message "{original}". See https://us-east-1.console.aws.amazon.com/cloudwatch/home'
        "?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/errs in account 123456789012 for more "
        "information.\n"
    )
    huge = tmp_path / "huge.libsvm"
    huge.write_bytes(b"1:0.5\n" * (MAX_PAYLOAD_BYTES // 6 + 1))
    too_big = run("invoke", "errs", "--content-type", "text/libsvm", "--file", str(huge))
    assert too_big.stderr == (
        "An error occurred (413) when calling the InvokeEndpoint operation: HTTP content length exceeded "
        "6291456 bytes.\n"
    )
    empty = run("invoke", "errs", "--content-type", "text/csv", "--body", "")
    assert (empty.exit_code, empty.stdout) == (0, "")
    assert run("endpoints", "delete", "errs").stdout == "Deleting endpoint with name: errs\n"


def test_deploy_a_training_job_and_a_corrupt_model(sagelocal_home: Path, tmp_path: Path) -> None:
    missing = run("deploy", "no-such-job")
    assert (missing.exit_code, missing.stdout) == (1, "")
    assert missing.stderr == (
        "An error occurred (ValidationException) when calling the DescribeTrainingJob operation: Requested "
        "resource not found.\n"
    )
    assert run("deploy", "no/such/model.tar.gz").exit_code == 2

    data = tmp_path / "train.csv"
    data.write_text("".join(f"{i % 2},{i / 40},{(i * 7 % 11) / 11}\n" for i in range(40)))
    trained = run(
        "train", "--train", str(data), "--content-type", "csv", "--job-name", "cli-job",
        "-H", "objective=binary:logistic", "-H", "num_round=3", "--xgboost-version", "1.7-1",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    result = run("deploy", "cli-job", *FAST)
    assert result.exit_code == 0, result.output
    name = re.search(rf"^Endpoint: (sagemaker-xgboost-{STAMP})$", result.stdout, re.M)
    assert name, result.stdout
    from sagelocal.backends import get_backend

    backend = get_backend("local")
    described = backend.describe_endpoint(name.group(1))
    model = backend.describe_model(
        backend.describe_endpoint_config(name.group(1))["ProductionVariants"][0]["ModelName"]
    )
    job = backend.describe_training_job("cli-job")
    assert model["PrimaryContainer"] == {
        "Image": job["AlgorithmSpecification"]["TrainingImage"],
        "Mode": "SingleModel",
        "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"],
        "Environment": {},
    }
    assert described["EndpointStatus"] == "InService"
    answer = run("invoke", name.group(1), "--content-type", "text/csv", "--body", "0.5,0.5")
    assert answer.exit_code == 0 and len(answer.stdout.splitlines()) == 1
    run("endpoints", "delete", name.group(1))

    corrupt = tmp_path / "model.tar.gz"
    corrupt.write_bytes(b"this is not a tarball")
    failed = run("deploy", str(corrupt), "--endpoint-name", "broken", *FAST)
    assert failed.exit_code == 1
    assert re.fullmatch(r"-*\*", failed.stdout.splitlines()[-1]), failed.stdout
    url = "s3://sagemaker-us-east-1-123456789012/sagemaker-xgboost/model/model.tar.gz"
    assert failed.stderr == (
        "Error hosting endpoint broken: Failed. Reason:  Failed to extract model data archive for container "
        f'"container_1" from URL "{url}". Please ensure that the object located at the URL is a valid tar.gz '
        f"archive.. Try changing the instance type or reference the troubleshooting page {TROUBLESHOOTING}\n"
    )


def test_batches_are_whole_rows_under_the_limit() -> None:
    rows = [b"1,2,3", b"4,5,6", b"7,8,9"]
    assert csv_batches(b"\n".join(rows), limit=100) == [b"1,2,3\n4,5,6\n7,8,9"]
    assert csv_batches(b"1,2,3\r\n4,5,6\r\n7,8,9\n\n", limit=11) == [b"1,2,3\n4,5,6", b"7,8,9"]
    assert csv_batches(b"1,2,3\n4,5,6\n", limit=5) == [b"1,2,3", b"4,5,6"]
    assert csv_batches(b"12345678\n1\n", limit=5) == [b"12345678", b"1"]


def test_answers_join_as_one_request_would_be_answered() -> None:
    assert join_bodies([b"0.1\n0.2\n", b"0.3\n"], "text/csv; charset=utf-8") == b"0.1\n0.2\n0.3\n"
    assert join_bodies([b"0.1,0.2", b"0.3"], "text/csv") == b"0.1,0.2,0.3"  # the 0.72 … 1.2-1 images
    assert (
        join_bodies(
            [b'{"predictions": [{"score": 0.1}]}', b'{"predictions": [{"score": 0.2}]}'], "application/json"
        )
        == b'{"predictions": [{"score": 0.1}, {"score": 0.2}]}'
    )
    assert join_bodies([b'{"score": 0.1}\n', b'{"score": 0.2}\n'], "application/jsonlines") == (
        b'{"score": 0.1}\n{"score": 0.2}\n'
    )


@pytest.mark.timeout(600)
def test_the_sagemaker_backend_deploys_through_serve(
    sagelocal_server: Server, tarball: tuple[Path, Path]
) -> None:
    """Every command takes --backend: the same commands against ``sagelocal serve`` through boto3."""
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket="cli-hosting")
    s3.upload_file(str(tarball[0]), "cli-hosting", "m/model.tar.gz")
    env = sagelocal_server.subprocess_env(PYTHONPATH=os.environ.get("PYTHONPATH", ""))

    def console(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sagelocal.cli.app", *args, "--backend", "sagemaker"],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip

    try:
        deployed = console("deploy", "s3://cli-hosting/m/model.tar.gz", "--endpoint-name", "via-serve")
        assert deployed.returncode == 0, deployed.stderr
        assert re.search(r"^-*!\nEndpoint: via-serve\n\Z", deployed.stdout, re.M), deployed.stdout
        answer = console("invoke", "via-serve", "--content-type", "text/csv", "--body", CSV.decode())
        assert answer.stdout == score_lines(ROWS, tarball[1])
        assert "via-serve" in console("endpoints", "list").stdout
        assert console("endpoints", "delete", "via-serve", "--wait").returncode == 0
        gone = console("invoke", "via-serve", "--content-type", "text/csv", "--body", "1")
        assert gone.stderr == (
            "An error occurred (ValidationError) when calling the InvokeEndpoint operation: Endpoint via-serve "
            "of account 123456789012 not found.\n"
        )
    finally:
        kill_leftover_endpoints(sagelocal_server.home)
