"""Pipe-mode channels through a real FIFO and checkpoints synced during training (service/execution).

SageMaker streams a Pipe channel through ``/opt/ml/input/data/<channel>_<epoch>`` and the open-source images
read ``<channel>_0`` (aws/sagemaker-xgboost-container ``data_utils.py``: ``mlio.SageMakerPipe``,
``get_size``: ``os.path.exists(f"{data_path}_0")``). Checkpoints under CheckpointConfig.LocalPath are copied
to CheckpointConfig.S3Uri while the job runs (SageMaker developer guide, "Use checkpoints in Amazon SageMaker").
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

from support.builders import make_request

from sagelocal.config import StatePaths
from sagelocal.service.execution.checkpoint_sync import CheckpointSync
from sagelocal.service.execution.pipes import start_pipes
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training.layout import build_layout


def _pipe_request(uri: str = "s3://bucket/data/train") -> dict[str, Any]:
    req = make_request("p", {"train": uri})
    req["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    return req


def test_pipe_channel_is_a_fifo_that_streams_the_objects_in_key_order(tmp_path: Path) -> None:
    objects = ObjectStore(StatePaths(tmp_path).objects)
    objects.create_bucket("bucket")
    objects.put_object("bucket", "data/train/b.csv", b"0,2\n")
    objects.put_object("bucket", "data/train/a.csv", b"1,1\n")
    root = tmp_path / "ml"
    build_layout(root, _pipe_request(), objects)
    feeder = start_pipes(root, _pipe_request(), objects)
    try:
        fifo = root / "input" / "data" / "train_0"
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        with open(fifo, "rb") as f:
            assert f.read() == b"1,1\n0,2\n"
    finally:
        feeder.stop()
    assert not fifo.exists()


def test_a_pipe_nobody_reads_does_not_hold_the_job(tmp_path: Path) -> None:
    objects = ObjectStore(StatePaths(tmp_path).objects)
    objects.create_bucket("bucket")
    objects.put_object("bucket", "data/train/a.csv", b"1,1\n")
    root = tmp_path / "ml"
    build_layout(root, _pipe_request(), objects)
    feeder = start_pipes(root, _pipe_request(), objects)
    started = time.monotonic()
    feeder.stop()
    assert time.monotonic() - started < 2


def test_pipe_mode_job_trains_from_the_fifo(backend: Any, inputs: dict[str, str]) -> None:
    request = make_request("xgb-pipe", inputs)
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    backend.create_training_job(request)
    desc = backend.wait("xgb-pipe", timeout=180)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    messages = [e["message"] for e in backend.get_log_events("xgb-pipe")]
    assert any(m.endswith(":INFO] Pipe path /opt/ml/input/data/train found.") for m in messages)
    assert any(m.endswith(":INFO] Pipe path /opt/ml/input/data/validation found.") for m in messages)
    assert any(m.endswith(":INFO] files path: ['/opt/ml/input/data/train']") for m in messages)
    assert not any("Determined delimiter" in m for m in messages)  # mlio reads ',' without sniffing
    assert sum(1 for m in messages if m.startswith("[4]#011train-logloss:")) == 1


def test_checkpoints_reach_s3_while_the_job_runs(tmp_path: Path) -> None:
    objects = ObjectStore(StatePaths(tmp_path).objects)
    objects.create_bucket("bucket")
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    sync = CheckpointSync(folder, "s3://bucket/ckpt/", objects, interval=0.05).start()
    try:
        (folder / "xgboost-checkpoint.0").write_bytes(b"zero")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if [o.key for o in objects.iter_objects("bucket", "ckpt/")] == ["ckpt/xgboost-checkpoint.0"]:
                break
            time.sleep(0.05)
        with objects.open_object("bucket", "ckpt/xgboost-checkpoint.0") as f:
            assert f.read() == b"zero"
        sync.stop()  # the rest checks one scan at a time
        (folder / "xgboost-checkpoint.0").write_bytes(b"zero, rewritten")
        (folder / "xgboost-checkpoint.1").write_bytes(b"one")
        assert sync.sync_once() == 2
        assert sync.sync_once() == 0  # nothing changed since
        with objects.open_object("bucket", "ckpt/xgboost-checkpoint.0") as f:
            assert f.read() == b"zero, rewritten"
    finally:
        sync.stop()


def test_checkpoint_sync_never_follows_a_link_out_of_the_folder(tmp_path: Path) -> None:
    objects = ObjectStore(StatePaths(tmp_path).objects)
    objects.create_bucket("bucket")
    secret = tmp_path / "host"
    secret.mkdir()
    (secret / "secret.txt").write_bytes(b"host file")
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "link.txt").symlink_to(secret / "secret.txt")
    (folder / "linked-dir").symlink_to(secret)
    (folder / "sub").mkdir()
    (folder / "sub" / "xgboost-checkpoint.2").write_bytes(b"two")
    sync = CheckpointSync(folder, "s3://bucket/ckpt", objects)
    assert sync.sync_once() == 1
    assert [o.key for o in objects.iter_objects("bucket")] == ["ckpt/sub/xgboost-checkpoint.2"]


def test_pipe_feeder_writes_nothing_when_the_fifo_was_replaced_by_a_link(tmp_path: Path) -> None:
    objects = ObjectStore(StatePaths(tmp_path).objects)
    objects.create_bucket("bucket")
    objects.put_object("bucket", "data/train/a.csv", b"1,1\n")
    target = tmp_path / "host.txt"
    target.write_bytes(b"untouched")
    root = tmp_path / "ml"
    build_layout(root, _pipe_request(), objects)
    feeder = start_pipes(root, _pipe_request(), objects)
    fifo = root / "input" / "data" / "train_0"
    fifo.unlink()
    fifo.symlink_to(target)  # what an algorithm could do before opening its pipe
    time.sleep(0.3)
    feeder.stop()
    assert target.read_bytes() == b"untouched"
