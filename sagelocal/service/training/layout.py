"""Build a job's container layout (``sagelocal.contract``) from its CreateTrainingJob request, as the SageMaker
platform does.

The three config JSONs have the shapes the platform writes (reference xgboost-algorithm §1–§2). File-mode
channel data is the S3 objects under the channel's prefix with their relative key paths kept; objects are
hardlinked from the object store (a copy only when linking fails, e.g. across filesystems). A Pipe-mode
channel's objects are checked here and streamed through the FIFO ``<channel>_0`` while the algorithm runs
(``service/execution/pipes.py``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.aws.errors import CLIENT_ERROR, JobFailure, ServiceError
from sagelocal.aws.refs import S3Uri
from sagelocal.contract import (
    CONTAINER_ROOT,
    DEBUG_HOOK_CONFIG_FILE,
    FIRST_HOST,
    PROFILER_CONFIG_FILE,
    TENSORBOARD_CONFIG_FILE,
    ContainerPathError,
    Layout,
    clear_path,
    host_name,
    in_container,
    make_folder,
)
from sagelocal.service.objectstore import ObjectStore

#: checkpointconfig.json's LocalPath when the request names none.
DEFAULT_CHECKPOINT_PATH = str(in_container().checkpoints_dir)


class LayoutError(JobFailure):
    """The input data could not be provided (a ``ClientError``)."""

    def __init__(self, message: str) -> None:
        super().__init__(CLIENT_ERROR, message)


def _no_objects(uri: str, bucket: str, role: str) -> LayoutError:
    return LayoutError(
        f'Data download failed:No S3 objects found under S3 URL "{uri}" given in input data '
        f"source. Please ensure that the bucket exists in the selected region ({config.region()}), that "
        f'objects exist under that S3 prefix, and that the role "{role}" has "s3:ListBucket" permissions on '
        f'bucket "{bucket}".'
    )


def input_data_config(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The input data config file: one object per channel; ``ContentType`` only when the channel set one."""
    default_mode = (request.get("AlgorithmSpecification") or {}).get("TrainingInputMode", "File")
    result: dict[str, dict[str, Any]] = {}
    for ch in request.get("InputDataConfig") or []:
        s3 = (ch.get("DataSource") or {}).get("S3DataSource") or {}
        entry: dict[str, Any] = {}
        if ch.get("ContentType"):
            entry["ContentType"] = ch["ContentType"]
        entry["TrainingInputMode"] = ch.get("InputMode") or default_mode
        entry["S3DistributionType"] = s3.get("S3DataDistributionType", "FullyReplicated")
        entry["RecordWrapperType"] = ch.get("RecordWrapperType", "None")
        if ch.get("CompressionType", "None") != "None":
            entry["CompressionType"] = ch["CompressionType"]
        result[ch["ChannelName"]] = entry
    return result


def hosts(request: dict[str, Any]) -> list[str]:
    """The job's training hosts, ``algo-1`` … ``algo-N`` for ``ResourceConfig.InstanceCount`` N."""
    rc = request.get("ResourceConfig") or {}
    count = max(1, int(rc.get("InstanceCount", 1) or 1))
    return [host_name(i) for i in range(1, count + 1)]


def resource_config(request: dict[str, Any], current_host: str = FIRST_HOST) -> dict[str, Any]:
    """``resourceconfig.json`` as the platform writes it on host ``current_host``."""
    rc = request.get("ResourceConfig") or {}
    instance_type = rc.get("InstanceType", "local")
    names = hosts(request)
    return {
        "current_host": current_host,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": names,
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": names}
        ],
        "network_interface_name": "eth0",
    }


def host_share(
    items: list[tuple[str, str, str]], distribution: str, host: str, names: list[str]
) -> list[tuple[str, str, str]]:
    """The objects of a channel that host ``host`` receives. ``FullyReplicated``: all of them.
    ``ShardedByS3Key``: "each instance gets approximately 1/n of the number of S3 objects" (API reference,
    ``S3DataSource.S3DataDistributionType``); the exact assignment is not documented, and sagelocal deals the
    objects, in key order, round-robin over ``algo-1`` … ``algo-N``, so a host may receive none."""
    if distribution != "ShardedByS3Key" or len(names) < 2:
        return items
    index = names.index(host)
    return items[index :: len(names)]


def checkpoint_config(request: dict[str, Any]) -> dict[str, Any] | None:
    cc = request.get("CheckpointConfig")
    if not cc:
        return None
    return {"LocalPath": cc.get("LocalPath") or DEFAULT_CHECKPOINT_PATH, "S3Uri": cc.get("S3Uri", "")}


