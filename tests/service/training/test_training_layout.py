"""The container layout the platform builds from a CreateTrainingJob request: real files, hardlinked data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.training_jobs import IMAGE, request

from sagelocal.config import StatePaths
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training.layout import LayoutError, build_layout, save_checkpoints


def test_build_layout_configs_and_hardlinked_data(tmp_path: Path) -> None:
    objects = ObjectStore(StatePaths(tmp_path).objects)
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
    objects = ObjectStore(StatePaths(tmp_path).objects)
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


def test_build_layout_leaves_pipe_channels_to_the_fifo_feeder(tmp_path: Path) -> None:
    """A Pipe channel is checked here but gets no folder and no file: it is streamed through the FIFO
    ``train_0`` during training (service/execution/pipes.py, tests/service/execution/test_pipes.py)."""
    objects = ObjectStore(StatePaths(tmp_path).objects)
    objects.create_bucket("bucket")
    objects.put_object("bucket", "data/train/a.csv", b"1,1\n")
    req = request(AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "Pipe"})
    build_layout(tmp_path / "ml", req, objects)
    assert not (tmp_path / "ml" / "input" / "data" / "train_0").exists()
    assert not (tmp_path / "ml" / "input" / "data" / "train").exists()


def test_checkpoints_restored_before_and_saved_after(tmp_path: Path) -> None:
    objects = ObjectStore(StatePaths(tmp_path).objects)
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


def test_build_layout_writes_the_debugger_configs_smdebug_reads(tmp_path: Path) -> None:
    """The platform writes debughookconfig.json / profilerconfig.json / tensorboardoutputconfig.json for a
    request's DebugHookConfig / ProfilerConfig / TensorBoardOutputConfig (smdebug reads them from
    /opt/ml/input/config; DebugHookConfig.LocalPath defaults to /opt/ml/output/tensors in the API reference)."""
    objects = ObjectStore(StatePaths(tmp_path).objects)
    objects.create_bucket("bucket")
    objects.put_object("bucket", "data/train", b"1,2\n")
    hook = {"CollectionConfigurations": [], "S3OutputPath": "s3://bucket/out/"}
    profiler = {"DisableProfiler": False, "S3OutputPath": "s3://bucket/out/"}
    root = tmp_path / "ml"
    build_layout(root, request(DebugHookConfig=hook, ProfilerConfig=profiler), objects)
    cfg = root / "input" / "config"
    assert json.loads((cfg / "debughookconfig.json").read_text()) == {
        "LocalPath": "/opt/ml/output/tensors",
        **hook,
    }
    assert json.loads((cfg / "profilerconfig.json").read_text()) == profiler
    assert not (cfg / "tensorboardoutputconfig.json").exists()

    plain = tmp_path / "plain"
    build_layout(plain, request(), objects)
    assert sorted(p.name for p in (plain / "input" / "config").iterdir()) == [
        "hyperparameters.json",
        "inputdataconfig.json",
        "resourceconfig.json",
    ]
