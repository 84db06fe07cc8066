"""CheckpointConfig as SageMaker applies it during training: files the algorithm writes under
``CheckpointConfig.LocalPath`` are uploaded to ``CheckpointConfig.S3Uri`` as they appear and change, not only
at the end ("Use checkpoints in Amazon SageMaker": "SageMaker AI ... continuously syncs the checkpoints ... to
Amazon S3"). A watcher thread scans the folder every ``interval`` seconds and uploads each new or changed file
(by size and mtime); the supervisor's final ``save_checkpoints`` uploads whatever changed last.
"""

from __future__ import annotations

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
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file() and not p.is_symlink()):
            try:
                stat = path.stat()
            except OSError:
                continue  # removed meanwhile (the algorithm keeps only its newest checkpoints)
            mark = (stat.st_size, stat.st_mtime_ns)
            if self._seen.get(path) == mark or path.name.startswith(".tmp"):
                continue
            rel = path.relative_to(self.folder).as_posix()
            try:
                self.objects.put_object(self.bucket, f"{self.prefix}/{rel}" if self.prefix else rel, path)
            except FileNotFoundError:
                continue
            self._seen[path] = mark
            count += 1
        return count

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
