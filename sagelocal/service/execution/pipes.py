"""Pipe-mode channels as SageMaker feeds them: each channel's objects stream through a FIFO
``/opt/ml/input/data/<channel>_0`` while the algorithm runs (the epoch-0 pipe; the image opens only that one).

The FIFO lives in the job's layout folder, which Docker bind-mounts as ``/opt/ml``, so the same FIFO feeds an
in-process algorithm and a container. One writer thread per channel waits for the algorithm to open the pipe
(non-blocking open, retried, so a job that never reads it still ends), then writes the objects in key order.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.contract import FIRST_HOST, Layout, clear_path, make_folder
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training.layout import channel_objects, host_share, hosts, input_data_config

_OPEN_RETRY_SECONDS = 0.05


class PipeFeeder:
    """The FIFOs of a job's Pipe-mode channels and the threads writing them."""

    def __init__(
        self, ml_root: Path, request: dict[str, Any], objects: ObjectStore, host: str = FIRST_HOST
    ) -> None:
        self.layout = Layout(ml_root)
        self.host = host
        self.request = request
        self.objects = objects
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.fifos: list[Path] = []

    def start(self) -> PipeFeeder:
        modes = input_data_config(self.request)
        role = self.request.get("RoleArn", config.DUMMY_ROLE_ARN)
        for channel in self.request.get("InputDataConfig") or []:
            name = channel["ChannelName"]
            if modes[name]["TrainingInputMode"] != "Pipe":
                continue
            s3 = (channel.get("DataSource") or {}).get("S3DataSource") or {}
            items = channel_objects(self.objects, s3["S3Uri"], s3.get("S3DataType", "S3Prefix"), role)
            items = host_share(items, modes[name]["S3DistributionType"], self.host, hosts(self.request))
            path = self.layout.pipe_file(name)
            make_folder(self.layout.ml_root, path.parent)
            clear_path(path)
            os.mkfifo(path, 0o644)
            self.fifos.append(path)
            sources = [self.objects.object_path(bucket, key) for bucket, key, _ in items]
            thread = threading.Thread(
                target=self._feed, args=(path, sources), name=f"sagelocal-pipe-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _feed(self, path: Path, sources: list[Path]) -> None:
        fd = self._open_for_writing(path)
        if fd is None:
            return
        try:
            with os.fdopen(fd, "wb") as out:
                for source in sources:
                    if self._stop.is_set():
                        return
                    with open(source, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
        except BrokenPipeError:
            pass  # the algorithm stopped reading (it failed, or needs no more): as on SageMaker

    def _open_for_writing(self, path: Path) -> int | None:
        """Wait for a reader: opening a FIFO's write end without one fails with ENXIO when non-blocking."""
        while not self._stop.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
            except OSError as e:
                if e.errno != errno.ENXIO:
                    return None
                self._stop.wait(_OPEN_RETRY_SECONDS)
                continue
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.close(fd)  # the algorithm put something else there: the objects never leave the pipe
                return None
            os.set_blocking(fd, True)
            return fd
        return None

    def stop(self) -> None:
        """After the algorithm ended: stop waiting for readers and remove the FIFOs."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for path in self.fifos:
            try:
                path.unlink()
            except OSError:
                pass


def start_pipes(
    ml_root: Path, request: dict[str, Any], objects: ObjectStore, host: str = FIRST_HOST
) -> PipeFeeder:
    return PipeFeeder(ml_root, request, objects, host).start()
