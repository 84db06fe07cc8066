"""A training job's artifacts as SageMaker stores them: the layout's model folder -> ``model.tar.gz`` and its
output data folder -> ``output.tar.gz``, members named relative to the folder (``xgboost-model``, not
``./xgboost-model``), uploaded under ``<S3OutputPath>/<job>/output/``.

"Safe": only regular files and folders go in (symlinks, devices and FIFOs are skipped, so nothing outside the
folder can leak in), names are relative and normalized, and ownership is neutral. ``extract_tar_gz`` refuses
members that would land outside the destination.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path
from typing import Any

from sagelocal.aws.errors import CLIENT_ERROR, JobFailure, ServiceError
from sagelocal.aws.refs import S3Uri
from sagelocal.service.objectstore import ObjectStore


class UploadError(JobFailure):
    """The artifacts could not be stored (e.g. the output bucket does not exist)."""


def model_artifact_uri(request: dict[str, Any]) -> str:
    out = (request.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")
    return f"{out}/{request['TrainingJobName']}/output/model.tar.gz"


def output_artifact_uri(request: dict[str, Any]) -> str:
    out = (request.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")
    return f"{out}/{request['TrainingJobName']}/output/output.tar.gz"


def upload_folder(objects: ObjectStore, folder: Path, uri: str, scratch: Path) -> None:
    """Store ``folder`` as the gzip'd tarball ``uri``, built in ``scratch`` first. Raises UploadError."""
    bucket, key = S3Uri.parse(uri)
    tarball = make_tar_gz(folder, scratch / f".{Path(key).name}")
    try:
        objects.put_object(bucket, key, tarball)
    except ServiceError as e:
        raise UploadError(CLIENT_ERROR, f"Data upload failed:Could not upload {uri}: {e.message}") from None
    finally:
        tarball.unlink(missing_ok=True)


def has_files(folder: Path) -> bool:
    """True when ``folder`` holds at least one regular file (at any depth)."""
    if not folder.is_dir():
        return False
    for _, _, files in os.walk(folder):
        if files:
            return True
    return False


def _members(folder: Path) -> list[tuple[Path, str]]:
    result: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(dirnames):
            p = base / name
            if not p.is_symlink():
                result.append((p, p.relative_to(folder).as_posix()))
        for name in sorted(filenames):
            p = base / name
            mode = os.lstat(p).st_mode
            if stat.S_ISREG(mode):
                result.append((p, p.relative_to(folder).as_posix()))
    return result


def make_tar_gz(folder: Path, dest: Path, compresslevel: int = 6) -> Path:
    """Write ``folder``'s contents to the gzip'd tarball ``dest`` (written to a temp name, then renamed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, "w:gz", compresslevel=compresslevel, format=tarfile.PAX_FORMAT) as tar:
            for path, arcname in _members(folder):
                info = tar.gettarinfo(str(path), arcname=arcname)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def extract_tar_gz(archive: Path, dest: Path) -> list[Path]:
    """Extract regular files and folders of ``archive`` under ``dest``; refuses absolute names, ``..``, links
    and devices. Returns the extracted file paths."""
    dest = dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            target = (dest / member.name).resolve()
            if member.name.startswith("/") or (target != dest and dest not in target.parents):
                raise ValueError(f"Refusing to extract '{member.name}': it would land outside {dest}")
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isreg():
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                with src, open(target, "wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
                written.append(target)
            else:
                raise ValueError(f"Refusing to extract '{member.name}': not a regular file or folder")
    return written
