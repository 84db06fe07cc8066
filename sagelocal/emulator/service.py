"""The emulated SageMaker service: one object the local/docker backends and the HTTP server both use.
(SKELETON: signatures only; being built.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagelocal.emulator.logstore import LogStore
from sagelocal.emulator.objectstore import ObjectStore


class Emulator:
    """State lives under ``home`` (default ``sagelocal.config.home()``): ``sagelocal.db`` (SQLite, WAL),
    ``s3/`` (object store), ``jobs/<name>/`` (each job's /opt/ml layout). ``runner`` is ``"process"`` (the
    algorithm in a child process) or ``"docker"`` (in a container)."""

    objects: ObjectStore
    logs: LogStore

    def __init__(self, home: Path | None = None, runner: str = "process") -> None: ...
    def create_training_job(self, request: dict[str, Any]) -> dict[str, Any]: ...
    def describe_training_job(self, name: str) -> dict[str, Any]: ...
    def list_training_jobs(self, **params: Any) -> dict[str, Any]: ...
    def stop_training_job(self, name: str) -> dict[str, Any]: ...
    def job_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]: ...
