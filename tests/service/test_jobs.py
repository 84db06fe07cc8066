"""Job records and their state machine, the /opt/ml layout, artifact packaging: real SQLite, real files, real
processes (no algorithm needed here; tests/test_local_backend.py runs whole jobs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.builders import HAPPY_PATH

from sagelocal.aws.errors import ResourceInUse, ValidationException
from sagelocal.service import jobs
from sagelocal.service.artifacts import extract_tar_gz, has_files, make_tar_gz
from sagelocal.service.db import Database
from sagelocal.service.execution.supervisor import failure_reason
from sagelocal.service.layout import LayoutError, build_layout, save_checkpoints
from sagelocal.service.objectstore import ObjectStore

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def request(name: str = "job-1", **extra: object) -> dict:
    req = {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {"num_round": "3", "objective": "binary:logistic"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data/train"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
    }
    req.update(extra)
    return req


@pytest.fixture
def store(tmp_path: Path) -> jobs.JobStore:
    return jobs.JobStore(Database(tmp_path / "sagelocal.db"))


def statuses(record: jobs.JobRecord) -> list[str]:
    return [f"{t['Status']} - {t['StatusMessage']}" for t in record.transitions]


def test_insert_and_duplicate_name(store: jobs.JobStore) -> None:
    record = store.insert("job-1", "process", request())
    assert record.status == "InProgress"
    assert record.secondary_status == "Starting"
    assert statuses(record) == ["Starting - Starting the training job"]
    assert record.arn == "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1"
    with pytest.raises(ResourceInUse) as e:
        store.insert("job-1", "process", request())
    assert e.value.message == (
        "Training job names must be unique within an AWS account and region, and a training job with this "
        "name already exists"
    )


def test_happy_path_transitions_have_end_times(store: jobs.JobStore) -> None:
    store.insert("job-1", "process", request())
    for step in (jobs.PREPARING, jobs.DOWNLOADING, jobs.DOWNLOADING_IMAGE, jobs.TRAINING, jobs.UPLOADING):
        assert store.advance("job-1", step)
    record = store.finish("job-1", "Completed", final_metrics=[])
    assert statuses(record) == HAPPY_PATH
    assert all("EndTime" in t for t in record.transitions[:-1])
    assert "EndTime" not in record.transitions[-1]
    for earlier, later in zip(record.transitions, record.transitions[1:], strict=False):
        assert earlier["EndTime"] == later["StartTime"]
    assert record.status == "Completed" and record.secondary_status == "Completed"
    # TrainingStartTime is when the instances start working (Downloading); TrainingEndTime the end.
    assert record.training_start_time == record.transitions[2]["StartTime"]
    assert record.training_end_time == record.transitions[-1]["StartTime"]
    # Terminal jobs never change again.
    assert not store.advance("job-1", jobs.UPLOADING)
    assert store.finish("job-1", "Failed", failure_reason="x").status == "Completed"


def test_stop_requests(store: jobs.JobStore) -> None:
    with pytest.raises(ValidationException) as e:
        store.request_stop("nope")
    assert e.value.message == "Requested resource not found."

    store.insert("job-1", "process", request())
    store.advance("job-1", jobs.PREPARING)
    store.request_stop("job-1")
    record = store.require("job-1")
    assert record.status == "Stopping" and record.secondary_status == "Stopping"
    assert not store.advance("job-1", jobs.DOWNLOADING)  # the supervisor winds down instead
    # A job asked to stop ends Stopped even if the algorithm happened to finish.
    record = store.finish("job-1", "Completed")
    assert record.status == "Stopped"
    assert statuses(record)[-2:] == ["Stopping - Stopping the training job", "Stopped - Training job stopped"]
    with pytest.raises(ValidationException) as e:
        store.request_stop("job-1")
    assert e.value.message == "The request was rejected because the training job is in status Stopped."


def test_max_runtime_and_failure_endings(store: jobs.JobStore) -> None:
    store.insert("slow", "process", request("slow"))
    for step in (jobs.PREPARING, jobs.DOWNLOADING, jobs.DOWNLOADING_IMAGE, jobs.TRAINING):
        store.advance("slow", step)
    record = store.finish("slow", "MaxRuntimeExceeded")
    assert record.status == "Stopped" and record.secondary_status == "MaxRuntimeExceeded"
    assert statuses(record)[-2:] == [
        "Stopping - Stopping the training job",
        "MaxRuntimeExceeded - Training job runtime exceeded MaxRuntimeInSeconds provided",
    ]

    store.insert("bad", "process", request("bad"))
    store.advance("bad", jobs.PREPARING)
    record = store.finish("bad", "Failed", failure_reason="ClientError: nope")
    assert record.status == "Failed" and record.failure_reason == "ClientError: nope"
    assert statuses(record)[-1] == "Failed - Training job failed"
    assert record.training_start_time is None and record.training_end_time is None


def test_describe_document(store: jobs.JobStore) -> None:
    store.insert("job-1", "process", request())
    for step in (jobs.PREPARING, jobs.DOWNLOADING, jobs.DOWNLOADING_IMAGE, jobs.TRAINING, jobs.UPLOADING):
        store.advance("job-1", step)
    metric = {"MetricName": "train:logloss", "Value": 0.25, "Timestamp": time.time()}
    doc = jobs.describe_document(store.finish("job-1", "Completed", final_metrics=[metric]))
    assert doc["ModelArtifacts"] == {"S3ModelArtifacts": "s3://bucket/out/job-1/output/model.tar.gz"}
    assert doc["TrainingJobStatus"] == "Completed" and doc["SecondaryStatus"] == "Completed"
    assert "FailureReason" not in doc
    assert doc["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert doc["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is False
    defs = {d["Name"]: d["Regex"] for d in doc["AlgorithmSpecification"]["MetricDefinitions"]}
    assert (
        defs["validation:auc"]
        == r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"
    )
    assert "train:logloss" in defs
    s3 = doc["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert s3["S3DataDistributionType"] == "FullyReplicated"
    assert doc["InputDataConfig"][0]["CompressionType"] == "None"
    assert doc["InputDataConfig"][0]["RecordWrapperType"] == "None"
    assert doc["ResourceConfig"] == {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
    assert doc["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        assert isinstance(doc[key], datetime) and doc[key].tzinfo is UTC
    assert doc["TrainingTimeInSeconds"] == 1 and doc["BillableTimeInSeconds"] == 1
    assert doc["FinalMetricDataList"][0]["MetricName"] == "train:logloss"
    assert doc["FinalMetricDataList"][0]["Value"] == 0.25
    assert doc["EnableNetworkIsolation"] is False and doc["EnableManagedSpotTraining"] is False
    assert "DebugRuleEvaluationStatuses" not in doc and "ProfilerRuleEvaluationStatuses" not in doc
    last = doc["SecondaryStatusTransitions"][-1]
    assert list(last) == ["Status", "StartTime", "StatusMessage"]


def test_metric_tracker_keeps_last_values() -> None:
    tracker = jobs.MetricTracker(jobs.builtin_metric_definitions())
    tracker.feed("[0]#011train-logloss:0.60000#011validation-logloss:0.61000", 1.0)
    tracker.feed("[2022-08-27:00:38:45:INFO] Single node training.", 1.5)
    tracker.feed("[1]#011train-logloss:0.50000#011validation-logloss:0.52000", 2.0)
    tracker.feed("[2]#011train-aft-nloglik:1e-05", 3.0)
    final = {m["MetricName"]: (m["Value"], m["Timestamp"]) for m in tracker.final()}
    assert final == {
        "train:logloss": (0.5, 2.0),
        "validation:logloss": (0.52, 2.0),
        "train:aft-nloglik": (1e-05, 3.0),
    }


def test_builtin_metric_fast_path_matches_the_regexes() -> None:
    """The one-scan parser for built-in jobs gives what SageMaker's 66 regexes give."""
    defs = jobs.builtin_metric_definitions()
    fast = jobs.MetricTracker(defs)
    by_regex = jobs.MetricTracker(defs)
    by_regex._builtin = False  # apply every definition's regex, as SageMaker does
    lines = [
        "[3]#011train-logloss:0.5#011validation-logloss:0.6",
        "x [2]#011train-auc:1e-3 junk",
        "#011train-rmse:1 [4]",
        "[7]#011train-error@0.7:0.1#011train-error:0.2",
        "[1]#011validation-f1_binary:0.9#011validation-f1:0.8",
        "[0]#011train-mae:.5#011train-mae:0.25",
        "[2]#011train-mlogloss:nan",
        "[5]#011train-logloss:0.1#011validation-aft-nloglik:-3.2E+2",
    ]
    for i, line in enumerate(lines):
        fast.feed(line, float(i))
        by_regex.feed(line, float(i))
    assert fast.final() == by_regex.final()
    assert {m["MetricName"] for m in fast.final()} == {
        "train:auc",
        "train:error",
        "train:logloss",
        "train:mae",
        "validation:aft-nloglik",
        "validation:f1",
        "validation:f1_binary",
        "validation:logloss",
    }


