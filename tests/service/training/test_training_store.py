"""Training-job records and their state machine: real SQLite, real processes (no algorithm needed here;
tests/backends/test_local_backend.py runs whole jobs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.training_jobs import request, statuses

from sagelocal.aws.errors import ResourceInUse, ValidationException
from sagelocal.config import StatePaths
from sagelocal.service.db import Database
from sagelocal.service.execution.procs import process_start_time
from sagelocal.service.training import store as jobs
from sagelocal.service.training.store import JobStore


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(Database(StatePaths(tmp_path).database))


def test_insert_and_duplicate_name(store: JobStore) -> None:
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


def test_happy_path_transitions_have_end_times(store: JobStore) -> None:
    store.insert("job-1", "process", request())
    for step in (jobs.PREPARING, jobs.DOWNLOADING, jobs.DOWNLOADING_IMAGE, jobs.TRAINING, jobs.UPLOADING):
        assert store.advance("job-1", step)
    record = store.finish("job-1", "Completed", final_metrics=[])
    assert statuses(record) == [
        "Starting - Starting the training job",
        "Starting - Preparing the instances for training",
        "Downloading - Downloading input data",
        "Downloading - Downloading the training image",
        "Training - Training image download completed. Training in progress.",
        "Uploading - Uploading generated training model",
        "Completed - Training job completed",
    ]
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


def test_stop_requests(store: JobStore) -> None:
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


def test_max_runtime_and_failure_endings(store: JobStore) -> None:
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


# --- dead workers --------------------------------------------------------------------------------


def test_dead_worker_is_detected_and_job_fails(store: JobStore) -> None:
    store.insert("job-1", "process", request())
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.set_supervisor("job-1", proc.pid, process_start_time(proc.pid))
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


def test_reused_pid_counts_as_dead(store: JobStore) -> None:
    """A pid now owned by another process (different start time) is not the job's worker."""
    store.insert("job-1", "process", request())
    store.set_supervisor("job-1", os.getpid(), "12345")  # our pid, but not our start time
    assert process_start_time(os.getpid()) != "12345"
    assert store.reap_if_dead(store.require("job-1")).status == "Failed"
