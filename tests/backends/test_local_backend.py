"""Whole training jobs through the local backend: real SQLite, real supervisor and algorithm processes, small
generated CSV data."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from support.builders import HAPPY_PATH, make_request, transitions, wait_until_training

from sagelocal.aws.errors import ResourceInUse, ValidationException
from sagelocal.backends.base import Backend
from sagelocal.backends.local import LocalBackend


def test_backend_protocol(backend: LocalBackend) -> None:
    assert isinstance(backend, Backend)
    assert backend.name == "local"


def test_full_lifecycle(backend: LocalBackend, inputs: dict[str, str]) -> None:
    created = backend.create_training_job(make_request("xgb-ok", inputs))
    assert created == {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/xgb-ok"}
    desc = backend.wait("xgb-ok", timeout=120)

    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["SecondaryStatus"] == "Completed"
    assert transitions(desc) == HAPPY_PATH
    assert "EndTime" not in desc["SecondaryStatusTransitions"][-1]
    model_uri = "s3://bucket/xgb/output/xgb-ok/output/model.tar.gz"
    assert desc["ModelArtifacts"] == {"S3ModelArtifacts": model_uri}
    assert desc["TrainingTimeInSeconds"] >= 1
    assert desc["BillableTimeInSeconds"] == desc["TrainingTimeInSeconds"]
    assert desc["TrainingStartTime"] <= desc["TrainingEndTime"]

    archive = backend.fetch_artifact(model_uri, Path("unused"))
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["xgboost-model"]

    events = backend.get_log_events("xgb-ok")
    assert events, "the algorithm's output reaches the log store"
    streams = {e["logStreamName"] for e in events}
    assert len(streams) == 1 and re.fullmatch(r"xgb-ok/algo-1-\d{10}", streams.pop())
    messages = [e["message"] for e in events]
    round_lines = [m for m in messages if re.match(r"\[\d+\]#011train-logloss:", m)]
    assert len(round_lines) == 5
    assert all("\t" not in m for m in messages)
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)
    later = backend.get_log_events("xgb-ok", start_time=timestamps[-1])
    assert later and all(e["timestamp"] >= timestamps[-1] for e in later)

    # FinalMetricDataList comes from the last round's line.
    last = round_lines[-1]
    finals = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    assert finals["train:logloss"] == float(re.search(r"#011train-logloss:(\S+?)(#|$)", last).group(1))
    assert "validation:logloss" in finals

    # The job's layout is the /opt/ml the platform prepares.
    ml = backend.emulator.job_dir("xgb-ok")
    assert (ml / "input" / "config" / "hyperparameters.json").exists()
    assert (ml / "input" / "data" / "train" / "train.csv").exists()


def test_failed_job_reports_the_algorithm_error(backend: LocalBackend, inputs: dict[str, str]) -> None:
    backend.create_training_job(make_request("xgb-silent", inputs, silent="0"))
    desc = backend.wait("xgb-silent", timeout=120)
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["SecondaryStatus"] == "Failed"
    assert transitions(desc)[-1] == "Failed - Training job failed"
    # The open-source image's failure: sagemaker-containers' "framework error" and traceback; the toolkit's
    # KeyError comes first ("During handling …"), and the cut at 1,024 characters falls before the UserError.
    reason = desc["FailureReason"]
    assert reason.startswith("AlgorithmError: framework error: \nTraceback (most recent call last):\n")
    assert "    hyperparameter_obj = self.hyperparameters[hp]\nKeyError: 'silent'\n" in reason
    assert len(reason) == 1024


def test_missing_input_data_fails_the_job_not_the_request(
    backend: LocalBackend, inputs: dict[str, str]
) -> None:
    request = make_request("xgb-nodata", {"train": "s3://bucket/nothing-here"})
    backend.create_training_job(request)
    desc = backend.wait("xgb-nodata", timeout=60)
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith(
        'ClientError: Data download failed:No S3 objects found under S3 URL "s3://bucket/nothing-here"'
    )
    assert transitions(desc)[-2:] == ["Downloading - Downloading input data", "Failed - Training job failed"]


def test_unknown_image_fails_with_a_pointer_to_docker(backend: LocalBackend, inputs: dict[str, str]) -> None:
    request = make_request("custom-image", inputs)
    request["AlgorithmSpecification"]["TrainingImage"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    backend.create_training_job(request)
    desc = backend.wait("custom-image", timeout=60)
    assert desc["TrainingJobStatus"] == "Failed"
    assert "--backend docker" in desc["FailureReason"]
    assert transitions(desc)[-2] == "Downloading - Downloading the training image"


def test_duplicate_name(backend: LocalBackend, inputs: dict[str, str]) -> None:
    backend.create_training_job(make_request("xgb-dup", inputs))
    with pytest.raises(ResourceInUse) as e:
        backend.create_training_job(make_request("xgb-dup", inputs))
    assert str(e.value) == (
        "ResourceInUse: Training job names must be unique within an AWS account and region, and a training "
        "job with this name already exists"
    )
    backend.wait("xgb-dup", timeout=120)


def test_unknown_job(backend: LocalBackend) -> None:
    for call in (backend.describe_training_job, backend.stop_training_job):
        with pytest.raises(ValidationException) as e:
            call("no-such-job")
        assert e.value.message == "Requested resource not found."


def test_stop_keeps_the_model_saved_on_termination(backend: LocalBackend, inputs: dict[str, str]) -> None:
    request = make_request("xgb-stop", inputs, num_round="100000", save_model_on_termination="true")
    backend.create_training_job(request)
    wait_until_training(backend, "xgb-stop")
    backend.stop_training_job("xgb-stop")
    assert backend.describe_training_job("xgb-stop")["TrainingJobStatus"] in ("Stopping", "Stopped")
    desc = backend.wait("xgb-stop", timeout=60)
    assert desc["TrainingJobStatus"] == "Stopped"
    assert desc["SecondaryStatus"] == "Stopped"
    assert transitions(desc)[-2:] == [
        "Stopping - Stopping the training job",
        "Stopped - Training job stopped",
    ]
    assert "FailureReason" not in desc
    archive = backend.fetch_artifact(desc["ModelArtifacts"]["S3ModelArtifacts"], Path("unused"))
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["xgboost-model"]
    with pytest.raises(ValidationException) as e:
        backend.stop_training_job("xgb-stop")
    assert e.value.message == "The request was rejected because the training job is in status Stopped."


def test_stop_right_after_create(backend: LocalBackend, inputs: dict[str, str]) -> None:
    backend.create_training_job(make_request("xgb-stop-early", inputs, num_round="100000"))
    backend.stop_training_job("xgb-stop-early")
    desc = backend.wait("xgb-stop-early", timeout=60)
    assert desc["TrainingJobStatus"] == "Stopped"
    assert transitions(desc)[-1] == "Stopped - Training job stopped"


def test_max_runtime_exceeded(backend: LocalBackend, inputs: dict[str, str]) -> None:
    request = make_request("xgb-slow", inputs, num_round="1000000")
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 1}
    backend.create_training_job(request)
    desc = backend.wait("xgb-slow", timeout=60)
    assert desc["TrainingJobStatus"] == "Stopped"
    assert desc["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert transitions(desc)[-2:] == [
        "Stopping - Stopping the training job",
        "MaxRuntimeExceeded - Training job runtime exceeded MaxRuntimeInSeconds provided",
    ]


def _algorithm_processes(ml_root: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(ml_root).encode() in cmdline and b"train" in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dead_worker_fails_the_job(backend: LocalBackend, inputs: dict[str, str]) -> None:
    backend.create_training_job(make_request("xgb-killed", inputs, num_round="100000"))
    wait_until_training(backend, "xgb-killed")
    record = backend.emulator.jobs.require("xgb-killed")
    assert record.supervisor_pid is not None
    os.kill(record.supervisor_pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        desc = backend.describe_training_job("xgb-killed")
        if desc["TrainingJobStatus"] != "InProgress":
            break
        time.sleep(0.05)
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"] == (
        f"sagelocal: the job's worker process (pid {record.supervisor_pid}) exited unexpectedly; "
        "the job cannot continue."
    )
    assert transitions(desc)[-1] == "Failed - Training job failed"
    # The algorithm does not outlive its supervisor.
    ml_root = backend.emulator.job_dir("xgb-killed")
    while _algorithm_processes(ml_root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _algorithm_processes(ml_root) == []


def test_another_process_sees_earlier_jobs(backend: LocalBackend, inputs: dict[str, str]) -> None:
    backend.create_training_job(make_request("xgb-restart", inputs))
    backend.wait("xgb-restart", timeout=120)
    code = (
        "import sys; from pathlib import Path; from sagelocal.backends.local import LocalBackend; "
        "b = LocalBackend(home=Path(sys.argv[1])); d = b.describe_training_job('xgb-restart'); "
        "print(d['TrainingJobStatus'], len(b.get_log_events('xgb-restart')) > 0, "
        "[s['TrainingJobName'] for s in b.list_training_jobs()['TrainingJobSummaries']])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(backend.emulator.home)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "Completed True ['xgb-restart']"


def test_list_training_jobs(backend: LocalBackend, inputs: dict[str, str]) -> None:
    for name in ("list-b", "list-a", "other-c"):
        backend.create_training_job(make_request(name, inputs, num_round="2"))
    for name in ("list-b", "list-a", "other-c"):
        backend.wait(name, timeout=120)
    result = backend.list_training_jobs()
    assert [s["TrainingJobName"] for s in result["TrainingJobSummaries"]] == ["other-c", "list-a", "list-b"]
    assert "NextToken" not in result
    summary = result["TrainingJobSummaries"][0]
    assert set(summary) == {
        "TrainingJobName",
        "TrainingJobArn",
        "CreationTime",
        "TrainingEndTime",
        "LastModifiedTime",
        "TrainingJobStatus",
        "SecondaryStatus",
    }
    by_name = backend.list_training_jobs(NameContains="LIST", SortBy="Name", SortOrder="Ascending")
    assert [s["TrainingJobName"] for s in by_name["TrainingJobSummaries"]] == ["list-a", "list-b"]
    page = backend.list_training_jobs(MaxResults=2, SortBy="Name", SortOrder="Ascending")
    assert [s["TrainingJobName"] for s in page["TrainingJobSummaries"]] == ["list-a", "list-b"]
    rest = backend.list_training_jobs(
        MaxResults=2, SortBy="Name", SortOrder="Ascending", NextToken=page["NextToken"]
    )
    assert [s["TrainingJobName"] for s in rest["TrainingJobSummaries"]] == ["other-c"]
    assert "NextToken" not in rest
    assert backend.list_training_jobs(StatusEquals="Failed")["TrainingJobSummaries"] == []
    created = backend.describe_training_job("list-a")["CreationTime"]
    after = backend.list_training_jobs(CreationTimeAfter=created)
    assert [s["TrainingJobName"] for s in after["TrainingJobSummaries"]] == ["other-c"]
    with pytest.raises(ValidationException) as e:
        backend.list_training_jobs(MaxResults=101)
    assert e.value.message == (
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100"
    )


def test_upload_input_and_default_bucket(backend: LocalBackend, tmp_path: Path) -> None:
    single = tmp_path / "one.csv"
    single.write_text("1,2\n")
    # As the SDK's upload_data: a file's own URI (a folder's upload returns its prefix).
    assert backend.upload_input(single, "s3://bucket-two/prefix/") == "s3://bucket-two/prefix/one.csv"
    assert backend.emulator.objects.head_object("bucket-two", "prefix/one.csv").size == 4
    assert backend.default_bucket() == "sagemaker-us-east-1-123456789012"
    backend.emulator.objects.head_bucket("sagemaker-us-east-1-123456789012")
