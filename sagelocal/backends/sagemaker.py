"""The ``sagemaker`` backend: the same training job, run by the real Amazon SageMaker service.

Everything goes through boto3 clients built with boto3's standard endpoint resolution, so the per-service
endpoint variables (``AWS_ENDPOINT_URL_SAGEMAKER``, ``AWS_ENDPOINT_URL_S3``,
``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``, ``AWS_ENDPOINT_URL_STS``) redirect it, e.g. to ``sagelocal serve``.
No ``endpoint_url`` is ever passed explicitly. boto3 and the SageMaker SDK are imported lazily: the CLI
imports this module on every ``--backend sagemaker`` run and start-up time matters.

The SDK is used only where it adds something: ``sagemaker.image_uris.retrieve`` for the built-in image URI
of a version in a region. The default bucket is resolved as the SDK's ``Session.default_bucket()`` does
(``sagemaker-<region>-<account>``, created if missing), but with the account from an STS client that honours
``AWS_ENDPOINT_URL_STS`` (the SDK's own path hard-codes the STS endpoint).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sagelocal import config
from sagelocal.aws import errors
from sagelocal.backends.base import ROLE_ENV, BackendError, Bucket, Log, MetricPoint, ObjectPage, StoredObject
from sagelocal.backends.waiting import (
    wait_until_ended,
    wait_until_endpoint_settled,
    wait_until_transform_ended,
)

#: The CloudWatch Logs group SageMaker writes training-job logs to.
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
#: Seconds between DescribeTrainingJob polls against real AWS, and against a loopback endpoint.
AWS_POLL_INTERVAL = 5.0
LOOPBACK_POLL_INTERVAL = 0.5

NO_CREDENTIALS = (
    "No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) "
    "to use --backend sagemaker."
)
NO_REGION = "No AWS region configured: set AWS_DEFAULT_REGION (or AWS_REGION) to use --backend sagemaker."
NO_ROLE = (
    "No SageMaker execution role given: pass --role arn:aws:iam::<account>:role/<name> "
    f"(or set {ROLE_ENV}) to use --backend sagemaker."
)
NO_IMAGES = (
    "The sagemaker backend runs the real built-in images from Amazon ECR; sagelocal's images are for "
    "--backend docker."
)

#: AWS error codes that have a sagelocal ServiceError subclass of the same name.
_ERROR_CLASSES: dict[str, type[errors.ServiceError]] = {
    cls.code: cls
    for cls in (
        errors.ValidationException,
        errors.ResourceInUse,
        errors.ResourceNotFound,
        errors.ResourceNotFoundException,
        errors.NoSuchBucket,
        errors.NoSuchKey,
        errors.NoSuchUpload,
        errors.InvalidBucketName,
        errors.InvalidArgument,
        errors.InvalidRange,
        errors.RuntimeValidationError,
        errors.ServiceUnavailable,
    )
}
#: Host suffixes of AWS's own endpoints: a client resolving to one of them talks to real AWS.
_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")


def image_uri(version: str, region: str | None = None) -> str:
    """The real ECR URI of the built-in XGBoost image ``version`` in ``region`` (default: the configured
    region, else us-east-1), from the SageMaker SDK: ``latest`` → ``…/xgboost:latest``, ``1`` →
    ``…/xgboost:1``, ``1.7-1`` → ``…/sagemaker-xgboost:1.7-1``. Raises BackendError for an unknown version."""
    return _retrieve_image_uri(version, region or config.region())


@functools.lru_cache(maxsize=64)
def _retrieve_image_uri(version: str, region: str) -> str:
    with _quiet_sdk():
        from sagemaker import image_uris

        try:
            return image_uris.retrieve("xgboost", region, version)
        except ValueError as exc:
            # The SDK's message is multi-line for some failures; the CLI prints one line.
            raise BackendError(" ".join(str(exc).split())) from None


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """Import and call the SageMaker SDK without its v2-deprecation banner and config-file INFO lines."""
    import logging

    config_logger = logging.getLogger("sagemaker.config")
    if config_logger.level == logging.NOTSET:
        config_logger.setLevel(logging.WARNING)
    previous = os.environ.get("SAGEMAKER_SUPPRESS_V2_WARNING")
    os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SAGEMAKER_SUPPRESS_V2_WARNING", None)
        else:
            os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] = previous


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → ``("bucket", "some/key")``; ``bucket/key`` is accepted too."""
    rest = uri[len("s3://") :] if uri.startswith("s3://") else uri
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise BackendError(f"Not an S3 URI: '{uri}' (expected s3://<bucket>/<key>).")
    return bucket, key


