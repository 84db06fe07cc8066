"""Training on several hosts (InstanceCount > 1) with the local backend: one algorithm process per host, each
with its own layout and resourceconfig.json, training through XGBoost's collective."""

from __future__ import annotations

import json
import os
import re
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from support.builders import make_request, write_csv
from support.reliability_cases import algorithm_pids, alive, supervisor_pid

from sagelocal.config import StatePaths
from sagelocal.contract import read_layout
from sagelocal.service.logstore import TRAINING_LOG_GROUP
from sagelocal.service.training.layout import host_share, resource_config

pytestmark = pytest.mark.timeout(300)


def _upload_parts(backend: Any, tmp_path: Path, parts: int, rows: int = 300) -> str:
    for i in range(parts):
        write_csv(tmp_path / "parts" / f"part-{i}.csv", rows, seed=i)
    return backend.upload_input(tmp_path / "parts", "s3://bucket/dist/train")


def _request(name: str, train: str, hosts: int, distribution: str, **hps: str) -> dict[str, Any]:
    req = make_request(name, {"train": train}, **hps)
    req["ResourceConfig"]["InstanceCount"] = hosts
    req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = distribution
    return req


def _wait(backend: Any, name: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = backend.describe_training_job(name)
        if desc["TrainingJobStatus"] not in ("InProgress", "Stopping"):
            return desc
        time.sleep(0.1)
    raise AssertionError(f"{name} did not end within {timeout} s")


def _streams(backend: Any, name: str) -> dict[str, list[str]]:
    """Host -> the messages of its log stream."""
    logs = backend.emulator.logs
    found = logs.describe_log_streams(TRAINING_LOG_GROUP, prefix=f"{name}/")["logStreams"]
    result = {}
    for stream in found:
        host = re.fullmatch(rf"{name}/(algo-\d+)-\d+", stream["logStreamName"])
        assert host, stream["logStreamName"]
        events = logs.get_log_events(TRAINING_LOG_GROUP, stream["logStreamName"], start_from_head=True)
        result[host.group(1)] = [e["message"] for e in events["events"]]
    return result


def _files_read(messages: list[str]) -> list[str]:
    """The channel files a host's algorithm linked for reading (the image logs one line per file)."""
    found = []
    for m in messages:
        hit = re.search(r"creating symlink between Path /opt/ml/input/data/train/(\S+) and destination", m)
        if hit:
            found.append(hit.group(1))
    return sorted(found)


def test_sharded_by_s3_key_gives_each_host_its_round_robin_share(
    backend: Any, home: Path, tmp_path: Path
) -> None:
    train = _upload_parts(backend, tmp_path, 4)
    backend.create_training_job(_request("sharded", train, 2, "ShardedByS3Key"))
    desc = _wait(backend, "sharded")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")

    streams = _streams(backend, "sharded")
    assert sorted(streams) == ["algo-1", "algo-2"]
    assert _files_read(streams["algo-1"]) == ["part-0.csv", "part-2.csv"]
    assert _files_read(streams["algo-2"]) == ["part-1.csv", "part-3.csv"]
    for host in ("algo-1", "algo-2"):
        assert ":INFO] Distributed node training with 2 hosts: ['algo-1', 'algo-2']" in "\n".join(
            streams[host]
        )
        assert any(m.endswith("] Train matrix has 600 rows and 4 columns") for m in streams[host])
    # XGBoost's EvaluationMonitor prints on rank 0 only: the master's stream holds the metric lines.
    assert sum(m.startswith("[4]#011train-logloss:") for m in streams["algo-1"]) == 1
    assert not any(re.match(r"\[\d+\]#011", m) for m in streams["algo-2"])
    assert "FINAL_MODEL_SAVE: Saving final model as master" in streams["algo-1"]
    assert "FINAL_MODEL_DEBUG: is_master=False, model_dir=/opt/ml/model" in streams["algo-2"]
    assert "FINAL_MODEL_SAVE: Saving final model as master" not in streams["algo-2"]

    # One model: the master's. The other host saved none.
    paths = StatePaths(home)
    assert os.listdir(paths.host_dir("sharded", "algo-1") / "model") == ["xgboost-model"]
    assert os.listdir(paths.host_dir("sharded", "algo-2") / "model") == []
    tarball = home / "s3" / "bucket" / "xgb" / "output" / "sharded" / "output" / "model.tar.gz"
    with tarfile.open(tarball) as tar:
        assert tar.getnames() == ["xgboost-model"]


def test_fully_replicated_gives_every_host_all_objects(backend: Any, tmp_path: Path) -> None:
    train = _upload_parts(backend, tmp_path, 4, rows=100)
    backend.create_training_job(_request("replicated", train, 2, "FullyReplicated"))
    desc = _wait(backend, "replicated")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    streams = _streams(backend, "replicated")
    every = ["part-0.csv", "part-1.csv", "part-2.csv", "part-3.csv"]
    assert _files_read(streams["algo-1"]) == every
    assert _files_read(streams["algo-2"]) == every


def test_each_host_gets_resourceconfig_and_sm_variables_as_the_platform_writes_them(
    backend: Any, home: Path, tmp_path: Path
) -> None:
    train = _upload_parts(backend, tmp_path, 2, rows=100)
    backend.create_training_job(_request("config", train, 2, "FullyReplicated"))
    assert _wait(backend, "config")["TrainingJobStatus"] == "Completed"
    paths = StatePaths(home)
    for host in ("algo-1", "algo-2"):
        root = paths.host_dir("config", host)
        written = json.loads((root / "input" / "config" / "resourceconfig.json").read_text())
        assert written == {
            "current_host": host,
            "current_instance_type": "ml.m5.xlarge",
            "current_group_name": "homogeneousCluster",
            "hosts": ["algo-1", "algo-2"],
            "instance_groups": [
                {
                    "instance_group_name": "homogeneousCluster",
                    "instance_type": "ml.m5.xlarge",
                    "hosts": ["algo-1", "algo-2"],
                }
            ],
            "network_interface_name": "eth0",
        }
        env = read_layout(root).sm_env({})
        assert env["SM_HOSTS"] == '["algo-1", "algo-2"]'
        assert env["SM_CURRENT_HOST"] == host
        assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0"
    # algo-1's layout is the job's folder; the others live beside it, never inside what algo-1 mounts.
    assert paths.host_dir("config", "algo-1") == paths.job_dir("config")
    assert paths.host_dir("config", "algo-2") == home / "jobs" / "config.hosts" / "algo-2"


def test_a_host_without_data_leaves_the_collective_and_the_job_completes(
    backend: Any, tmp_path: Path
) -> None:
    train = _upload_parts(backend, tmp_path, 2, rows=200)
    backend.create_training_job(_request("nodata", train, 3, "ShardedByS3Key"))
    desc = _wait(backend, "nodata")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    streams = _streams(backend, "nodata")
    third = "\n".join(streams["algo-3"])
    assert _files_read(streams["algo-3"]) == []
    assert (
        ":WARNING] Host algo-3 does not have training data. Will broadcast to cluster and this host algo-3 will "
        "not be used in distributed training. Please divide the training data across instances properly. See "
        "https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html"
        "#Instance-XGBoost-distributed-training-divide-data. "
    ) in third
    assert ":WARNING] Host algo-3 not being used for distributed training." in third
    assert "TRAIN_JOB_DEBUG" not in third
    # The two hosts with data train together; algo-1 is still the master.
    assert "FINAL_MODEL_SAVE: Saving final model as master" in streams["algo-1"]
    assert "TRAIN_JOB_DEBUG: Received is_master=False" in streams["algo-2"]


def _host_pid(home: Path, name: str, host: str, timeout: float = 120) -> int:
    """The algorithm process of ``host`` (its working directory is the host's layout)."""
    target = os.path.realpath(StatePaths(home).host_dir(name, host))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in algorithm_pids(home, name):
            try:
                if os.path.realpath(f"/proc/{pid}/cwd") == target:
                    return pid
            except OSError:
                continue
        time.sleep(0.05)
    raise AssertionError(f"no algorithm process for {host}")


def _wait_for_master_rounds(backend: Any, name: str, rounds: int = 5, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = backend.get_log_events(name)
        if sum(1 for e in events if re.match(r"\[\d+\]#011", e["message"])) >= rounds:
            return
        time.sleep(0.05)
    raise AssertionError("training did not start")


def _assert_nothing_left(home: Path, name: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and algorithm_pids(home, name):
        time.sleep(0.1)
    assert algorithm_pids(home, name) == []
    pid = supervisor_pid(home, name)
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    assert not alive(pid)


def test_killing_one_host_fails_the_job_naming_that_host_and_stops_the_others(
    backend: Any, home: Path, tmp_path: Path
) -> None:
    train = _upload_parts(backend, tmp_path, 2, rows=400)
    backend.create_training_job(_request("killed", train, 2, "ShardedByS3Key", num_round="100000"))
    victim = _host_pid(home, "killed", "algo-2")
    _wait_for_master_rounds(backend, "killed")
    os.kill(victim, 9)
    killed_at = time.monotonic()
    desc = _wait(backend, "killed", timeout=30)
    assert time.monotonic() - killed_at < 10
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"] == (
        "AlgorithmError: The algorithm process on algo-2 was killed by signal 9 (SIGKILL) and wrote no failure "
        "reason, exit code: 137"
    )
    _assert_nothing_left(home, "killed")


def test_stop_ends_every_host(backend: Any, home: Path, tmp_path: Path) -> None:
    train = _upload_parts(backend, tmp_path, 2, rows=400)
    backend.create_training_job(_request("stopped", train, 2, "ShardedByS3Key", num_round="100000"))
    _host_pid(home, "stopped", "algo-2")
    _wait_for_master_rounds(backend, "stopped")
    backend.stop_training_job("stopped")
    desc = _wait(backend, "stopped", timeout=30)
    assert desc["TrainingJobStatus"] == "Stopped"
    _assert_nothing_left(home, "stopped")


def test_max_runtime_ends_every_host(backend: Any, home: Path, tmp_path: Path) -> None:
    train = _upload_parts(backend, tmp_path, 2, rows=400)
    req = _request("timeout", train, 2, "ShardedByS3Key", num_round="100000")
    req["StoppingCondition"]["MaxRuntimeInSeconds"] = 20
    backend.create_training_job(req)
    desc = _wait(backend, "timeout", timeout=90)
    assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    _assert_nothing_left(home, "timeout")


def test_host_share_deals_objects_round_robin_in_key_order() -> None:
    items = [("b", f"k{i}", f"k{i}") for i in range(5)]
    hosts = ["algo-1", "algo-2", "algo-3"]
    assert [i[1] for i in host_share(items, "ShardedByS3Key", "algo-1", hosts)] == ["k0", "k3"]
    assert [i[1] for i in host_share(items, "ShardedByS3Key", "algo-2", hosts)] == ["k1", "k4"]
    assert [i[1] for i in host_share(items, "ShardedByS3Key", "algo-3", hosts)] == ["k2"]
    assert host_share(items, "FullyReplicated", "algo-3", hosts) == items


def test_resource_config_names_the_current_host() -> None:
    req = {"ResourceConfig": {"InstanceCount": 3, "InstanceType": "ml.m5.xlarge"}}
    config = resource_config(req, "algo-3")
    assert config["current_host"] == "algo-3"
    assert config["hosts"] == ["algo-1", "algo-2", "algo-3"]
