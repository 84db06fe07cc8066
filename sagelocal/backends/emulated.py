"""A Backend over the in-process Emulator facade; ``local`` and ``docker`` differ only in the runner."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.backends.base import TERMINAL_STATUSES, BackendError
from sagelocal.service.objectstore import parse_s3_uri
from sagelocal.service.service import Emulator

DEFAULT_POLL_INTERVAL = 0.1


class EmulatedBackend:
    """Runs jobs on this machine through :class:`Emulator`; ``runner`` is ``"process"`` or ``"docker"``."""

    name = "emulated"
    #: Seconds between polls while the CLI follows a job: a poll is a local SQLite read, so follow closely.
    poll_interval = 0.05

    def __init__(self, runner: str, home: Path | None = None) -> None:
        self.runner = runner
        self.emulator = Emulator(home=home, runner=runner)

    # --- SageMaker API ---

    def create_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.emulator.create_training_job(request)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        return self.emulator.describe_training_job(name)

    def list_training_jobs(self, **params: Any) -> dict[str, Any]:
        return self.emulator.list_training_jobs(**params)

    def stop_training_job(self, name: str) -> None:
        self.emulator.stop_training_job(name)

    def get_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        return self.emulator.job_log_events(name, start_time)

    def wait(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        interval = DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            desc = self.emulator.describe_training_job(name)
            if desc["TrainingJobStatus"] in TERMINAL_STATUSES:
                return desc
            if deadline is not None and time.monotonic() >= deadline:
                raise BackendError(
                    f"Timed out after {timeout:g} s waiting for training job {name}; "
                    f"it is still {desc['TrainingJobStatus']} ({desc['SecondaryStatus']})."
                )
            time.sleep(interval)

    # --- files ---

    def upload_input(self, path: Path, s3_prefix: str) -> str:
        path = Path(path)
        bucket, prefix = parse_s3_uri(s3_prefix)
        prefix = prefix.rstrip("/")
        self.emulator.objects.create_bucket(bucket)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            if not files:
                raise BackendError(f"Nothing to upload: folder {path} has no files.")
            for f in files:
                rel = f.relative_to(path).as_posix()
                self.emulator.objects.put_object(bucket, f"{prefix}/{rel}" if prefix else rel, f)
        elif path.is_file():
            key = f"{prefix}/{path.name}" if prefix else path.name
            self.emulator.objects.put_object(bucket, key, path)
            # As the SDK's upload_data (and so the sagemaker backend): a file's own URI, a folder's prefix.
            return f"s3://{bucket}/{key}"
        else:
            raise BackendError(f"Cannot upload {path}: no such file or folder.")
        return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"

    def default_bucket(self) -> str:
        self.emulator.objects.create_bucket(config.DEFAULT_BUCKET)
        return config.DEFAULT_BUCKET

    def fetch_artifact(self, s3_uri: str, dest_dir: Path) -> Path:
        """The artifact's file inside the local object store (no copy is made; ``dest_dir`` is unused)."""
        bucket, key = parse_s3_uri(s3_uri)
        self.emulator.objects.head_object(bucket, key)
        return self.emulator.objects.object_path(bucket, key)