def is_loopback_url(url: str | None) -> bool:
    """True when ``url``'s host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlparse(url or "").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_aws_url(url: str | None) -> bool:
    """True when ``url`` is one of AWS's own endpoints, i.e. no endpoint override redirected the client."""
    host = (urlparse(url or "").hostname or "").lower()
    return host.endswith(_AWS_HOST_SUFFIXES)


def service_error(exc: Exception) -> errors.ServiceError:
    """The sagelocal ServiceError for a botocore ClientError: the subclass named by its AWS error code
    (ValidationException, ResourceInUse, ResourceNotFound, …), else a ServiceError carrying that code."""
    err = getattr(exc, "response", {}).get("Error", {})
    code = str(err.get("Code") or "ServiceError")
    message = " ".join(str(err.get("Message") or err.get("message") or "").split())
    cls = _ERROR_CLASSES.get(code)
    if cls is not None:
        return cls(message)
    result = errors.ServiceError(message)
    result.code = code
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    if isinstance(status, int):
        result.http_status = status
    return result


def model_error(exc: Any) -> errors.ModelError:
    """sagemaker-runtime's ModelError with the fields boto3 puts beside ``Error``."""
    response = exc.response
    return errors.ModelError(
        str(response.get("Error", {}).get("Message") or response.get("Message") or ""),
        int(response.get("OriginalStatusCode") or 0),
        str(response.get("OriginalMessage") or ""),
        str(response.get("LogStreamArn") or ""),
    )


