"""A Backend over the emulated service (:class:`Emulator`) on this machine; ``local`` and ``docker`` differ
only in the service's runner (and in building images, which only ``docker`` uses)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from sagelocal import config
from sagelocal.algorithms.xgboost.versions import image_uri_for
from sagelocal.aws.refs import S3Uri
from sagelocal.backends.artifact_model import invoke_archive
from sagelocal.backends.base import BackendError, Bucket, Log, MetricPoint, ObjectPage, StoredObject
from sagelocal.backends.metrics import job_metric_points
from sagelocal.backends.waiting import (
    wait_until_ended,
    wait_until_endpoint_settled,
    wait_until_transform_ended,
)
from sagelocal.service.service import Emulator


class EmulatedBackend:
    """Runs jobs on this machine through :class:`Emulator`, whose runner is the subclass's ``runner``."""

    name: str
    #: The Emulator's runner: ``"process"`` (the algorithm in a child process) or ``"docker"`` (a container).
    runner: ClassVar[str]
    #: Seconds between polls while the CLI follows a job: a poll is a local SQLite read, so follow closely.
    poll_interval = 0.05
    describe_interval = 0.0
    #: The artifact is the object store's own file: nothing to download.
    downloads_artifacts = False

    def __init__(self, home: Path | None = None) -> None:
        self._home = home

    @functools.cached_property
    def emulator(self) -> Emulator:
        """The service, made on first use: commands that never touch it (``sagelocal image``) leave no state."""
        return Emulator(home=self._home, runner=self.runner)

    @classmethod
    def service(cls, home: Path | None = None, **options: Any) -> Emulator:
        """An Emulator running jobs as this backend does, with Emulator ``options`` (``sagelocal serve``'s)."""
        return Emulator(home=home, runner=cls.runner, **options)

    # --- configuration ---

    @property
    def region(self) -> str:
        return config.region()

    def check_role(self, role_arn: str | None) -> None:
        """Any role, or none (the dummy role is used): the emulator assumes no role."""

    def image_uri(self, version: str) -> str:
        return image_uri_for(version, self.region)

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
        interval = self.poll_interval if poll_interval is None else poll_interval
        return wait_until_ended(self.describe_training_job, name, interval, timeout)

    def training_metrics(self, name: str) -> dict[str, list[MetricPoint]]:
        return job_metric_points(self.emulator, name)

    # --- SageMaker hosting ---

    def create_model(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.emulator.hosting.create_model(request)

    def describe_model(self, name: str) -> dict[str, Any]:
        return self.emulator.hosting.describe_model(name)

    def list_models(self, **params: Any) -> dict[str, Any]:
        return self.emulator.hosting.list_models(**params)

    def delete_model(self, name: str) -> None:
        self.emulator.hosting.delete_model(name)

    def create_endpoint_config(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.emulator.hosting.create_endpoint_config(request)

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        return self.emulator.hosting.describe_endpoint_config(name)

    def list_endpoint_configs(self, **params: Any) -> dict[str, Any]:
        return self.emulator.hosting.list_endpoint_configs(**params)

    def delete_endpoint_config(self, name: str) -> None:
        self.emulator.hosting.delete_endpoint_config(name)

    def create_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.emulator.hosting.create_endpoint(request)

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        return self.emulator.hosting.describe_endpoint(name)

    def list_endpoints(self, **params: Any) -> dict[str, Any]:
        return self.emulator.hosting.list_endpoints(**params)

    def update_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.emulator.hosting.update_endpoint(request)

    def delete_endpoint(self, name: str) -> None:
        self.emulator.hosting.delete_endpoint(name)

    def invoke_endpoint(
        self, endpoint_name: str, body: bytes, content_type: str | None = None, accept: str | None = None
    ) -> dict[str, Any]:
        result = self.emulator.hosting.invoke_endpoint(endpoint_name, body, content_type, accept)
        response: dict[str, Any] = {"Body": result.body}
        if result.content_type is not None:
            response["ContentType"] = result.content_type
        response["InvokedProductionVariant"] = result.invoked_variant
        return response

    def wait_endpoint(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        interval = self.poll_interval if poll_interval is None else poll_interval
        return wait_until_endpoint_settled(self.describe_endpoint, name, interval, timeout)

    # --- SageMaker hyperparameter tuning ---

    def create_hyper_parameter_tuning_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.emulator.tuning.create(request)

    def describe_hyper_parameter_tuning_job(self, name: str) -> dict[str, Any]:
        return self.emulator.tuning.describe(name)

    def list_hyper_parameter_tuning_jobs(self, **params: Any) -> dict[str, Any]:
        return self.emulator.tuning.list(**params)

    def list_training_jobs_for_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        return self.emulator.tuning.list_training_jobs(**params)

    def stop_hyper_parameter_tuning_job(self, name: str) -> None:
        self.emulator.tuning.stop(name)

    # --- files ---

    def upload_input(self, path: Path, s3_prefix: str) -> str:
        path = Path(path)
        bucket, prefix = S3Uri.parse(s3_prefix)
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
        bucket, key = S3Uri.parse(s3_uri)
        self.emulator.objects.head_object(bucket, key)
        return self.emulator.objects.object_path(bucket, key)

    # --- S3 ---

    def make_bucket(self, bucket: str) -> None:
        self.emulator.objects.create_bucket(bucket)

    def list_buckets(self) -> list[Bucket]:
        return [Bucket(info.name, info.creation_date) for info in self.emulator.objects.list_buckets()]

    def list_objects(
        self, bucket: str, prefix: str = "", delimiter: str | None = None
    ) -> Iterator[ObjectPage]:
        token: str | None = None
        while True:
            listing = self.emulator.objects.list_objects(
                bucket, prefix=prefix, delimiter=delimiter, continuation_token=token
            )
            objects = [StoredObject(i.key, i.size, i.last_modified) for i in listing.contents]
            yield ObjectPage(objects, listing.common_prefixes)
            if not listing.is_truncated or not listing.next_continuation_token:
                return
            token = listing.next_continuation_token

    def put_object(self, bucket: str, key: str, source: Path, content_type: str | None = None) -> None:
        self.emulator.objects.put_object(bucket, key, source, content_type=content_type)

    def get_object(self, bucket: str, key: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self.emulator.objects.open_object(bucket, key) as body, open(dest, "wb") as fh:
            while chunk := body.read(1 << 20):
                fh.write(chunk)

    def copy_object(
        self, source_bucket: str, source_key: str, bucket: str, key: str, content_type: str | None = None
    ) -> None:
        objects = self.emulator.objects
        info = objects.head_object(source_bucket, source_key)
        source = objects.object_path(source_bucket, source_key)
        objects.put_object(bucket, key, source, content_type=content_type or info.content_type)

    # --- training images ---

    def build_images(
        self, versions: Sequence[str], *, base_image: str | None, offline: bool, force: bool, log: Log
    ) -> Iterator[str]:
        raise BackendError(self._no_images())

    def list_images(self) -> list[dict[str, str]]:
        raise BackendError(self._no_images())

    def _no_images(self) -> str:
        return (
            f"The {self.name} backend runs the algorithm without an image; images are for --backend docker."
        )

    # --- model evaluation ---

    def invoke_model_artifact(
        self,
        model_data: str,
        image_uri: str,
        bodies: Iterable[bytes],
        content_type: str | None = "text/csv",
        accept: str | None = "text/csv",
    ) -> Iterator[bytes]:
        archive = self.fetch_artifact(model_data, Path()) if model_data.startswith("s3://") else Path(model_data)
        yield from invoke_archive(archive, image_uri, bodies, content_type, accept, where=model_data)

    # --- SageMaker batch transform ---

    def create_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.emulator.transforms.create_transform_job(request)

    def describe_transform_job(self, name: str) -> dict[str, Any]:
        return self.emulator.transforms.describe_transform_job(name)

    def list_transform_jobs(self, **params: Any) -> dict[str, Any]:
        return self.emulator.transforms.list_transform_jobs(**params)

    def stop_transform_job(self, name: str) -> None:
        self.emulator.transforms.stop_transform_job(name)

    def transform_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        return self.emulator.transforms.log_events(name, start_time)

    def wait_transform(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        interval = self.poll_interval if poll_interval is None else poll_interval
        return wait_until_transform_ended(self.describe_transform_job, name, interval, timeout)
