"""Service errors, shaped like the AWS errors a boto3 client would raise.

Each error carries the AWS error ``code`` (``__type`` on the JSON 1.1 wire, ``<Code>`` in S3's XML) and the
``message`` text. The HTTP server maps them onto the wire; the CLI prints ``code: message``.
"""

from __future__ import annotations


class ServiceError(Exception):
    code: str = "ServiceError"
    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationException(ServiceError):
    code = "ValidationException"


class SerializationException(ValidationException):
    """The request body did not deserialize into the operation's shapes (not JSON, a number where a string
    belongs, …). A ValidationException subclass so callers that catch validation failures catch this too."""

    code = "SerializationException"


class ResourceInUse(ServiceError):
    code = "ResourceInUse"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"


class ResourceLimitExceeded(ServiceError):
    """SageMaker's quota error, e.g. ``The account-level service limit 'ml.m5.xlarge for training job usage' is
    4 Instances, with current utilization of 0 Instances and a request delta of 5 Instances. …``"""

    code = "ResourceLimitExceeded"


class AccessDenied(ServiceError):
    """S3's ``AccessDenied`` (HTTP 403). ``extra`` holds the error document's further elements (``Key``,
    ``BucketName``)."""

    code = "AccessDenied"
    http_status = 403

    def __init__(self, message: str = "Access Denied", **extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class InvalidParameterException(ServiceError):
    """CloudWatch Logs' validation error: its constraint violations carry the same ``1 validation error
    detected: …`` text as SageMaker's ValidationException, under this code."""

    code = "InvalidParameterException"


class ResourceNotFoundException(ServiceError):
    """CloudWatch Logs' spelling, e.g. ``The specified log group does not exist.``"""

    code = "ResourceNotFoundException"


# --- S3 ---------------------------------------------------------------------------------------------------


class NoSuchBucket(ServiceError):
    code = "NoSuchBucket"
    http_status = 404


class NoSuchKey(ServiceError):
    code = "NoSuchKey"
    http_status = 404


class NoSuchUpload(ServiceError):
    code = "NoSuchUpload"
    http_status = 404


class InvalidBucketName(ServiceError):
    code = "InvalidBucketName"


class InvalidArgument(ServiceError):
    """A key or part the store will not accept (e.g. a NUL byte), or a bad multipart part list."""

    code = "InvalidArgument"


class InvalidRange(ServiceError):
    code = "InvalidRange"
    http_status = 416


# --- training-job failures ----------------------------------------------------------------------------------

#: FailureReason kinds SageMaker uses for platform failures: the request's fault, or the service's.
CLIENT_ERROR = "ClientError"
INTERNAL_SERVER_ERROR = "InternalServerError"


class JobFailure(Exception):
    """A failure of the platform (not of the algorithm) that ends a job Failed. ``str()`` is the job's
    FailureReason: ``<kind>: <message>``, or the bare message when ``kind`` is ``None`` (a message that names
    its own remedy, such as a Docker engine that is not running)."""

    def __init__(self, kind: str | None, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message if self.kind is None else f"{self.kind}: {self.message}"


# --- the SageMaker runtime (InvokeEndpoint) ---------------------------------------------------------------


class RuntimeValidationError(ServiceError):
    """sagemaker-runtime's validation error: code ``ValidationError`` (the control plane says
    ``ValidationException``), e.g. ``Endpoint <name> of account <acct> not found.``"""

    code = "ValidationError"


class ModelError(ServiceError):
    """The container answered InvokeEndpoint with a 4xx/5xx (botocore ``sagemaker-runtime`` ``ModelError``, HTTP
    424), carrying the container's status and body and the endpoint's log group ARN."""

    code = "ModelError"
    http_status = 424

    def __init__(
        self, message: str, original_status: int, original_message: str, log_stream_arn: str
    ) -> None:
        super().__init__(message)
        self.original_status = original_status
        self.original_message = original_message
        self.log_stream_arn = log_stream_arn


class ServiceUnavailable(ServiceError):
    code = "ServiceUnavailable"
    http_status = 503


class PayloadTooLarge(ServiceError):
    """An InvokeEndpoint body over the limit: HTTP 413 with no error code (boto3 shows the code as ``413``)."""

    code = "413"
    http_status = 413
