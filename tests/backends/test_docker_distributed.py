"""A job on three hosts with ``--backend docker``: three containers on a user-defined network, hostnames
``algo-1`` … ``algo-3``, resolving each other by name through Docker's DNS as SageMaker's instances do."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from support.builders import make_request, write_csv

from sagelocal.backends.docker import DockerBackend
from sagelocal.service.logstore import TRAINING_LOG_GROUP

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

@pytest.fixture
def backend(own_images: dict[str, str], tmp_path: Path) -> DockerBackend:
    """The docker backend with sagelocal's 3.0-5 image built from the current source (tests/support)."""
    return DockerBackend(home=tmp_path / "home")


def test_three_hosts_in_containers_resolve_each_other_by_name(
    backend: DockerBackend, own_images: dict[str, str], docker_client: Any, tmp_path: Path
) -> None:
    for i in range(3):
        write_csv(tmp_path / "parts" / f"part-{i}.csv", 300, seed=i)
    train = backend.upload_input(tmp_path / "parts", "s3://bucket/dist/train")
    req = make_request("three", {"train": train}, image=own_images["3.0-5"])
    req["ResourceConfig"]["InstanceCount"] = 3
    req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    backend.create_training_job(req)
    deadline = time.monotonic() + 600
    while backend.describe_training_job("three")["TrainingJobStatus"] == "InProgress":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    desc = backend.describe_training_job("three")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")

    logs = backend.emulator.logs
    streams = logs.describe_log_streams(TRAINING_LOG_GROUP, prefix="three/")["logStreams"]
    assert [re.sub(r"-\d+$", "", s["logStreamName"]) for s in streams] == [
        "three/algo-1",
        "three/algo-2",
        "three/algo-3",
    ]
    text = {}
    for stream in streams:
        events = logs.get_log_events(TRAINING_LOG_GROUP, stream["logStreamName"], start_from_head=True)
        text[stream["logStreamName"].split("/")[1][:6]] = "\n".join(e["message"] for e in events["events"])
    for host, log in text.items():
        assert "Distributed node training with 3 hosts: ['algo-1', 'algo-2', 'algo-3']" in log, host
        assert "Train matrix has 300 rows and 4 columns" in log, host
    # The master's tracker listens on algo-1's address on the job network, found by DNS (no loopback map).
    tracker = re.findall(
        r"RabitTracker started, worker_args: \{'dmlc_tracker_port': (\d+), 'dmlc_tracker_uri': '([\d.]+)'\}",
        text["algo-1"],
    )
    assert [port for port, _ in tracker] == ["9099", "9100"]
    assert all(not address.startswith("127.") for _, address in tracker)
    assert "FINAL_MODEL_SAVE: Saving final model as master" in text["algo-1"]
    assert "TRAIN_JOB_DEBUG: Received is_master=False" in text["algo-2"]
    assert "TRAIN_JOB_DEBUG: Received is_master=False" in text["algo-3"]

    # Nothing is left behind: no container, no network.
    assert docker_client.containers.list(all=True, filters={"label": "org.sagelocal.job=three"}) == []
    assert docker_client.networks.list(filters={"label": "org.sagelocal.job=three"}) == []
