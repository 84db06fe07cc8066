"""The one interface every backend implements. Its methods mirror the SageMaker API.

Requests and responses use boto3's shapes and field names: ``create_training_job`` takes a CreateTrainingJob
request dict, ``describe_training_job`` returns the DescribeTrainingJob document (datetimes as timezone-aware
``datetime`` objects, as boto3 returns them), and log events are CloudWatch GetLogEvents events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

BACKENDS = ("local", "docker", "sagemaker")

#: TrainingJobStatus values after which a job never changes again.
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})


class BackendError(Exception):
    """A sagelocal-side problem that SageMaker has no error for (missing credentials, no Docker engine…).

    The CLI prints ``str(error)`` on one line and exits non-zero.
    """


@runtime_checkable
class Backend(Protocol):
    name: str

    def create_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateTrainingJob. Returns ``{"TrainingJobArn": …}``. Raises ServiceError subclasses."""
        ...

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob document."""
        ...

    def list_training_jobs(self, **params: Any) -> dict[str, Any]:
        """ListTrainingJobs with boto3's parameter names (NameContains, StatusEquals, SortBy, SortOrder,
        MaxResults, NextToken, CreationTimeAfter, …). Returns ``{"TrainingJobSummaries": [...], "NextToken"?}``."""
        ...

    def stop_training_job(self, name: str) -> None:
        """StopTrainingJob."""
        ...

    def get_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        """The job's log events from all its streams, merged by timestamp, each
        ``{"logStreamName", "timestamp", "message", "ingestionTime"}``; only events with
        ``timestamp >= start_time`` (epoch ms) when given. Tabs appear as ``#011``, as CloudWatch stores them."""
        ...

    def wait(self, name: str, poll_interval: float | None = None, timeout: float | None = None) -> dict[str, Any]:
        """Block until the job is Completed, Failed or Stopped; return the final DescribeTrainingJob document."""
        ...

    def upload_input(self, path: Path, s3_prefix: str) -> str:
        """Upload a local file or folder under ``s3_prefix`` (as the SDK uploads local inputs);
        return the ``s3://`` URI to use as the channel's S3Uri."""
        ...

    def default_bucket(self) -> str:
        """The bucket used when the user gives no output path (SageMaker SDK's ``default_bucket()``);
        created if needed."""
        ...

    def fetch_artifact(self, s3_uri: str, dest_dir: Path) -> Path:
        """Make an artifact such as model.tar.gz available locally; return its local path."""
        ...


def get_backend(name: str) -> Backend:
    """The backend called ``name``: ``local``, ``docker`` or ``sagemaker``."""
    if name == "local":
        from sagelocal.backends.local import LocalBackend

        return LocalBackend()
    if name == "docker":
        from sagelocal.backends.docker import DockerBackend

        return DockerBackend()
    if name == "sagemaker":
        from sagelocal.backends.sagemaker import SageMakerBackend

        return SageMakerBackend()
    raise BackendError(f"Unknown backend '{name}'. Choose one of: {', '.join(BACKENDS)}.")
