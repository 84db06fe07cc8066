"""The one interface every backend implements, and the small types it speaks. Its methods mirror AWS APIs.

Requests and responses use boto3's shapes and field names: ``create_training_job`` takes a CreateTrainingJob
request dict, ``describe_training_job`` returns the DescribeTrainingJob document (datetimes as timezone-aware
``datetime`` objects, as boto3 returns them), and log events are CloudWatch GetLogEvents events.

Callers (the CLI, ``sagelocal serve``'s launcher) use only what is declared here: they never ask a backend for
its name to decide what to do, and never reach past it into the service. A member that makes no sense for a
backend (building Docker images on the ``sagemaker`` backend) raises :class:`BackendError` with one line.

This module imports no backend; the registry in ``sagelocal.backends`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

#: TrainingJobStatus values after which a job never changes again.
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})
#: EndpointStatus values of an endpoint on its way somewhere (``wait_endpoint`` waits them out).
ENDPOINT_TRANSITIONAL_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
#: Environment variable naming the execution role (the CLI's ``--role``); real AWS needs one.
ROLE_ENV = "SAGELOCAL_ROLE_ARN"

#: Receives one line of progress (e.g. of an image build).
Log = Callable[[str], None]


class BackendError(Exception):
    """A sagelocal-side problem that AWS has no error for (missing credentials, no Docker engine…).

    The CLI prints ``str(error)`` on one line and exits non-zero.
    """


@dataclass(frozen=True)
class Bucket:
    """One ListBuckets entry."""

    name: str
    creation_date: datetime  # timezone-aware


@dataclass(frozen=True)
class StoredObject:
    """One ListObjectsV2 ``Contents`` entry."""

    key: str
    size: int
    last_modified: datetime  # timezone-aware


@dataclass(frozen=True)
class ObjectPage:
    """One ListObjectsV2 response page: the objects and, with a delimiter, the common prefixes."""

    objects: list[StoredObject]
    common_prefixes: list[str]


@dataclass(frozen=True)
class MetricPoint:
    """One datapoint of a training-job metric in CloudWatch (namespace ``/aws/sagemaker/TrainingJobs``): its
    time (timezone-aware) and its value."""

    timestamp: datetime
    value: float


@runtime_checkable
class Backend(Protocol):
    """Where training jobs run and their data lives: ``local``, ``docker`` or ``sagemaker``."""

    #: The ``--backend`` value that selects this backend (shown in hints such as ``--backend local``).
    name: str

    # --- configuration -------------------------------------------------------------------------------------

    @property
    def region(self) -> str:
        """The AWS region jobs run in (it picks the built-in image's registry)."""
        ...

    @property
    def poll_interval(self) -> float:
        """Seconds between polls while following a job: short where a poll is cheap."""
        ...

    @property
    def describe_interval(self) -> float:
        """Least seconds between DescribeTrainingJob calls while following a job (0: on every poll)."""
        ...

    @property
    def downloads_artifacts(self) -> bool:
        """True when ``fetch_artifact`` downloads (so ``--no-download-model`` skips it); False when the
        artifact already is a file on this machine."""
        ...

    def check_role(self, role_arn: str | None) -> None:
        """Raise BackendError (one line) if this backend cannot run jobs as ``role_arn`` (None: none given)."""
        ...

    def image_uri(self, version: str) -> str:
        """The built-in XGBoost image URI of ``version`` (``1.7-1``, ``1``, ``latest``…) in :attr:`region`, as
        ``sagemaker.image_uris.retrieve("xgboost", region, version)`` gives it."""
        ...

    # --- SageMaker training jobs ---------------------------------------------------------------------------

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

    def wait(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Block until the job is Completed, Failed or Stopped; return the final DescribeTrainingJob document."""
        ...

    def training_metrics(self, name: str) -> dict[str, list[MetricPoint]]:
        """The job's metrics as CloudWatch holds them (ListMetrics + GetMetricStatistics, Period 60, Average):
        metric name → datapoints in time order, metrics in MetricDefinitions order, only those with data.
        sagelocal publishes one datapoint per round; real CloudWatch one per minute."""
        ...

    # --- SageMaker hosting ---------------------------------------------------------------------------------

    def create_model(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateModel with a boto3-shaped request. Returns ``{"ModelArn": …}``."""
        ...

    def describe_model(self, name: str) -> dict[str, Any]:
        """DescribeModel document."""
        ...

    def list_models(self, **params: Any) -> dict[str, Any]:
        """ListModels with boto3's parameter names. Returns ``{"Models": [...], "NextToken"?}``."""
        ...

    def delete_model(self, name: str) -> None:
        """DeleteModel (endpoints already running it are not touched)."""
        ...

    def create_endpoint_config(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateEndpointConfig. Returns ``{"EndpointConfigArn": …}``."""
        ...

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        """DescribeEndpointConfig document."""
        ...

    def list_endpoint_configs(self, **params: Any) -> dict[str, Any]:
        """ListEndpointConfigs. Returns ``{"EndpointConfigs": [...], "NextToken"?}``."""
        ...

    def delete_endpoint_config(self, name: str) -> None:
        """DeleteEndpointConfig."""
        ...

    def create_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateEndpoint (the endpoint is Creating; see ``wait_endpoint``). Returns ``{"EndpointArn": …}``."""
        ...

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        """DescribeEndpoint document (EndpointStatus, FailureReason, ProductionVariants…)."""
        ...

    def list_endpoints(self, **params: Any) -> dict[str, Any]:
        """ListEndpoints (NameContains, StatusEquals, SortBy, …). Returns ``{"Endpoints": [...], "NextToken"?}``."""
        ...

    def update_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        """UpdateEndpoint (``EndpointName``, ``EndpointConfigName``). Returns ``{"EndpointArn": …}``."""
        ...

    def delete_endpoint(self, name: str) -> None:
        """DeleteEndpoint: the endpoint is Deleting, then gone (see ``wait_endpoint``)."""
        ...

    def invoke_endpoint(
        self, endpoint_name: str, body: bytes, content_type: str | None = None, accept: str | None = None
    ) -> dict[str, Any]:
        """sagemaker-runtime InvokeEndpoint. Returns ``{"Body": bytes, "ContentType": …,
        "InvokedProductionVariant": …}`` (the body read, unlike boto3's stream). Raises ServiceError subclasses:
        ModelError (the container's 4xx/5xx), RuntimeValidationError (no such endpoint), PayloadTooLarge…"""
        ...

    def wait_endpoint(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Block until the endpoint is no longer Creating, Updating or Deleting; return the final
        DescribeEndpoint document (InService, Failed…), or ``{}`` when there is no such endpoint (deleted)."""
        ...

    # --- SageMaker hyperparameter tuning ---------------------------------------------------------------------

    def create_hyper_parameter_tuning_job(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateHyperParameterTuningJob. Returns ``{"HyperParameterTuningJobArn": …}``."""
        ...

    def describe_hyper_parameter_tuning_job(self, name: str) -> dict[str, Any]:
        """DescribeHyperParameterTuningJob document (status, counters, BestTrainingJob…)."""
        ...

    def list_hyper_parameter_tuning_jobs(self, **params: Any) -> dict[str, Any]:
        """ListHyperParameterTuningJobs. Returns ``{"HyperParameterTuningJobSummaries": [...], "NextToken"?}``."""
        ...

    def list_training_jobs_for_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        """ListTrainingJobsForHyperParameterTuningJob (``HyperParameterTuningJobName``, ``StatusEquals``,
        ``SortBy``…). Returns ``{"TrainingJobSummaries": [...], "NextToken"?}``."""
        ...

    def stop_hyper_parameter_tuning_job(self, name: str) -> None:
        """StopHyperParameterTuningJob: the job is Stopping, then Stopped once its running children stopped."""
        ...

    # --- job inputs and outputs ----------------------------------------------------------------------------

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

    # --- S3 (``sagelocal s3``) -----------------------------------------------------------------------------

    def make_bucket(self, bucket: str) -> None:
        """CreateBucket; a bucket of one's own that exists already is fine."""
        ...

    def list_buckets(self) -> list[Bucket]:
        """ListBuckets, by name."""
        ...

    def list_objects(
        self, bucket: str, prefix: str = "", delimiter: str | None = None
    ) -> Iterator[ObjectPage]:
        """ListObjectsV2 under ``prefix``, page by page (keys in order), until the listing is complete."""
        ...

    def put_object(self, bucket: str, key: str, source: Path, content_type: str | None = None) -> None:
        """PutObject of the file ``source``."""
        ...

    def get_object(self, bucket: str, key: str, dest: Path) -> None:
        """GetObject into the file ``dest`` (its folder is created first)."""
        ...

    def copy_object(
        self, source_bucket: str, source_key: str, bucket: str, key: str, content_type: str | None = None
    ) -> None:
        """CopyObject, keeping the source's Content-Type unless ``content_type`` is given."""
        ...

    # --- training images (``sagelocal image``) -------------------------------------------------------------

    def build_images(
        self, versions: Sequence[str], *, base_image: str | None, offline: bool, force: bool, log: Log
    ) -> Iterator[str]:
        """Build (or re-tag) sagelocal's training image of each version, yielding each tag when it is ready."""
        ...

    def list_images(self) -> list[dict[str, str]]:
        """sagelocal's training images, each ``{"tag", "version", "build", "current", "id", "size"}``."""
        ...

    # --- model evaluation (``sagelocal evaluate``) ---------------------------------------------------------

    def invoke_model_artifact(
        self,
        model_data: str,
        image_uri: str,
        bodies: Iterable[bytes],
        content_type: str | None = "text/csv",
        accept: str | None = "text/csv",
    ) -> Iterator[bytes]:
        """Answer each body as ``POST /invocations`` of ``image_uri``'s container serving the model.tar.gz
        ``model_data`` (an ``s3://`` URI of this backend's storage, downloaded first where it is remote, or a
        local file), scored on this machine by the algorithm's serving code. A 4xx/5xx answer raises
        BackendError with the image's status and message."""
        ...

    # --- SageMaker batch transform -------------------------------------------------------------------------

    def create_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateTransformJob with a boto3-shaped request. Returns ``{"TransformJobArn": …}``."""
        ...

    def describe_transform_job(self, name: str) -> dict[str, Any]:
        """DescribeTransformJob document (TransformJobStatus, FailureReason, times…)."""
        ...

    def list_transform_jobs(self, **params: Any) -> dict[str, Any]:
        """ListTransformJobs (NameContains, StatusEquals, SortBy, …). Returns ``{"TransformJobSummaries": [...],
        "NextToken"?}``."""
        ...

    def stop_transform_job(self, name: str) -> None:
        """StopTransformJob: the job is Stopping, then Stopped."""
        ...

    def transform_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        """The transform job's events from all its ``/aws/sagemaker/TransformJobs`` streams (container output
        and data-log), merged by timestamp, shaped as :meth:`get_log_events`'s."""
        ...

    def wait_transform(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Block until the transform job is Completed, Failed or Stopped; return the final document."""
        ...