def test_failure_reason_wording() -> None:
    text = (
        "framework error: \nTraceback (most recent call last):\n  ...\n"
        "Extraneous hyperparameter found: silent\n"
    )
    assert failure_reason(text, 1) == (
        "AlgorithmError: framework error: \nTraceback (most recent call last):\n  ...\n"
        "Extraneous hyperparameter found: silent, exit code: 1"
    )
    assert failure_reason("ClientError: bad data", 1) == "ClientError: bad data, exit code: 1"
    assert failure_reason(None, 137) == (
        "AlgorithmError: The algorithm process was killed by signal 9 (SIGKILL) and wrote no failure reason, "
        "exit code: 137"
    )
    assert failure_reason(None, 1) == "AlgorithmError: See job logs for more information, exit code: 1"
    assert len(failure_reason("x" * 5000, 1)) == 1024


# --- dead workers --------------------------------------------------------------------------------


def test_dead_worker_is_detected_and_job_fails(store: jobs.JobStore) -> None:
    store.insert("job-1", "process", request())
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.set_supervisor("job-1", proc.pid, jobs.process_start_time(proc.pid))
        record = store.reap_if_dead(store.require("job-1"))
        assert record.status == "InProgress"  # alive: untouched
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        record = store.reap_if_dead(store.require("job-1"))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert record.status == "Failed" and record.secondary_status == "Failed"
    assert record.failure_reason == (
        f"sagelocal: the job's worker process (pid {proc.pid}) exited unexpectedly; the job cannot continue."
    )


