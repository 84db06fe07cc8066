"""The ``sagelocal`` command line: requests built as SDK v2 builds them, usage and error handling, s3 and
jobs commands. Commands run through typer's CliRunner and, where the console script matters, as a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sagelocal import config
from sagelocal.cli import errors as cli_errors
from sagelocal.cli.app import app
from sagelocal.cli.train import (
    base_name_from_image,
    build_training_request,
    name_from_base,
    sagemaker_timestamp,
)

BUCKET = config.DEFAULT_BUCKET
NAME_RE = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}$")


@pytest.fixture(autouse=True)
def sagelocal_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SAGELOCAL_HOME", str(home))
    monkeypatch.delenv("SAGELOCAL_DEBUG", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    return home


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def console(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess:
    """Run the installed console script (falling back to ``python -m`` if it is not on PATH)."""
    script = Path(sys.executable).with_name("sagelocal")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sagelocal.cli.app"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


# --- the CreateTrainingJob request ----------------------------------------------------------------


def test_tutorial_request_is_the_sdk_v2_body() -> None:
    """Reference sagemaker-api §4: the body SDK v2 sent for the tutorial, captured on the wire."""
    request = build_training_request(
        job_name="xgboost-2026-11-27-01-08-15-963",
        image_uri="811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest",
        role_arn="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://bucket/out",
        channels={"train": "s3://bucket/train"},
        hyperparameters={
            "max_depth": 5,
            "eta": 0.2,
            "gamma": 4,
            "min_child_weight": 6,
            "subsample": 0.8,
            "silent": 0,
            "objective": "binary:logistic",
            "num_round": 100,
        },
        content_type="csv",
    )
    assert request == {
        "AlgorithmSpecification": {
            "TrainingImage": "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest",
            "TrainingInputMode": "File",
        },
        "DebugHookConfig": {"CollectionConfigurations": [], "S3OutputPath": "s3://bucket/out"},
        "HyperParameters": {
            "eta": "0.2",
            "gamma": "4",
            "max_depth": "5",
            "min_child_weight": "6",
            "num_round": "100",
            "objective": "binary:logistic",
            "silent": "0",
            "subsample": "0.8",
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataDistributionType": "FullyReplicated",
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://bucket/train",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ProfilerConfig": {"DisableProfiler": False, "S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 30},
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "TrainingJobName": "xgboost-2026-11-27-01-08-15-963",
    }


def test_request_without_content_type_or_sdk_defaults() -> None:
    request = build_training_request(
        job_name="j",
        image_uri="i",
        role_arn="r",
        output_path="s3://b/",
        channels={"train": "s3://b/t", "validation": "s3://b/v"},
        sdk_defaults=False,
    )
    assert "DebugHookConfig" not in request and "ProfilerConfig" not in request
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train", "validation"]
    assert all("ContentType" not in c for c in request["InputDataConfig"])
    assert request["HyperParameters"] == {}


def test_job_names_follow_name_from_base() -> None:
    assert base_name_from_image("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest") == "xgboost"
    assert (
        base_name_from_image("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5")
        == "sagemaker-xgboost"
    )
    assert base_name_from_image("sagelocal-xgboost") == "sagelocal-xgboost"
    assert sagemaker_timestamp(1594467279.05) == "2020-07-11-11-34-39-050"
    assert name_from_base("xgboost", moment=1594467279.963) == "xgboost-2020-07-11-11-34-39-963"
    long = name_from_base("x" * 80)
    assert len(long) == 63 and NAME_RE.match(long)


# --- help, start-up and usage ------------------------------------------------------------------------


def test_console_script_help_lists_commands() -> None:
    result = console("--help")
    assert result.returncode == 0, result.stderr
    for command in ("demo", "train", "jobs", "s3", "serve", "image"):
        assert re.search(rf"^  {command}\s", result.stdout, re.M), command
    assert "Exit codes: 0 completed/success, 1 job failed or request rejected, 2 usage" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_modules_do_not_import_heavy_packages() -> None:
    code = (
        "import sys, sagelocal.cli.app; "
        "heavy = [m for m in ('xgboost', 'pandas', 'numpy', 'boto3', 'botocore', 'sklearn', 'sagemaker', "
        "'fastapi', 'uvicorn', 'docker', 'pydantic', 'sagelocal.service.service', "
        "'sagelocal.backends.local') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train"], "Missing option '--train'"),
        (
            ["train", "--train", "s3://b/t", "--backend", "nope"],
            "'nope' is not one of local, docker, sagemaker.",
        ),
        (
            ["train", "--train", "s3://b/t", "--image-uri", "x/y:1", "--xgboost-version", "1.7-1"],
            "--image-uri and --xgboost-version are mutually exclusive",
        ),
        (["train", "--train", "s3://b/t", "-H", "max_depth"], "expected KEY=VALUE, got 'max_depth'"),
        (
            ["train", "--train", "s3://b/t", "--xgboost-version", "9.9-9"],
            "Unknown XGBoost image version '9.9-9'",
        ),
        (["train", "--train", "/no/such/file.csv"], "no such file or directory: /no/such/file.csv"),
        (["s3", "cp", "a", "b"], "one of SOURCE and DESTINATION must be an s3:// URI"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert (
        message in " ".join(result.output.split()).replace("│", "").replace("  ", " ")
        or message in result.output
    )
    assert "Traceback" not in result.output


# --- errors become one line -----------------------------------------------------------------------


def test_bad_job_name_is_the_services_validation_exception(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("1,2,3\n0,1,2\n")
    result = console("train", "--train", str(data), "--job-name", "bad_name", "--content-type", "csv")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "An error occurred (ValidationException) when calling the CreateTrainingJob operation: "
        "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_unknown_job_is_one_line() -> None:
    result = invoke("jobs", "describe", "no-such-job")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "An error occurred (ValidationException) when calling the DescribeTrainingJob operation: "
        "Requested resource not found."
    )


def test_service_error_without_operation_prints_code_and_message() -> None:
    from sagelocal.aws.errors import ResourceInUse

    assert cli_errors.format_error(ResourceInUse("a\nb")) == ("ResourceInUse: a\\nb", 1)


class _Boom:
    name = "local"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def describe_training_job(self, name: str) -> dict[str, Any]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (
            RuntimeError("boom"),
            4,
            "sagelocal: internal error: RuntimeError: boom (run with SAGELOCAL_DEBUG=1 for the traceback)",
        ),
        (
            KeyError("k"),
            4,
            "sagelocal: internal error: KeyError: 'k' (run with SAGELOCAL_DEBUG=1 for the traceback)",
        ),
        (KeyboardInterrupt(), 130, "sagelocal: interrupted"),
    ],
)
def test_unexpected_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, error: BaseException, code: int, line: str
) -> None:
    import sagelocal.cli.jobs as jobs

    monkeypatch.setattr(jobs, "get_backend", lambda name: _Boom(error))
    result = invoke("jobs", "describe", "x")
    assert result.exit_code == code
    assert result.output.strip() == line


def test_backend_error_is_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import sagelocal.cli.jobs as jobs
    from sagelocal.backends.base import BackendError

    monkeypatch.setattr(jobs, "get_backend", lambda name: _Boom(BackendError("No Docker engine is running.")))
    result = invoke("jobs", "describe", "x")
    assert (result.exit_code, result.output.strip()) == (1, "No Docker engine is running.")


def test_sagemaker_backend_without_credentials_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = invoke("train", "--train", "s3://b/t", "--backend", "sagemaker")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) "
        "to use --backend sagemaker."
    )


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import sagelocal.cli.jobs as jobs

    monkeypatch.setenv("SAGELOCAL_DEBUG", "1")
    monkeypatch.setattr(jobs, "get_backend", lambda name: _Boom(RuntimeError("boom")))
    result = invoke("jobs", "describe", "x")
    assert result.exit_code == 4
    assert "Traceback" in result.output


def test_run_main_guards_the_top_level() -> None:
    def explode() -> None:
        raise ValueError("bad")

    assert cli_errors.run_main(explode) == 4
    assert cli_errors.run_main(lambda: sys.exit(3)) == 3
    assert cli_errors.run_main(lambda: None) == 0


def test_optional_commands_are_registered_or_explained() -> None:
    result = invoke("image", "--help")
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert "sagelocal image: not available in this installation (sagelocal.cli.image" in result.output


# --- s3 -------------------------------------------------------------------------------------------


def test_s3_mb_cp_ls_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "a.csv").write_text("1,2\n")
    (tmp_path / "data" / "sub" / "b.csv").write_text("3,4,5\n")

    result = invoke("s3", "mb", "s3://my-bucket")
    assert (result.exit_code, result.output) == (0, "make_bucket: my-bucket\n")

    result = invoke("s3", "cp", "data/a.csv", "s3://my-bucket/in/")
    assert (result.exit_code, result.output) == (0, "upload: ./data/a.csv to s3://my-bucket/in/a.csv\n")

    result = invoke("s3", "cp", "data", "s3://my-bucket/tree", "--recursive")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "upload: ./data/a.csv to s3://my-bucket/tree/a.csv",
        "upload: ./data/sub/b.csv to s3://my-bucket/tree/sub/b.csv",
    ]

    result = invoke("s3", "ls")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d my-bucket\n", result.output), result.output

    result = invoke("s3", "ls", "s3://my-bucket/tree/")
    lines = result.output.splitlines()
    assert lines[0] == "                           PRE sub/"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d          4 a\.csv", lines[1]), lines[1]

    result = invoke("s3", "ls", "s3://my-bucket", "--recursive")
    assert [line.split()[-1] for line in result.output.splitlines()] == [
        "in/a.csv",
        "tree/a.csv",
        "tree/sub/b.csv",
    ]

    result = invoke("s3", "cp", "s3://my-bucket/tree/sub/b.csv", "out/")
    assert (result.exit_code, result.output) == (
        0,
        "download: s3://my-bucket/tree/sub/b.csv to ./out/b.csv\n",
    )
    assert (tmp_path / "out" / "b.csv").read_text() == "3,4,5\n"

    result = invoke("s3", "cp", "s3://my-bucket/tree", "copy", "--recursive")
    assert result.exit_code == 0
    assert (tmp_path / "copy" / "sub" / "b.csv").read_text() == "3,4,5\n"

    result = invoke("s3", "cp", "s3://my-bucket/in/a.csv", "s3://my-bucket/again.csv")
    assert (result.exit_code, result.output) == (
        0,
        "copy: s3://my-bucket/in/a.csv to s3://my-bucket/again.csv\n",
    )


def test_s3_errors_are_one_line() -> None:
    result = invoke("s3", "ls", "s3://nope")
    assert result.exit_code == 1
    assert result.output.startswith(
        "An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation:"
    )
    assert len(result.output.strip().splitlines()) == 1
    result = invoke("s3", "ls", "nope")
    assert (result.exit_code, result.output.strip()) == (2, "sagelocal s3: 'nope' is not an s3:// URI")


# --- train and jobs against the real local backend ------------------------------------------------


def _wait_terminal(name: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        result = invoke("jobs", "describe", name, "--json")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        if doc["TrainingJobStatus"] in ("Completed", "Failed", "Stopped") or time.monotonic() > deadline:
            return doc
        time.sleep(0.2)


def test_train_no_wait_uploads_local_input_and_records_the_s3_uri(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("1,0.5,0.25\n0,0.1,0.2\n1,0.7,0.1\n0,0.2,0.3\n")
    result = invoke(
        "train",
        "--train",
        f"file://{data}",
        "--content-type",
        "csv",
        "-H",
        "num_round=2",
        "-H",
        "objective=binary:logistic",
        "--job-name",
        "cli-no-wait",
        "--no-wait",
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["TrainingJobName"] == "cli-no-wait"
    channel = doc["InputDataConfig"][0]
    # the uploaded file's own URI, as the SDK's upload_data returns it
    assert (
        channel["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/cli-no-wait/input/train/train.csv"
    )
    assert channel["ContentType"] == "csv"
    assert doc["HyperParameters"] == {"num_round": "2", "objective": "binary:logistic"}
    assert doc["AlgorithmSpecification"]["TrainingImage"] == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    )
    assert doc["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/"
    assert doc["RoleArn"] == config.DUMMY_ROLE_ARN
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", doc["CreationTime"]), doc[
        "CreationTime"
    ]

    listing = invoke("s3", "ls", f"s3://{BUCKET}/cli-no-wait/input/train/")
    assert listing.output.rstrip().endswith(" train.csv")

    final = _wait_terminal("cli-no-wait")
    table = invoke("jobs", "list", "--name-contains", "no-wait")
    assert table.exit_code == 0
    header, row = table.output.splitlines()[:2]
    assert header.split() == ["Name", "Status", "Secondary", "status", "Creation", "time", "(UTC)"]
    assert row.split()[:3] == ["cli-no-wait", final["TrainingJobStatus"], final["SecondaryStatus"]]
    assert invoke("jobs", "list", "--name-contains", "zzz").output == "No training jobs.\n"

    text = invoke("jobs", "describe", "cli-no-wait")
    assert "TrainingJobName:   cli-no-wait" in text.output
    assert f"  train: s3://{BUCKET}/cli-no-wait/input/train/train.csv (csv)" in text.output


def test_stop_reports_the_status(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("1,0.5\n0,0.1\n" * 50)
    created = invoke(
        "train", "--train", str(data), "--job-name", "cli-stop", "--no-wait", "-H", "num_round=5000"
    )
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith(
        "Created training job cli-stop (arn:aws:sagemaker:us-east-1:123456789012:"
    )
    stopped = invoke("jobs", "stop", "cli-stop", "--wait")
    # a job this short may finish before the stop lands; then SageMaker rejects the stop
    if stopped.exit_code == 0:
        assert re.fullmatch(r"Training job cli-stop: (Stopped|Completed|Failed) \(\w+\)\n", stopped.output)
    else:
        assert "when calling the StopTrainingJob operation" in stopped.output
        assert "Traceback" not in stopped.output


# --- how a watched job ends ----------------------------------------------------------------------


class _EndedJob:
    """A job that is already over: just enough Backend for run_job/finish (unit tests of the reporting)."""

    name = "local"
    poll_interval = 0.2
    describe_interval = 0.0

    @property
    def downloads_artifacts(self) -> bool:
        return self.name == "sagemaker"

    def __init__(self, description: dict[str, Any], interrupt: bool = False) -> None:
        self.description = description
        self.interrupt = interrupt
        self.created: list[dict[str, Any]] = []

    def create_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        self.created.append(request)
        return {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/j"}

    def describe_training_job(self, name: str) -> dict[str, Any]:
        if self.interrupt:
            raise KeyboardInterrupt
        return self.description

    def get_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        return []

    def fetch_artifact(self, s3_uri: str, dest_dir: Path) -> Path:
        return dest_dir / "model.tar.gz"


def _ended(status: str, **extra: Any) -> dict[str, Any]:
    from datetime import UTC, datetime

    when = datetime(2020, 7, 11, 11, 35, 49, tzinfo=UTC)
    return {
        "TrainingJobName": "j",
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "ResourceConfig": {"InstanceCount": 1},
        "LastModifiedTime": when,
        "SecondaryStatusTransitions": [{"Status": status, "StatusMessage": f"Training job {status.lower()}"}],
        **extra,
    }


def _run(backend: _EndedJob, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from sagelocal.cli.train import run_job

    code = run_job(backend, {"TrainingJobName": "j"}, wait=True, as_json=False)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_completed_job_prints_seconds_and_artifacts(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _ended(
        "Completed",
        TrainingTimeInSeconds=53,
        BillableTimeInSeconds=53,
        ModelArtifacts={"S3ModelArtifacts": "s3://b/out/j/output/model.tar.gz"},
    )
    code, out, err = _run(_EndedJob(doc), capsys)
    home = config.home()
    assert code == 0
    assert out == (
        "Creating training-job with name: j\n"
        "2020-07-11 11:35:49 Completed - Training job completed.\n"  # already over: one poll, no log yet
        "Training seconds: 53\n"
        "Billable seconds: 53\n"
        "Model artifacts: s3://b/out/j/output/model.tar.gz\n"
        f"Local file: {home / 'artifacts' / 'j' / 'model.tar.gz'}\n"
    )
    assert err == ""  # nothing of the SDK's or botocore's logging


def test_failed_job_reason_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _ended(
        "Failed", FailureReason="AlgorithmError: framework error: \nTraceback (most recent call last):\n  x"
    )
    code, out, err = _run(_EndedJob(doc), capsys)
    assert code == 1
    assert "Training seconds" not in out
    assert err.splitlines()[-2] == (
        "Error for Training job j: Failed. Reason: AlgorithmError: framework error: \\n"
        "Traceback (most recent call last):\\n  x"
    )
    # sagelocal's own line naming the root error; past the 1,024-character cut here and not in the log
    assert err.splitlines()[-1] == (
        "sagelocal: the error is past the 1,024 characters SageMaker keeps; see the end of the job's log"
    )
    doc = _ended(
        "Failed",
        FailureReason='AlgorithmError: framework error: \nTraceback (most recent call last):\n  File "/m", line 1'
        ", in f\n    g()\nsagemaker_algorithm_toolkit.exceptions.UserError: bad\n\nbad, exit code: 1",
    )
    code, _, err = _run(_EndedJob(doc), capsys)
    assert err.splitlines()[-1] == "sagelocal: the algorithm failed with UserError: bad"
    code, _, err = _run(_EndedJob(_ended("Failed")), capsys)
    assert err.splitlines()[-1] == "Error for Training job j: Failed. Reason: (No reason provided)"


def test_stopped_job_warns_like_the_sdk_and_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _ended("Stopped", TrainingTimeInSeconds=7, BillableTimeInSeconds=7)
    code, out, err = _run(_EndedJob(doc), capsys)
    assert code == 3
    assert out.endswith("Training seconds: 7\nBillable seconds: 7\n")
    assert err.splitlines()[-1] == (
        "Job ended with status 'Stopped' rather than 'Completed'. This could mean the job timed out or "
        "stopped early for some other reason: Consider checking whether it completed as you expect."
    )


def test_interrupt_while_watching_leaves_the_job_running(capsys: pytest.CaptureFixture[str]) -> None:
    backend = _EndedJob(_ended("Completed"), interrupt=True)
    code, _, err = _run(backend, capsys)
    assert code == 130
    assert len(backend.created) == 1
    assert err.splitlines()[-1] == (
        "sagelocal: interrupted; training job j keeps running. "
        "Stop it with: sagelocal jobs stop j --backend local"
    )


def test_a_command_whose_module_is_missing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import sagelocal.cli.app as app_module

    commands = dict(app_module.COMMANDS)
    commands["image"] = ("sagelocal.cli.no_such_module", "image_app", "group", "Build images.")
    monkeypatch.setattr(app_module, "COMMANDS", commands)
    result = invoke("image", "build", "--version", "1.7-1")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "sagelocal image: not available in this installation (sagelocal.cli.no_such_module: "
        "ModuleNotFoundError: No module named 'sagelocal.cli.no_such_module')"
    )
    assert re.search(r"^  image +Build images\.$", invoke("--help").output, re.M)  # columns fit the longest name


@pytest.mark.parametrize(
    ("backend_name", "download", "local_line"),
    [("sagemaker", True, True), ("sagemaker", False, False), ("local", False, True)],
)
def test_model_download_per_backend(backend_name: str, download: bool, local_line: bool) -> None:
    from sagelocal.cli.train import run_job

    backend = _EndedJob(
        _ended("Completed", ModelArtifacts={"S3ModelArtifacts": "s3://b/j/output/model.tar.gz"})
    )
    backend.name = backend_name
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert run_job(backend, {"TrainingJobName": "j"}, wait=True, as_json=False, download=download) == 0
    lines = out.getvalue().splitlines()
    assert lines[-1 - local_line] == "Model artifacts: s3://b/j/output/model.tar.gz"
    assert (lines[-1] == f"Local file: {config.home() / 'artifacts' / 'j' / 'model.tar.gz'}") is local_line