def debugger_configs(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The files the platform writes for the request's DebugHookConfig, ProfilerConfig and
    TensorBoardOutputConfig, which smdebug reads in the images that have it (``LocalPath`` defaults as the API
    documents: ``/opt/ml/output/tensors`` and ``/opt/ml/output/tensorboard``)."""
    files: dict[str, dict[str, Any]] = {}
    hook = request.get("DebugHookConfig")
    if hook:
        files[DEBUG_HOOK_CONFIG_FILE] = {"LocalPath": "/opt/ml/output/tensors", **hook}
    profiler = request.get("ProfilerConfig")
    if profiler:
        files[PROFILER_CONFIG_FILE] = dict(profiler)
    tensorboard = request.get("TensorBoardOutputConfig")
    if tensorboard:
        files[TENSORBOARD_CONFIG_FILE] = {"LocalPath": "/opt/ml/output/tensorboard", **tensorboard}
    return files


def checkpoint_dir(ml_root: Path, request: dict[str, Any]) -> Path | None:
    """The host folder behind CheckpointConfig.LocalPath, resolved by the container contract (so always inside
    the job's folder). sagelocal syncs only folders under /opt/ml, the tree it shares with a container, so any
    other LocalPath is a LayoutError."""
    cc = checkpoint_config(request)
    if cc is None:
        return None
    local_path = str(cc["LocalPath"])
    layout = Layout(ml_root)
    try:
        folder: Path | None = layout.resolve(local_path)
    except ContainerPathError:
        folder = None
    if folder is None or folder.is_relative_to(layout.rootfs):
        raise LayoutError(
            f"CheckpointConfig.LocalPath '{local_path}' is not a folder under "
            f"{CONTAINER_ROOT}; sagelocal maps only {CONTAINER_ROOT} into the job (default "
            f"{DEFAULT_CHECKPOINT_PATH})."
        )
    return folder


def restore_checkpoints(ml_root: Path, request: dict[str, Any], objects: ObjectStore) -> None:
    """Copy the objects under CheckpointConfig.S3Uri into the checkpoint folder, as SageMaker does before
    training starts (so a job resumes from the checkpoints an earlier job left). Every object lands under that
    folder; the platform writes the job's own files after this, so no object can replace them."""
    folder = checkpoint_dir(ml_root, request)
    uri = (request.get("CheckpointConfig") or {}).get("S3Uri")
    if folder is None or not uri:
        return
    try:
        make_folder(ml_root, folder)
    except OSError as e:
        raise LayoutError(
            f"CheckpointConfig.LocalPath '{(checkpoint_config(request) or {}).get('LocalPath')}' cannot be "
            f"created: {e.strerror}"
        ) from None
    try:
        bucket, prefix = S3Uri.parse(uri)
        found = list(objects.iter_objects(bucket, prefix.rstrip("/") + "/" if prefix else ""))
    except (ServiceError, ValueError):
        return  # nothing saved yet
    for info in found:
        if info.key.endswith("/"):
            continue
        dest = _safe_join(folder, info.key[len(prefix.rstrip("/") + "/") :] if prefix else info.key)
        if dest is None:
            continue
        try:
            make_folder(ml_root, dest.parent)
            clear_path(dest)
            shutil.copyfile(objects.object_path(bucket, info.key), dest)
        except OSError as e:
            raise LayoutError(
                f"Checkpoint download failed:Could not download s3://{bucket}/{info.key}: {e.strerror}"
            ) from None


def save_checkpoints(ml_root: Path, request: dict[str, Any], objects: ObjectStore) -> int:
    """Upload the checkpoint folder's files under CheckpointConfig.S3Uri; returns how many."""
    folder = checkpoint_dir(ml_root, request)
    uri = (request.get("CheckpointConfig") or {}).get("S3Uri")
    if folder is None or not uri or not folder.is_dir():
        return 0
    bucket, prefix = S3Uri.parse(uri)
    prefix = prefix.rstrip("/")
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(folder).as_posix()
        objects.put_object(bucket, f"{prefix}/{rel}" if prefix else rel, path)
        count += 1
    return count


def _relative_path(key: str, prefix: str) -> str:
    """Where an object lands inside the channel folder: its key relative to the prefix's folder."""
    if key == prefix:
        return key.rsplit("/", 1)[-1]
    if prefix == "" or prefix.endswith("/"):
        rel = key[len(prefix) :]
    elif key[len(prefix)] == "/":
        rel = key[len(prefix) + 1 :]
    else:
        rel = key[prefix.rfind("/") + 1 :]
    return rel.lstrip("/")


def _place(ml_root: Path, src: Path, dest: Path) -> None:
    make_folder(ml_root, dest.parent)
    clear_path(dest)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def _safe_join(root: Path, rel: str) -> Path | None:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return root.joinpath(*parts)


def channel_objects(objects: ObjectStore, uri: str, data_type: str, role: str) -> list[tuple[str, str, str]]:
    """(bucket, key, relative path) of every object the channel delivers, in key order."""
    try:
        bucket, prefix = S3Uri.parse(uri)
    except ValueError:
        raise LayoutError(f"Data download failed:Invalid S3 URI '{uri}'") from None
    if data_type == "ManifestFile":
        try:
            with objects.open_object(bucket, prefix) as f:
                manifest = json.load(f)
            base = next(e["prefix"] for e in manifest if isinstance(e, dict) and "prefix" in e)
            mbucket, mprefix = S3Uri.parse(base)
            keys = [e for e in manifest if isinstance(e, str)]
        except (ServiceError, ValueError, StopIteration, KeyError, TypeError) as e:
            raise LayoutError(f"Data download failed:Unable to read manifest file {uri}: {e}") from None
        return [(mbucket, mprefix + k, k) for k in keys]
    if data_type not in ("S3Prefix", None):
        raise LayoutError(f"S3DataType {data_type} is not supported by sagelocal.")
    try:
        found = [(bucket, o.key, _relative_path(o.key, prefix)) for o in objects.iter_objects(bucket, prefix)]
    except ServiceError:
        raise _no_objects(uri, bucket, role) from None
    found = [f for f in found if not f[1].endswith("/")]  # folder markers
    if not found:
        raise _no_objects(uri, bucket, role)
    return found


def build_layout(
    ml_root: Path, request: dict[str, Any], objects: ObjectStore, host: str = FIRST_HOST
) -> None:
    """Create host ``host``'s layout under ``ml_root`` as the platform prepares the container's before running
    ``train``: its own resourceconfig.json and its share of each channel (:func:`host_share`). Raises
    LayoutError."""
    channels = input_data_config(request)
    checkpoint = checkpoint_config(request)
    layout = Layout(
        ml_root,
        hyperparameters=dict(request.get("HyperParameters") or {}),
        input_data_config=channels,
        resource_config=resource_config(request, host),
        checkpoint_config=checkpoint or {},
        debugger_configs=debugger_configs(request),
    )
    if checkpoint is not None:
        restore_checkpoints(ml_root, request, objects)
    layout.write_configs()  # after the restore: the job's own config files win over any restored object

    role = request.get("RoleArn", config.DUMMY_ROLE_ARN)
    for ch in request.get("InputDataConfig") or []:
        name = ch["ChannelName"]
        if name in (".", ".."):
            raise LayoutError(
                f"Channel name '{name}' cannot be used as a folder name in {in_container().data_dir}."
            )
        source = ch.get("DataSource") or {}
        s3 = source.get("S3DataSource")
        if s3 is None:
            raise LayoutError(
                f"Channel '{name}' uses a data source sagelocal does not support "
                f"({', '.join(source) or 'none'}); use S3DataSource."
            )
        items = channel_objects(objects, s3["S3Uri"], s3.get("S3DataType", "S3Prefix"), role)
        items = host_share(items, channels[name]["S3DistributionType"], host, hosts(request))
        if channels[name]["TrainingInputMode"] == "Pipe":
            continue  # fed through a FIFO during training (service/execution/pipes.py)
        channel_dir = layout.channel_dir(name)
        make_folder(ml_root, channel_dir)
        for bucket, key, rel in items:
            dest = _safe_join(channel_dir, rel)
            if dest is None:
                raise LayoutError(
                    f"Data download failed:S3 key: s3://{bucket}/{key} cannot be written "
                    "to the channel folder"
                )
            try:
                _place(ml_root, objects.object_path(bucket, key), dest)
            except ServiceError as e:
                raise LayoutError(
                    f"Data download failed:Could not download s3://{bucket}/{key}: {e}"
                ) from None
            except OSError as e:  # the message names no host path
                raise LayoutError(
                    f"Data download failed:Could not download s3://{bucket}/{key}: {e.strerror}"
                ) from None