def test_reused_pid_counts_as_dead(store: jobs.JobStore) -> None:
    """A pid now owned by another process (different start time) is not the job's worker."""
    store.insert("job-1", "process", request())
    store.set_supervisor("job-1", os.getpid(), "12345")  # our pid, but not our start time
    assert jobs.process_start_time(os.getpid()) != "12345"
    assert store.reap_if_dead(store.require("job-1")).status == "Failed"


def test_zombie_counts_as_dead() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while jobs.process_start_time(proc.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # exited but not yet reaped: a zombie
    assert jobs.process_start_time(proc.pid) is None
    proc.wait()


# --- layout ---------------------------------------------------------------------------------------


def test_build_layout_configs_and_hardlinked_data(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path / "s3")
    objects.create_bucket("bucket")
    objects.put_object("bucket", "data/train/part-1.csv", b"1,2\n")
    objects.put_object("bucket", "data/train/sub/part-2.csv", b"0,3\n")
    objects.put_object("bucket", "data/validation.csv", b"1,1\n")
    objects.put_object("bucket", "data/trainxx.csv", b"9,9\n")  # shares the prefix "data/train"
    req = request(
        CheckpointConfig={"S3Uri": "s3://bucket/ckpt"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "ContentType": "csv",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data/train/"}
                },
            },
            {
                "ChannelName": "validation",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://bucket/data/validation.csv",
                        "S3DataDistributionType": "ShardedByS3Key",
                    }
                },
            },
        ],
    )
    root = tmp_path / "ml"
    build_layout(root, req, objects)
    cfg = root / "input" / "config"
    assert json.loads((cfg / "hyperparameters.json").read_text()) == {
        "num_round": "3",
        "objective": "binary:logistic",
    }
    assert json.loads((cfg / "inputdataconfig.json").read_text()) == {
        "train": {
            "ContentType": "csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        },
        "validation": {
            "TrainingInputMode": "File",
            "S3DistributionType": "ShardedByS3Key",
            "RecordWrapperType": "None",
        },
    }
    assert json.loads((cfg / "resourceconfig.json").read_text()) == {
        "current_host": "algo-1",
        "current_instance_type": "ml.m5.xlarge",
        "current_group_name": "homogeneousCluster",
        "hosts": ["algo-1"],
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": "ml.m5.xlarge",
                "hosts": ["algo-1"],
            }
        ],
        "network_interface_name": "eth0",
    }
    assert json.loads((cfg / "checkpointconfig.json").read_text()) == {
        "LocalPath": "/opt/ml/checkpoints",
        "S3Uri": "s3://bucket/ckpt",
    }
    data = root / "input" / "data"
    files = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    assert files == ["train/part-1.csv", "train/sub/part-2.csv", "validation/validation.csv"]
    linked = data / "train" / "part-1.csv"
    assert linked.read_bytes() == b"1,2\n"
    assert os.stat(linked).st_ino == os.stat(objects.object_path("bucket", "data/train/part-1.csv")).st_ino
    for d in ("model", "output/data", "checkpoints"):
        assert (root / d).is_dir()