class SageMakerBackend:
    """Runs training jobs on Amazon SageMaker (or whatever the boto3 endpoint variables point at).

    Construction does no I/O. The first AWS-facing call checks, without network, that credentials and a
    region are configured, and raises BackendError with one line naming what to set if not.
    """

    name = "sagemaker"
    #: DescribeTrainingJob on every poll (polls are already spaced by ``poll_interval``).
    describe_interval = 0.0
    #: Artifacts live in S3: ``fetch_artifact`` downloads them.
    downloads_artifacts = True

    def __init__(self, region: str | None = None, poll_interval: float | None = None) -> None:
        self._region_override = region
        self._poll_interval = poll_interval
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._account: str | None = None
        self._bucket: str | None = None

    # --- configuration -------------------------------------------------------------------------------------

    @property
    def poll_interval(self) -> float:
        """Seconds between describe polls: 5 s for real AWS, 0.5 s when the SageMaker endpoint is loopback."""
        if self._poll_interval is None:
            try:
                url = self._client("sagemaker").meta.endpoint_url
            except BackendError:
                return AWS_POLL_INTERVAL
            self._poll_interval = LOOPBACK_POLL_INTERVAL if is_loopback_url(url) else AWS_POLL_INTERVAL
        return self._poll_interval

    @poll_interval.setter
    def poll_interval(self, value: float) -> None:
        self._poll_interval = value

    @property
    def region(self) -> str:
        """The region jobs run in: ``AWS_REGION``, else botocore's (``AWS_DEFAULT_REGION``, the profile)."""
        return self._boto_session().region_name

    def image_uri(self, version: str) -> str:
        """The built-in XGBoost image URI of ``version`` in this backend's region."""
        return image_uri(version, self.region)

    def check(self) -> None:
        """Raise BackendError (one line) if credentials or a region are missing. No network."""
        self._boto_session()

    def check_role(self, role_arn: str | None) -> None:
        """Refuse to send the local dummy role (or none) to real AWS: require ``--role`` or
        ``SAGELOCAL_ROLE_ARN``. Endpoints redirected elsewhere (e.g. to ``sagelocal serve``) accept it."""
        if role_arn and role_arn != config.DUMMY_ROLE_ARN:
            return
        if is_aws_url(self._client("sagemaker").meta.endpoint_url):
            raise BackendError(NO_ROLE)

    def _boto_session(self) -> Any:
        if self._session is not None:
            return self._session
        import boto3
        import botocore.session
        from botocore.exceptions import ProfileNotFound

        core = botocore.session.Session()
        region = self._region_override or os.environ.get("AWS_REGION") or None
        try:
            region = region or core.get_config_variable("region")
            credentials = core.get_credentials()
        except ProfileNotFound as exc:
            raise BackendError(
                f"{exc}: set AWS_PROFILE to a profile in your AWS config (or unset it) "
                "to use --backend sagemaker."
            ) from None
        except Exception as exc:  # e.g. a malformed config file or credential_process
            raise BackendError(f"{' '.join(str(exc).split())} (needed to use --backend sagemaker)") from None
        if credentials is None:
            raise BackendError(NO_CREDENTIALS)
        if not region:
            raise BackendError(NO_REGION)
        self._session = boto3.Session(botocore_session=core, region_name=region)
        return self._session

    def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            from botocore.config import Config

            session = self._boto_session()
            cfg = Config(user_agent_extra="sagelocal")
            client = session.client(service, config=cfg)
            if service == "logs" and is_aws_url(client.meta.endpoint_url):
                # CloudWatch Logs throttles polling (DescribeLogStreams: 5 TPS); the SDK retries 15 times.
                client = session.client(service, config=cfg.merge(Config(retries={"max_attempts": 15})))
            if service == "s3" and is_loopback_url(client.meta.endpoint_url):
                # A local server has no wildcard DNS for virtual-hosted buckets (bucket.localhost).
                client = session.client(service, config=cfg.merge(Config(s3={"addressing_style": "path"})))
            self._clients[service] = client
        return client

    @contextlib.contextmanager
    def _aws(self) -> Iterator[None]:
        """Translate botocore failures into what the CLI prints: ServiceError subclasses for service errors,
        one-line BackendErrors for client-side problems."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            ParamValidationError,
        )

        try:
            yield
        except ClientError as exc:
            raise service_error(exc) from None
        except S3UploadFailedError as exc:  # upload_file wraps the ClientError it caught
            if isinstance(exc.__context__, ClientError):
                raise service_error(exc.__context__) from None
            raise BackendError(" ".join(str(exc).split())) from None
        except NoCredentialsError:
            raise BackendError(NO_CREDENTIALS) from None
        except ParamValidationError as exc:
            raise errors.ValidationException(" ".join(str(exc).split())) from None
        except BotoCoreError as exc:
            raise BackendError(" ".join(str(exc).split())) from None

    # --- SageMaker -----------------------------------------------------------------------------------------

    def create_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateTrainingJob with ``request`` exactly as given (boto3 shape)."""
        self.check_role(request.get("RoleArn"))
        with self._aws():
            response = self._client("sagemaker").create_training_job(**request)
        return _strip(response)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        with self._aws():
            response = self._client("sagemaker").describe_training_job(TrainingJobName=name)
        return _strip(response)

    def list_training_jobs(self, **params: Any) -> dict[str, Any]:
        params = {k: v for k, v in params.items() if v is not None}
        with self._aws():
            response = self._client("sagemaker").list_training_jobs(**params)
        return _strip(response)

    def stop_training_job(self, name: str) -> None:
        with self._aws():
            self._client("sagemaker").stop_training_job(TrainingJobName=name)

    def wait(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Poll DescribeTrainingJob until Completed, Failed or Stopped; return that final document."""
        interval = self.poll_interval if poll_interval is None else poll_interval
        return wait_until_ended(self.describe_training_job, name, interval, timeout)

    def training_metrics(self, name: str) -> dict[str, list[MetricPoint]]:
        """The job's metrics from CloudWatch, read as TrainingJobAnalytics reads them (``backends/metrics``)."""
        from sagelocal.backends.metrics import cloudwatch_metric_points

        description = self.describe_training_job(name)
        with self._aws():
            return cloudwatch_metric_points(self._client("cloudwatch"), description)

    # --- SageMaker hosting ---------------------------------------------------------------------------------

    def _sagemaker(self, operation: str, **params: Any) -> dict[str, Any]:
        with self._aws():
            response = getattr(self._client("sagemaker"), operation)(**params)
        return _strip(response)

    def create_model(self, request: dict[str, Any]) -> dict[str, Any]:
        self.check_role(request.get("ExecutionRoleArn"))
        return self._sagemaker("create_model", **request)

    def describe_model(self, name: str) -> dict[str, Any]:
        return self._sagemaker("describe_model", ModelName=name)

    def list_models(self, **params: Any) -> dict[str, Any]:
        return self._sagemaker("list_models", **{k: v for k, v in params.items() if v is not None})

    def delete_model(self, name: str) -> None:
        self._sagemaker("delete_model", ModelName=name)

    def create_endpoint_config(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._sagemaker("create_endpoint_config", **request)

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        return self._sagemaker("describe_endpoint_config", EndpointConfigName=name)

    def list_endpoint_configs(self, **params: Any) -> dict[str, Any]:
        return self._sagemaker("list_endpoint_configs", **{k: v for k, v in params.items() if v is not None})

    def delete_endpoint_config(self, name: str) -> None:
        self._sagemaker("delete_endpoint_config", EndpointConfigName=name)

    def create_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._sagemaker("create_endpoint", **request)

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        return self._sagemaker("describe_endpoint", EndpointName=name)

    def list_endpoints(self, **params: Any) -> dict[str, Any]:
        return self._sagemaker("list_endpoints", **{k: v for k, v in params.items() if v is not None})

    def update_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._sagemaker("update_endpoint", **request)

    def delete_endpoint(self, name: str) -> None:
        self._sagemaker("delete_endpoint", EndpointName=name)

    def invoke_endpoint(
        self, endpoint_name: str, body: bytes, content_type: str | None = None, accept: str | None = None
    ) -> dict[str, Any]:
        """InvokeEndpoint through a ``sagemaker-runtime`` client (``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``
        redirects it); a ModelError keeps the container's status, message and log stream."""
        from botocore.exceptions import ClientError

        params: dict[str, Any] = {"EndpointName": endpoint_name, "Body": body}
        if content_type is not None:
            params["ContentType"] = content_type
        if accept is not None:
            params["Accept"] = accept
        with self._aws():
            try:
                response = self._client("sagemaker-runtime").invoke_endpoint(**params)
                payload = response["Body"].read()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ModelError":
                    raise model_error(exc) from None
                raise
        result = _strip(response)
        result["Body"] = payload
        return result

    def wait_endpoint(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        interval = self.poll_interval if poll_interval is None else poll_interval
        return wait_until_endpoint_settled(self.describe_endpoint, name, interval, timeout)

    # --- CloudWatch Logs -----------------------------------------------------------------------------------

    # --- SageMaker hyperparameter tuning ---------------------------------------------------------------------

    def create_hyper_parameter_tuning_job(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateHyperParameterTuningJob with ``request`` exactly as given (boto3 shape)."""
        for definition in [request.get("TrainingJobDefinition"), *(request.get("TrainingJobDefinitions") or [])]:
            if definition:
                self.check_role(definition.get("RoleArn"))
        return self._sagemaker("create_hyper_parameter_tuning_job", **request)

    def describe_hyper_parameter_tuning_job(self, name: str) -> dict[str, Any]:
        return self._sagemaker("describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)

    def list_hyper_parameter_tuning_jobs(self, **params: Any) -> dict[str, Any]:
        params = {k: v for k, v in params.items() if v is not None}
        return self._sagemaker("list_hyper_parameter_tuning_jobs", **params)

    def list_training_jobs_for_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        params = {k: v for k, v in params.items() if v is not None}
        return self._sagemaker("list_training_jobs_for_hyper_parameter_tuning_job", **params)

    def stop_hyper_parameter_tuning_job(self, name: str) -> None:
        self._sagemaker("stop_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)

    def get_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        """The job's events from all its ``<job>/…`` streams, merged by timestamp, each with
        ``logStreamName``; only ``timestamp >= start_time`` (epoch ms) when given. A log group that does not
        exist yet means no events yet."""
        logs = self._client("logs")
        merged: list[dict[str, Any]] = []
        try:
            with self._aws():
                for stream in self._log_stream_names(logs, name):
                    merged.extend(self._stream_events(logs, stream, start_time))
        except errors.ResourceNotFoundException:  # "The specified log group does not exist."
            return []
        merged.sort(key=lambda e: e["timestamp"])  # stable: per-stream order kept for equal timestamps
        return merged

    @staticmethod
    def _log_stream_names(logs: Any, name: str, group: str = LOG_GROUP) -> list[str]:
        params: dict[str, Any] = {
            "logGroupName": group,
            "logStreamNamePrefix": f"{name}/",
            "orderBy": "LogStreamName",
        }
        names: list[str] = []
        seen: set[str] = set()
        while True:
            page = logs.describe_log_streams(**params)
            names.extend(s["logStreamName"] for s in page.get("logStreams", []))
            token = page.get("nextToken")
            if not token or token in seen:
                return names
            seen.add(token)
            params["nextToken"] = token

    @staticmethod
    def _stream_events(
        logs: Any, stream: str, start_time: int | None, group: str = LOG_GROUP
    ) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        params: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if start_time is not None:
            params["startTime"] = int(start_time)
        events: list[dict[str, Any]] = []
        while True:
            try:
                page = logs.get_log_events(**params)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return events  # the stream went away after DescribeLogStreams listed it
                raise
            batch = page.get("events", [])
            if not batch:
                return events
            for event in batch:
                events.append(
                    {
                        "logStreamName": stream,
                        "timestamp": event["timestamp"],
                        "message": event["message"],
                        "ingestionTime": event.get("ingestionTime", event["timestamp"]),
                    }
                )
            token = page.get("nextForwardToken")
            if not token or token == params.get("nextToken"):
                return events
            params["nextToken"] = token

    # --- S3 ------------------------------------------------------------------------------------------------

    def account_id(self) -> str:
        """The caller's account from STS GetCallerIdentity (standard client: AWS_ENDPOINT_URL_STS applies)."""
        if self._account is None:
            with self._aws():
                self._account = self._client("sts").get_caller_identity()["Account"]
        return self._account

    def default_bucket(self) -> str:
        """``sagemaker-<region>-<account>``, created if missing (as the SDK's ``default_bucket()`` does)."""
        if self._bucket is not None:
            return self._bucket
        from botocore.exceptions import ClientError

        region = self.region
        account = self.account_id()
        bucket = f"sagemaker-{region}-{account}"
        s3 = self._client("s3")
        with self._aws():
            try:
                s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code"))
                if code in ("404", "NoSuchBucket"):
                    self._create_bucket(s3, bucket, region)
                elif code in ("403", "AccessDenied"):
                    raise BackendError(
                        f"Bucket {bucket} is not accessible as the default bucket: it may be owned by "
                        "another account or access is forbidden. "
                        "Pass --output-path s3://<your-bucket>/<prefix> instead."
                    ) from None
                else:
                    raise
        self._bucket = bucket
        return bucket

    def _create_bucket(self, s3: Any, bucket: str, region: str) -> None:
        from botocore.exceptions import ClientError

        params: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":  # us-east-1 is the default and may not be named
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**params)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            if err.get("Code") == "BucketAlreadyOwnedByYou":
                return
            if err.get("Code") == "OperationAborted" and "conflicting conditional operation" in str(
                err.get("Message", "")
            ):
                return  # being created concurrently
            raise

    def upload_input(self, path: Path, s3_prefix: str) -> str:
        """Upload a file or folder under ``s3_prefix`` (``s3://bucket/prefix``) as the SDK's ``upload_data``
        does: a file goes to ``<prefix>/<name>`` and that object's URI is returned; a folder's files keep
        their relative paths and ``s3://bucket/prefix`` is returned."""
        path = Path(path)
        bucket, prefix = split_s3_uri(s3_prefix)
        prefix = prefix.strip("/")
        base = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"

        def key(relative: str) -> str:
            return f"{prefix}/{relative}" if prefix else relative

        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            if not files:
                raise BackendError(f"Nothing to upload: folder {path} has no files.")
            uploads = [(p, key(p.relative_to(path).as_posix())) for p in files]
            result = base
        elif path.is_file():
            uploads = [(path, key(path.name))]
            result = f"{base}/{path.name}"
        else:
            raise BackendError(f"Cannot upload {path}: no such file or folder.")
        s3 = self._client("s3")
        with self._aws():
            for local, object_key in uploads:
                s3.upload_file(str(local), bucket, object_key)
        return result

    def fetch_artifact(self, s3_uri: str, dest_dir: Path) -> Path:
        """Download ``s3_uri`` (e.g. the job's model.tar.gz) into ``dest_dir``; return the local file."""
        bucket, key = split_s3_uri(s3_uri)
        dest_dir = Path(dest_dir)
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = dest_dir / (key.rstrip("/").rpartition("/")[2] or "artifact")
        from botocore.exceptions import ClientError

        with self._aws():
            try:
                self._client("s3").download_file(bucket, key, str(target))
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey"):
                    raise errors.NoSuchKey(f"The specified key does not exist: {s3_uri}") from None
                raise
        return target

    # --- S3 for ``sagelocal s3`` ---------------------------------------------------------------------------

    def make_bucket(self, bucket: str) -> None:
        """CreateBucket in this backend's region; a bucket of one's own that exists already is fine."""
        with self._aws():
            self._create_bucket(self._client("s3"), bucket, self.region)

    def list_buckets(self) -> list[Bucket]:
        with self._aws():
            response = self._client("s3").list_buckets()
        return sorted(
            (Bucket(b["Name"], b["CreationDate"]) for b in response.get("Buckets", [])), key=lambda b: b.name
        )

    def list_objects(
        self, bucket: str, prefix: str = "", delimiter: str | None = None
    ) -> Iterator[ObjectPage]:
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        with self._aws():
            for page in self._client("s3").get_paginator("list_objects_v2").paginate(**params):
                objects = [
                    StoredObject(o["Key"], o["Size"], o["LastModified"]) for o in page.get("Contents", [])
                ]
                yield ObjectPage(objects, [p["Prefix"] for p in page.get("CommonPrefixes", [])])

    def put_object(self, bucket: str, key: str, source: Path, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        with self._aws():
            self._client("s3").upload_file(str(source), bucket, key, ExtraArgs=extra)

    def get_object(self, bucket: str, key: str, dest: Path) -> None:
        """GetObject streamed into ``dest``; the file is made only once the object is found."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._aws():
            body = self._client("s3").get_object(Bucket=bucket, Key=key)["Body"]
            with open(dest, "wb") as fh:
                for chunk in body.iter_chunks(1 << 20):
                    fh.write(chunk)

    def copy_object(
        self, source_bucket: str, source_key: str, bucket: str, key: str, content_type: str | None = None
    ) -> None:
        """CopyObject (one request: up to 5 GB); a new Content-Type replaces the source's metadata."""
        params: dict[str, Any] = {"CopySource": {"Bucket": source_bucket, "Key": source_key}}
        if content_type:
            params.update(ContentType=content_type, MetadataDirective="REPLACE")
        with self._aws():
            self._client("s3").copy_object(Bucket=bucket, Key=key, **params)

    # --- training images -----------------------------------------------------------------------------------

    def build_images(
        self, versions: Sequence[str], *, base_image: str | None, offline: bool, force: bool, log: Log
    ) -> Iterator[str]:
        raise BackendError(NO_IMAGES)

    def list_images(self) -> list[dict[str, str]]:
        raise BackendError(NO_IMAGES)

    # --- model evaluation ----------------------------------------------------------------------------------

    def invoke_model_artifact(
        self,
        model_data: str,
        image_uri: str,
        bodies: Iterable[bytes],
        content_type: str | None = "text/csv",
        accept: str | None = "text/csv",
    ) -> Iterator[bytes]:
        """The artifact is downloaded from S3 and scored on this machine: SageMaker itself scores a model only
        behind an endpoint or in a transform job."""
        import tempfile

        from sagelocal.backends.artifact_model import invoke_archive

        with tempfile.TemporaryDirectory(prefix="sagelocal-artifact-") as scratch:
            if model_data.startswith("s3://"):
                archive = self.fetch_artifact(model_data, Path(scratch))
            else:
                archive = Path(model_data)
            yield from invoke_archive(archive, image_uri, bodies, content_type, accept, where=model_data)

    # --- SageMaker batch transform -------------------------------------------------------------------------

    def create_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._sagemaker("create_transform_job", **request)

    def describe_transform_job(self, name: str) -> dict[str, Any]:
        return self._sagemaker("describe_transform_job", TransformJobName=name)

    def list_transform_jobs(self, **params: Any) -> dict[str, Any]:
        return self._sagemaker("list_transform_jobs", **{k: v for k, v in params.items() if v is not None})

    def stop_transform_job(self, name: str) -> None:
        self._sagemaker("stop_transform_job", TransformJobName=name)

    def transform_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        """As :meth:`get_log_events`, from ``/aws/sagemaker/TransformJobs``."""
        logs = self._client("logs")
        merged: list[dict[str, Any]] = []
        try:
            with self._aws():
                for stream in self._log_stream_names(logs, name, TRANSFORM_LOG_GROUP):
                    merged.extend(self._stream_events(logs, stream, start_time, TRANSFORM_LOG_GROUP))
        except errors.ResourceNotFoundException:
            return []
        merged.sort(key=lambda e: e["timestamp"])
        return merged

    def wait_transform(
        self, name: str, poll_interval: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        interval = self.poll_interval if poll_interval is None else poll_interval
        return wait_until_transform_ended(self.describe_transform_job, name, interval, timeout)


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}
