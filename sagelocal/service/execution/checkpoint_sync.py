"""CheckpointConfig as SageMaker applies it during training: files the algorithm writes under
``CheckpointConfig.LocalPath`` are uploaded to ``CheckpointConfig.S3Uri`` as they appear and change, not only
at the end ("Use checkpoints in Amazon SageMaker": "SageMaker AI ... continuously syncs the checkpoints ... to
Amazon S3"). A watcher thread scans the folder every ``interval`` seconds and uploads each new or changed file
(by size and mtime); the supervisor's final ``save_checkpoints`` uploads whatever changed last.
"""

from __future__ import annotations

import os
import stat
import threading
import traceback
from pathlib import Path
from typing import Any

from sagelocal.aws.refs import S3Uri
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training.layout import checkpoint_dir


class CheckpointSync:
    def __init__(self, folder: Path, uri: str, objects: ObjectStore, interval: float = 1.0) -> None:
        self.folder = folder
        self.bucket, prefix = S3Uri.parse(uri)
        self.prefix = prefix.rstrip("/")
        self.objects = objects
        self.interval = interval
        self._seen: dict[Path, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sagelocal-checkpoint-sync", daemon=True)

    def start(self) -> CheckpointSync:
        self._thread.start()
        return self

    def sync_once(self) -> int:
        """Upload the files that are new or changed since the last scan; returns how many."""
        if not self.folder.is_dir():
            return 0
        count = 0
        for path in self._files():
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue  # removed meanwhile (the algorithm keeps only its newest checkpoints), or a link
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                mark = (st.st_size, st.st_mtime_ns)
                if not stat.S_ISREG(st.st_mode) or self._seen.get(path) == mark:
                    continue
                rel = path.relative_to(self.folder).as_posix()
                self.objects.put_object(self.bucket, f"{self.prefix}/{rel}" if self.prefix else rel, f)
            self._seen[path] = mark
            count += 1
        return count

    def _files(self) -> list[Path]:
        """The regular files under the folder, never following a link the algorithm may have made (a link to
        a host file must not reach S3)."""
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(self.folder, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                try:
                    regular = stat.S_ISREG(os.lstat(path).st_mode)
                except OSError:
                    continue
                if regular and not name.startswith(".tmp"):
                    found.append(path)
        return found

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync_once()
            except Exception:
                traceback.print_exc()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def start_checkpoint_sync(
    ml_root: Path, request: dict[str, Any], objects: ObjectStore
) -> CheckpointSync | None:
    """A running :class:`CheckpointSync` for the job, or None without CheckpointConfig.S3Uri."""
    uri = (request.get("CheckpointConfig") or {}).get("S3Uri")
    folder = checkpoint_dir(ml_root, request)
    if folder is None or not uri:
        return None
    return CheckpointSync(folder, uri, objects).start()