def test_build_layout_missing_data_is_a_client_error(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path / "s3")
    with pytest.raises(LayoutError) as e:
        build_layout(tmp_path / "ml", request(), objects)
    assert str(e.value) == (
        'ClientError: Data download failed:No S3 objects found under S3 URL "s3://bucket/data/train" '
        "given in input data source. Please ensure that the bucket exists in the selected region "
        "(us-east-1), that objects exist under that S3 prefix, and that the role "
        '"arn:aws:iam::123456789012:role/SageMakerRole" has "s3:ListBucket" permissions on bucket "bucket".'
    )
    objects.create_bucket("bucket")
    with pytest.raises(LayoutError):  # bucket exists, prefix empty
        build_layout(tmp_path / "ml", request(), objects)


def test_build_layout_pipe_mode_concatenates(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path / "s3")
    objects.create_bucket("bucket")
    objects.put_object("bucket", "data/train/a.csv", b"1,1\n")
    objects.put_object("bucket", "data/train/b.csv", b"0,2\n")
    req = request(AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "Pipe"})
    build_layout(tmp_path / "ml", req, objects)
    assert (tmp_path / "ml" / "input" / "data" / "train_0").read_bytes() == b"1,1\n0,2\n"


def test_checkpoints_restored_before_and_saved_after(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path / "s3")
    objects.create_bucket("bucket")
    objects.put_object("bucket", "data/train/a.csv", b"1,1\n")
    objects.put_object("bucket", "ckpt/xgboost-checkpoint.4", b"four")
    req = request(CheckpointConfig={"S3Uri": "s3://bucket/ckpt/"})
    root = tmp_path / "ml"
    build_layout(root, req, objects)
    assert (root / "checkpoints" / "xgboost-checkpoint.4").read_bytes() == b"four"
    (root / "checkpoints" / "xgboost-checkpoint.5").write_bytes(b"five")
    assert save_checkpoints(root, req, objects) == 2
    with objects.open_object("bucket", "ckpt/xgboost-checkpoint.5") as f:
        assert f.read() == b"five"


# --- artifacts ------------------------------------------------------------------------------------


def test_model_tar_gz_members_are_relative_and_safe(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "xgboost-model").write_bytes(b"model-bytes")
    (model / "extra").mkdir()
    (model / "extra" / "notes.txt").write_text("hi")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not ship")
    (model / "link").symlink_to(secret)
    archive = make_tar_gz(model, tmp_path / "out" / "model.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert sorted(names) == ["extra", "extra/notes.txt", "xgboost-model"]
        assert tar.extractfile("xgboost-model").read() == b"model-bytes"  # type: ignore[union-attr]
    extracted = extract_tar_gz(archive, tmp_path / "x")
    assert sorted(p.name for p in extracted) == ["notes.txt", "xgboost-model"]
    assert has_files(model) and not has_files(tmp_path / "nothing")


def test_extract_refuses_path_traversal(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "p"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="../escaped")
    with pytest.raises(ValueError, match="outside"):
        extract_tar_gz(evil, tmp_path / "dest")
    assert not (tmp_path / "escaped").exists()
