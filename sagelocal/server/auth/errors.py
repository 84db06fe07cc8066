"""The errors a failed authentication gets, in the vocabulary of the protocol the request reached.

Sources for codes, messages and statuses are listed in :mod:`sagelocal.server.auth`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from botocore.auth import SIGV4_TIMESTAMP

from sagelocal.aws.errors import ServiceError

#: AWS rejects a request whose timestamp is more than 15 minutes from its clock (the messages say "15 min.").
MAX_SKEW = timedelta(minutes=15)
S3_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
AWS_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
MISSING_TOKEN = "Request is missing Authentication Token"


class Protocol(StrEnum):
    """The error vocabulary of the endpoint a request reached."""

    S3 = "s3"  #: S3 REST: XML ``<Error>`` documents
    JSON = "json"  #: AWS JSON 1.0/1.1 (SageMaker, CloudWatch Logs)
    QUERY = "query"  #: AWS query protocol (STS)


class SignatureError(ServiceError):
    """A request that failed authentication, as the service would answer it: ``code``, ``message``,
    ``http_status``, and ``extra`` elements S3 adds to its error document (ignored by the other protocols)."""

    def __init__(self, code: str, message: str, status: int, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = status
        self.extra: dict[str, str] = extra


def missing(protocol: Protocol) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError("AccessDenied", "Access Denied", 403)
    if protocol is Protocol.JSON:
        return SignatureError("MissingAuthenticationTokenException", MISSING_TOKEN, 400)
    return SignatureError("MissingAuthenticationToken", MISSING_TOKEN, 403)


def incomplete(protocol: Protocol, message: str, *, query: bool = False) -> SignatureError:
    if protocol is Protocol.S3:
        if query:
            return SignatureError("AuthorizationQueryParametersError", message, 400)
        return SignatureError(
            "AuthorizationHeaderMalformed", f"The authorization header is malformed; {message}", 400
        )
    if protocol is Protocol.JSON:
        return SignatureError("IncompleteSignatureException", message, 400)
    return SignatureError("IncompleteSignature", message, 400)


def unknown_key(protocol: Protocol, key_id: str) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
            AWSAccessKeyId=key_id,
        )
    if protocol is Protocol.JSON:
        return SignatureError("UnrecognizedClientException", INVALID_TOKEN, 400)
    return SignatureError("InvalidClientTokenId", INVALID_TOKEN, 403)


def mismatch(protocol: Protocol, message: str | None = None, **extra: str) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError("SignatureDoesNotMatch", message or S3_MISMATCH, 403, **extra)
    if protocol is Protocol.JSON:
        return SignatureError("InvalidSignatureException", message or AWS_MISMATCH, 400)
    return SignatureError("SignatureDoesNotMatch", message or AWS_MISMATCH, 403)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SIGV4_TIMESTAMP)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def skewed(protocol: Protocol, request_time: datetime, now: datetime, shown: str) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
            RequestTime=shown,
            ServerTime=iso(now),
            MaxAllowedSkewMilliseconds=str(int(MAX_SKEW.total_seconds() * 1000)),
        )
    if request_time < now:
        message = (
            f"Signature expired: {stamp(request_time)} is now earlier than {stamp(now - MAX_SKEW)} "
            f"({stamp(now)} - 15 min.)"
        )
    else:
        message = (
            f"Signature not yet current: {stamp(request_time)} is still later than {stamp(now + MAX_SKEW)} "
            f"({stamp(now)} + 15 min.)"
        )
    return mismatch(protocol, message)


def expired(protocol: Protocol, expires: datetime, now: datetime, **extra: str) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError(
            "AccessDenied", "Request has expired", 403, **extra, Expires=iso(expires), ServerTime=iso(now)
        )
    if protocol is Protocol.JSON:
        return SignatureError(
            "InvalidSignatureException",
            f"Signature expired: {stamp(expires)} is now earlier than {stamp(now)}",
            400,
        )
    return SignatureError("RequestExpired", "Request has expired.", 400)
