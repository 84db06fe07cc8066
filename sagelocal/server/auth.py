"""Request signature verification: only the holder of the server's credentials can call it.

Every form of authentication an AWS SDK or the AWS CLI sends is checked against
:class:`sagelocal.server.credentials.Credentials`:

- Signature V4 in the ``Authorization`` header (``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
  Signature=…``), with S3's ``X-Amz-Content-SHA256`` payload hash, ``UNSIGNED-PAYLOAD`` and the streaming forms;
- Signature V4 presigned query URLs (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
  ``X-Amz-SignedHeaders``, ``X-Amz-Signature``), expiry honoured;
- Signature V2 (``AWS <key>:<signature>`` headers, and ``AWSAccessKeyId``/``Expires``/``Signature`` presigned
  query URLs, which ``aws s3 presign`` of AWS CLI v1 makes);
- the per-chunk signatures of ``aws-chunked`` bodies (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``), through
  :class:`ChunkSignatureVerifier`, which the S3 body decoder calls as chunks arrive.

The expected signature is computed by botocore's own signers (``botocore.auth.SigV4Auth``, ``S3SigV4Auth``,
``SigV4QueryAuth``, ``S3SigV4QueryAuth``, ``HmacV1Auth``, ``HmacV1QueryAuth``), fed with the request exactly as
the client sent it: the raw path and query (ASGI ``raw_path`` / ``query_string``), only the headers it signed,
and its own timestamp. A second implementation of the canonicalisation rules would drift from the client's;
the client's own code cannot. The only overrides are the ones a verifier needs: the signed header set comes
from ``SignedHeaders`` instead of "every header present", and dates come from the request instead of the clock.

Failures raise :class:`SignatureError`, a :class:`~sagelocal.aws.errors.ServiceError` carrying the code,
message and HTTP status the real service returns, so each wire module renders it in its own protocol (S3 XML
with ``extra`` elements, AWS JSON 1.1 ``__type``, STS ``ErrorResponse``). Sources for those, per
:class:`Protocol`:

- S3: ``SignatureDoesNotMatch`` / ``InvalidAccessKeyId`` texts as moto has them (getmoto/moto,
  moto/s3/exceptions.py); ``RequestTimeTooSkewed`` with ``RequestTime``/``ServerTime``/
  ``MaxAllowedSkewMilliseconds`` (aws/aws-sdk-php#612, versity/versitygw#1514); ``AccessDenied`` "Request has
  expired" with ``X-Amz-Expires``/``Expires``/``ServerTime`` (aws/aws-sdk-php#1333) and "Request is not yet
  valid" (dmjio/s3-signer#16).
- AWS JSON (SageMaker, CloudWatch Logs): all 400. ``InvalidSignatureException`` for a wrong signature
  (teralytics/prometheus-ecs-discovery#7), "Signature expired: … (… - 15 min.)" (aws/aws-sdk-js#254),
  "Credential should be scoped to correct service: 'sagemaker'. " (JuliaCloud/AWS.jl#334);
  ``UnrecognizedClientException`` "The security token included in the request is invalid."
  (aws/amazon-sagemaker-operator-for-k8s#99); ``IncompleteSignatureException`` texts
  (iann0036/cloud9-sync#10); ``MissingAuthenticationTokenException`` "Request is missing Authentication Token"
  (architect/dynalite#105, which mirrors DynamoDB).
- Query (STS): the AWS common errors (``IncompleteSignature`` 400, ``InvalidClientTokenId`` 403,
  ``MissingAuthenticationToken`` 403, ``RequestExpired`` 400; e.g.
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html), ``SignatureDoesNotMatch`` 403
  with the message moto uses (moto/core/exceptions.py) and "Signature expired" for skew (aws/aws-cli#6676).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from botocore.auth import (  # type: ignore[import-untyped]
    EMPTY_SHA256_HASH,
    SIGV4_TIMESTAMP,
    HmacV1Auth,
    HmacV1QueryAuth,
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest, HTTPHeaders  # type: ignore[import-untyped]
from botocore.credentials import Credentials as BotocoreCredentials  # type: ignore[import-untyped]

from sagelocal.aws.errors import ServiceError
from sagelocal.server.credentials import Credentials

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
#: AWS rejects a request whose timestamp is more than 15 minutes from its clock (the messages say "15 min.").
MAX_SKEW = timedelta(minutes=15)
#: The longest a SigV4 presigned URL may live: 7 days (S3: "X-Amz-Expires must be less than a week").
MAX_PRESIGN_SECONDS = 604800
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
_PAYLOAD_MODES = (UNSIGNED_PAYLOAD, STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
#: Printable ASCII but ``#`` and ``?``: what a raw path keeps unencoded when handed to the signer as a URL.
_PATH_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "#?")

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


def _missing(protocol: Protocol) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError("AccessDenied", "Access Denied", 403)
    if protocol is Protocol.JSON:
        return SignatureError("MissingAuthenticationTokenException", MISSING_TOKEN, 400)
    return SignatureError("MissingAuthenticationToken", MISSING_TOKEN, 403)


def _incomplete(protocol: Protocol, message: str, *, query: bool = False) -> SignatureError:
    if protocol is Protocol.S3:
        if query:
            return SignatureError("AuthorizationQueryParametersError", message, 400)
        return SignatureError(
            "AuthorizationHeaderMalformed", f"The authorization header is malformed; {message}", 400
        )
    if protocol is Protocol.JSON:
        return SignatureError("IncompleteSignatureException", message, 400)
    return SignatureError("IncompleteSignature", message, 400)


def _unknown_key(protocol: Protocol, key_id: str) -> SignatureError:
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


def _mismatch(protocol: Protocol, message: str | None = None, **extra: str) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError("SignatureDoesNotMatch", message or S3_MISMATCH, 403, **extra)
    if protocol is Protocol.JSON:
        return SignatureError("InvalidSignatureException", message or AWS_MISMATCH, 400)
    return SignatureError("SignatureDoesNotMatch", message or AWS_MISMATCH, 403)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SIGV4_TIMESTAMP)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _skewed(protocol: Protocol, request_time: datetime, now: datetime, shown: str) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
            RequestTime=shown,
            ServerTime=_iso(now),
            MaxAllowedSkewMilliseconds=str(int(MAX_SKEW.total_seconds() * 1000)),
        )
    if request_time < now:
        message = (
            f"Signature expired: {_stamp(request_time)} is now earlier than {_stamp(now - MAX_SKEW)} "
            f"({_stamp(now)} - 15 min.)"
        )
    else:
        message = (
            f"Signature not yet current: {_stamp(request_time)} is still later than {_stamp(now + MAX_SKEW)} "
            f"({_stamp(now)} + 15 min.)"
        )
    return _mismatch(protocol, message)


def _expired(protocol: Protocol, expires: datetime, now: datetime, **extra: str) -> SignatureError:
    if protocol is Protocol.S3:
        return SignatureError(
            "AccessDenied", "Request has expired", 403, **extra, Expires=_iso(expires), ServerTime=_iso(now)
        )
    if protocol is Protocol.JSON:
        return SignatureError(
            "InvalidSignatureException",
            f"Signature expired: {_stamp(expires)} is now earlier than {_stamp(now)}",
            400,
        )
    return SignatureError("RequestExpired", "Request has expired.", 400)


# --- the request as received ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingRequest:
    """What the verifier needs of a request, exactly as the client sent it. Header names are lower-case and
    values are decoded as latin-1, byte for byte (how HTTP clients encode header strings)."""

    method: str
    raw_path: bytes
    query_string: bytes
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> IncomingRequest:
        """From an ASGI HTTP scope (Starlette's ``request.scope``)."""
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        headers = tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])
        )
        return cls(scope["method"], raw_path, scope.get("query_string", b""), headers)

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return ",".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def query_pairs(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs, each percent-decoded once (``+`` stays ``+``) and read as UTF-8."""
        pairs = []
        for piece in self.query_string.split(b"&"):
            if not piece:
                continue
            name, _, value = piece.partition(b"=")
            pairs.append(
                (
                    unquote_to_bytes(name).decode("utf-8", "replace"),
                    unquote_to_bytes(value).decode("utf-8", "replace"),
                )
            )
        return pairs

    def url_path(self) -> str:
        """The raw path as a URL path string, non-ASCII bytes percent-encoded (a SigV4 client encodes them)."""
        return quote(self.raw_path or b"/", safe=_PATH_SAFE)


# --- the result -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """A request whose signature checked out. ``content_sha256`` is the payload hash the client signed (S3
    header-signed requests with a hex ``X-Amz-Content-SHA256``): the body decoder must compare it with the hash
    of what it received (:meth:`check_payload_sha256`). ``chunks`` verifies an ``aws-chunked`` body's
    signatures; None when the body carries none."""

    access_key_id: str
    scheme: str  #: "sigv4-header", "sigv4-query", "sigv2-header" or "sigv2-query"
    content_sha256: str | None = None
    chunks: ChunkSignatureVerifier | None = None

    def check_payload_sha256(self, actual_hex: str) -> None:
        """Raise S3's ``XAmzContentSHA256Mismatch`` if the body received is not the one that was signed."""
        if self.content_sha256 is not None and not hmac.compare_digest(self.content_sha256, actual_hex):
            raise SignatureError(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400,
                ClientComputedContentSHA256=self.content_sha256,
                S3ComputedContentSHA256=actual_hex,
            )


@dataclass
class ChunkSignatureVerifier:
    """Checks the chained signatures of a ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` body as it is decoded.

    Chunk *n*'s signature signs ``AWS4-HMAC-SHA256-PAYLOAD``, the request timestamp, the credential scope, the
    signature of chunk *n-1* (the header's "seed" signature for the first), the hash of the empty string and the
    hash of the chunk's data (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html). The HMAC
    itself, and the signing key derived from the secret, date, region and service, are botocore's
    (``SigV4Auth.signature``). The ``-TRAILER`` variant ends with a trailer signature over the trailing headers
    (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html).

    Usage, per chunk: :meth:`update` with its data (in as many pieces as it arrives), then :meth:`end_chunk`
    with the ``chunk-signature`` from its header line; the final chunk is the empty one. Then
    :meth:`end_trailer` for the trailer variant, and :meth:`check_complete`. Nothing is committed until then,
    so a body with a bad signature anywhere is refused whole.
    """

    protocol: Protocol
    signer: Any = field(repr=False)
    request: Any = field(repr=False)
    previous: str
    trailer: bool = False
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)
    _final_seen: bool = False
    _trailer_seen: bool = False

    def _sign(self, string_to_sign: str) -> str:
        return str(self.signer.signature(string_to_sign, self.request))

    def _scope(self) -> str:
        return str(self.signer.credential_scope(self.request))

    def update(self, data: bytes) -> None:
        if self._final_seen:
            raise _mismatch(self.protocol)
        self._hash.update(data)

    def end_chunk(self, signature: str | None) -> None:
        """Verify the chunk whose data was fed since the last call; SignatureDoesNotMatch if it was not signed
        with this chain. An empty chunk is the final one."""
        digest = self._hash.hexdigest()
        self._hash = hashlib.sha256()
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                self.request.context["timestamp"],
                self._scope(),
                self.previous,
                EMPTY_SHA256_HASH,
                digest,
            ]
        )
        expected = self._sign(string_to_sign)
        if (
            self._final_seen
            or signature is None
            or not hmac.compare_digest(expected, signature.strip().lower())
        ):
            raise _mismatch(self.protocol)
        self.previous = expected
        if digest == EMPTY_SHA256_HASH:
            self._final_seen = True

    def end_trailer(self, trailer_lines: Sequence[tuple[str, str]], signature: str | None) -> None:
        """Verify ``x-amz-trailer-signature`` over the trailing headers (``name:value`` lines, as sent,
        without the signature line itself)."""
        canonical = "".join(f"{name.strip().lower()}:{value.strip()}\n" for name, value in trailer_lines)
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                self.request.context["timestamp"],
                self._scope(),
                self.previous,
                hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            ]
        )
        expected = self._sign(string_to_sign)
        if not self._final_seen or signature is None or not hmac.compare_digest(expected, signature.strip()):
            raise _mismatch(self.protocol)
        self._trailer_seen = True

    @property
    def complete(self) -> bool:
        return self._final_seen and (self._trailer_seen or not self.trailer)

    def check_complete(self) -> None:
        """SignatureDoesNotMatch unless the final chunk (and the trailer, if promised) was verified."""
        if not self.complete:
            raise _mismatch(self.protocol)


# --- botocore signers, fed the request as received --------------------------------------------------------


class _AsSigned:
    """Mixin: the headers to sign are exactly the request's (which the verifier sets to the client's
    ``SignedHeaders``), instead of botocore's "every header but a few" choice for an outgoing request."""

    def headers_to_sign(self, request: Any) -> Any:
        return request.headers


class _SigV4(_AsSigned, SigV4Auth):  # type: ignore[misc]
    pass


class _S3SigV4(_AsSigned, S3SigV4Auth):  # type: ignore[misc]
    pass


class _SigV4Query(_AsSigned, SigV4QueryAuth):  # type: ignore[misc]
    pass


class _S3SigV4Query(_AsSigned, S3SigV4QueryAuth):  # type: ignore[misc]
    pass


class _HmacV1(HmacV1Auth):  # type: ignore[misc]
    """V2 with the request's own ``Date`` (botocore stamps the current time when signing)."""

    def __init__(self, credentials: Any, date: str) -> None:
        super().__init__(credentials)
        self._date = date

    def _get_date(self) -> str:
        return self._date


class _HmacV1Query(HmacV1QueryAuth):  # type: ignore[misc]
    """V2 presigned, with the URL's own ``Expires`` (botocore computes now + expires when signing)."""

    def __init__(self, credentials: Any, expires: str) -> None:
        super().__init__(credentials)
        self._expires_text = expires

    def _get_date(self) -> str:
        return self._expires_text


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _parse_amz_date(text: str) -> datetime | None:
    if not _AMZ_DATE.match(text):
        return None
    try:
        return datetime.strptime(text, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def _parse_http_date(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_sigv4_authorization(value: str, protocol: Protocol) -> dict[str, str]:
    """``Credential``, ``SignedHeaders`` and ``Signature`` from an ``AWS4-HMAC-SHA256 …`` header, or
    IncompleteSignature with AWS's wording."""
    rest = value[len(SIGV4_ALGORITHM) :]
    parts: dict[str, str] = {}
    for piece in rest.split(","):
        piece = piece.strip()
        if not piece:
            continue
        name, sep, item = piece.partition("=")
        if not sep:
            raise _incomplete(
                protocol,
                f"'{piece}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'.",
            )
        parts[name.strip()] = item.strip()
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if not parts.get(name)]
    if missing:
        if protocol is Protocol.S3:
            raise _incomplete(
                protocol,
                "the authorization header requires three components: Credential, SignedHeaders, and Signature.",
            )
        raise _incomplete(
            protocol,
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
            + f" Authorization={value}",
        )
    return parts


@dataclass(frozen=True)
class _Scope:
    key_id: str
    date: str
    region: str
    service: str


def _parse_credential(credential: str, protocol: Protocol, *, query: bool) -> _Scope:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not re.fullmatch(r"\d{8}", parts[1]):
        if protocol is Protocol.S3:
            where = "X-Amz-Credential" if query else "Credential"
            raise _incomplete(
                protocol,
                f'the {where} is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
                query=query,
            )
        raise _incomplete(
            protocol,
            f"Credential '{credential}' is not of the form "
            "'<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request'.",
        )
    return _Scope(*parts[:4])


class Verifier:
    """Verifies requests against one set of credentials. ``clock`` is injectable for tests."""

    def __init__(self, credentials: Credentials, clock: Callable[[], datetime] = _utcnow) -> None:
        self.credentials = credentials
        self.clock = clock
        self._botocore_credentials = BotocoreCredentials(
            credentials.access_key_id, credentials.secret_access_key
        )

    # -- entry point ----------------------------------------------------------------------------------------

    def verify(
        self,
        request: IncomingRequest,
        protocol: Protocol,
        service: str,
        body: bytes | None = None,
        host_bucket: str | None = None,
    ) -> Verified:
        """Check ``request``'s signature for the endpoint signing name ``service`` (``s3``, ``sagemaker``,
        ``logs``, ``sts``…); raise :class:`SignatureError` in ``protocol``'s vocabulary if it fails.

        ``body`` is the whole request body, required except for S3, whose bodies are streamed and checked
        afterwards through the returned :class:`Verified`. ``host_bucket`` is the bucket a virtual-host-style S3
        request named in its ``Host`` (Signature V2 signs ``/<bucket><path>``)."""
        authorization = request.header("authorization")
        query = dict(request.query_pairs())
        if authorization is not None:
            if authorization.startswith(SIGV4_ALGORITHM + " ") or authorization == SIGV4_ALGORITHM:
                return self._sigv4_header(request, authorization, protocol, service, body)
            if authorization.startswith("AWS ") and protocol is Protocol.S3:
                return self._sigv2_header(request, authorization, host_bucket)
            if protocol is Protocol.S3:
                raise SignatureError(
                    "InvalidArgument",
                    "Unsupported Authorization Type",
                    400,
                    ArgumentName="Authorization",
                    ArgumentValue=authorization[:200],
                )
            raise _incomplete(
                protocol,
                "Authorization header requires 'Credential' parameter. Authorization header requires "
                "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
                f"Authorization={authorization[:200]}",
            )
        if "X-Amz-Algorithm" in query or "X-Amz-Signature" in query or "X-Amz-Credential" in query:
            return self._sigv4_query(request, query, protocol, service, body)
        if "AWSAccessKeyId" in query or "Signature" in query:
            if protocol is Protocol.S3:
                return self._sigv2_query(request, query, host_bucket)
        raise _missing(protocol)

    # -- Signature V4 ---------------------------------------------------------------------------------------

    def _check_key(self, key_id: str, protocol: Protocol) -> None:
        if not hmac.compare_digest(key_id.encode(), self.credentials.access_key_id.encode()):
            raise _unknown_key(protocol, key_id)

    def _check_service(self, scope: _Scope, protocol: Protocol, service: str, *, query: bool) -> None:
        if scope.service == service:
            return
        if protocol is Protocol.S3:
            raise _incomplete(
                protocol,
                f'incorrect service "{scope.service}". This endpoint belongs to "{service}".',
                query=query,
            )
        raise _mismatch(protocol, f"Credential should be scoped to correct service: '{service}'. ")

    def _aws_request(
        self,
        request: IncomingRequest,
        signed_headers: list[str],
        pairs: Iterable[tuple[str, str]],
        body: bytes | None,
    ) -> tuple[Any, list[str]]:
        """A botocore AWSRequest holding what the client signed; also the signed names that are absent."""
        headers = HTTPHeaders()
        absent = []
        for name in signed_headers:
            values = request.header_values(name)
            if not values:
                absent.append(name)
            for value in values:
                headers[name] = value
        aws_request = AWSRequest(method=request.method.upper(), url="http://sagelocal" + request.url_path())
        aws_request.headers = headers
        aws_request.params = list(pairs)
        aws_request.data = body or b""
        return aws_request, absent

    def _sigv4_check(
        self,
        signer: Any,
        aws_request: Any,
        provided: str,
        protocol: Protocol,
        absent: list[str],
    ) -> None:
        canonical = signer.canonical_request(aws_request)
        string_to_sign = signer.string_to_sign(aws_request, canonical)
        expected = signer.signature(string_to_sign, aws_request)
        if absent or not hmac.compare_digest(expected, provided.strip().lower()):
            raise _mismatch(
                protocol,
                AWSAccessKeyId=self.credentials.access_key_id,
                StringToSign=string_to_sign,
                SignatureProvided=provided,
                CanonicalRequest=canonical,
            )

    def _timestamp(self, request: IncomingRequest, protocol: Protocol) -> tuple[str, datetime, str]:
        """(SigV4 timestamp, as datetime, as the client wrote it) from ``X-Amz-Date``, else ``Date``."""
        amz_date = request.header("x-amz-date")
        if amz_date is not None:
            moment = _parse_amz_date(amz_date.strip())
            if moment is None:
                raise _incomplete(
                    protocol,
                    f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                    "See http://en.wikipedia.org/wiki/ISO_8601",
                )
            return amz_date.strip(), moment, amz_date
        date = request.header("date")
        moment = _parse_http_date(date) if date is not None else None
        if date is None or moment is None:
            raise _incomplete(
                protocol,
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            )
        return _stamp(moment), moment, date

    def _sigv4_header(
        self,
        request: IncomingRequest,
        authorization: str,
        protocol: Protocol,
        service: str,
        body: bytes | None,
    ) -> Verified:
        parts = _parse_sigv4_authorization(authorization, protocol)
        scope = _parse_credential(parts["Credential"], protocol, query=False)
        self._check_key(scope.key_id, protocol)
        timestamp, moment, shown = self._timestamp(request, protocol)
        now = self.clock()
        if abs(now - moment) > MAX_SKEW:
            raise _skewed(protocol, moment, now, shown)
        if scope.date != timestamp[:8]:
            if protocol is Protocol.S3:
                raise _incomplete(protocol, "Invalid credential date. Date is not the same as X-Amz-Date.")
            raise _mismatch(
                protocol,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{scope.date}' != '{timestamp[:8]}', from '{timestamp}'.",
            )
        self._check_service(scope, protocol, service, query=False)
        signed = [name.strip().lower() for name in parts["SignedHeaders"].split(";") if name.strip()]
        if "host" not in signed:
            if protocol is Protocol.S3:
                raise _mismatch(protocol)
            raise _incomplete(
                protocol, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
            )

        content_sha256 = request.header("x-amz-content-sha256")
        declared: str | None = None
        if protocol is Protocol.S3:
            if content_sha256 is None:
                raise SignatureError(
                    "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400
                )
            declared = content_sha256.strip()
            if declared not in _PAYLOAD_MODES and not _SHA256_HEX.match(declared):
                raise SignatureError(
                    "InvalidArgument",
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid "
                    "sha256 value.",
                    400,
                    ArgumentName="x-amz-content-sha256",
                    ArgumentValue=content_sha256,
                )
            unsigned = sorted(
                name for name, _ in request.headers if name.startswith("x-amz-") and name not in signed
            )
            if unsigned:
                raise SignatureError(
                    "AccessDenied",
                    "There were headers present in the request which were not signed",
                    403,
                    HeadersNotSigned=", ".join(dict.fromkeys(unsigned)),
                )
        elif body is None:
            raise ValueError(f"verifying a {protocol} request needs its body")
        elif content_sha256 is not None and "x-amz-content-sha256" in signed:
            # botocore signs this header's value in place of the body's hash when present: the body must match.
            if not hmac.compare_digest(content_sha256.strip(), hashlib.sha256(body).hexdigest()):
                raise _mismatch(protocol)

        signer_class = _S3SigV4 if service == "s3" else _SigV4
        signer = signer_class(self._botocore_credentials, scope.service, scope.region)
        aws_request, absent = self._aws_request(request, signed, request.query_pairs(), body)
        aws_request.context["timestamp"] = timestamp
        self._sigv4_check(signer, aws_request, parts["Signature"], protocol, absent)

        chunks = None
        if declared in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
            chunks = ChunkSignatureVerifier(
                protocol,
                signer,
                aws_request,
                parts["Signature"].strip().lower(),
                trailer=declared == STREAMING_SIGNED_TRAILER,
            )
        hex_hash = declared if declared is not None and _SHA256_HEX.match(declared) else None
        return Verified(scope.key_id, "sigv4-header", hex_hash, chunks)

    def _sigv4_query(
        self,
        request: IncomingRequest,
        query: dict[str, str],
        protocol: Protocol,
        service: str,
        body: bytes | None,
    ) -> Verified:
        required = [
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Signature",
            "X-Amz-Date",
            "X-Amz-SignedHeaders",
        ]
        if protocol is Protocol.S3:
            required.append("X-Amz-Expires")
        missing = [name for name in required if not query.get(name)]
        if missing:
            if protocol is Protocol.S3:
                raise _incomplete(
                    protocol,
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
                    query=True,
                )
            raise _incomplete(
                protocol, " ".join(f"AWS query-string parameters must include '{n}'." for n in missing)
            )
        if query["X-Amz-Algorithm"] != SIGV4_ALGORITHM:
            raise _incomplete(protocol, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', query=True)
        scope = _parse_credential(query["X-Amz-Credential"], protocol, query=True)
        self._check_key(scope.key_id, protocol)
        moment = _parse_amz_date(query["X-Amz-Date"])
        if moment is None:
            raise _incomplete(
                protocol, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"", query=True
            )
        now = self.clock()
        expires_text = query.get("X-Amz-Expires")
        if expires_text is not None:
            if not expires_text.isdigit():
                raise _incomplete(protocol, "X-Amz-Expires should be a number", query=True)
            if int(expires_text) > MAX_PRESIGN_SECONDS:
                raise _incomplete(
                    protocol,
                    "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds",
                    query=True,
                )
            expires = moment + timedelta(seconds=int(expires_text))
            if now > expires:
                raise _expired(protocol, expires, now, **{"X-Amz-Expires": expires_text})
        if moment - now > MAX_SKEW:
            if protocol is Protocol.S3:
                raise SignatureError(
                    "AccessDenied",
                    "Request is not yet valid",
                    403,
                    **{"X-Amz-Date": query["X-Amz-Date"]},
                    ServerTime=_iso(now),
                )
            raise _skewed(protocol, moment, now, query["X-Amz-Date"])
        if scope.date != query["X-Amz-Date"][:8]:
            raise _incomplete(
                protocol, "Invalid credential date. Date is not the same as X-Amz-Date.", query=True
            )
        self._check_service(scope, protocol, service, query=True)
        signed = [name.strip().lower() for name in query["X-Amz-SignedHeaders"].split(";") if name.strip()]
        if "host" not in signed:
            raise _incomplete(
                protocol,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
                query=True,
            )

        pairs = [(k, v) for k, v in request.query_pairs() if k != "X-Amz-Signature"]
        signer_class = _S3SigV4Query if service == "s3" else _SigV4Query
        signer = signer_class(self._botocore_credentials, scope.service, scope.region)
        aws_request, absent = self._aws_request(
            request, signed, pairs, body if protocol is not Protocol.S3 else b""
        )
        aws_request.context["timestamp"] = query["X-Amz-Date"]
        self._sigv4_check(signer, aws_request, query["X-Amz-Signature"], protocol, absent)
        return Verified(scope.key_id, "sigv4-query")

    # -- Signature V2 (S3 only) ----------------------------------------------------------------------------

    def _v2_headers(self, request: IncomingRequest, query: Mapping[str, str] | None) -> Any:
        """The headers V2 signs (``Content-MD5``, ``Content-Type``, ``x-amz-*``); for a presigned URL the
        ``x-amz-*`` query parameters count as headers too, as botocore moves them there."""
        headers = HTTPHeaders()
        for name, value in request.headers:
            if name in ("content-md5", "content-type") or name.startswith("x-amz-"):
                headers[name] = value
        for name, value in (query or {}).items():
            lower = name.lower()
            if (
                lower.startswith("x-amz-") or lower in ("content-md5", "content-type")
            ) and lower not in headers:
                headers[lower] = value
        return headers

    def _v2_check(
        self, signer: Any, request: IncomingRequest, headers: Any, host_bucket: str | None, provided: str
    ) -> None:
        url = "http://sagelocal" + request.url_path()
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        split = urlsplit(url)
        auth_path = f"/{host_bucket}{split.path}" if host_bucket is not None else None
        string_to_sign = signer.canonical_string(request.method.upper(), split, headers, auth_path=auth_path)
        expected = signer.sign_string(string_to_sign)
        if not hmac.compare_digest(expected.encode(), provided.encode()):
            raise _mismatch(
                Protocol.S3,
                AWSAccessKeyId=self.credentials.access_key_id,
                StringToSign=string_to_sign,
                SignatureProvided=provided,
            )

    def _sigv2_header(
        self, request: IncomingRequest, authorization: str, host_bucket: str | None
    ) -> Verified:
        key_id, sep, provided = authorization[4:].strip().rpartition(":")
        if not sep or not key_id:
            raise _incomplete(
                Protocol.S3, "the authorization header requires an access key id and a signature."
            )
        self._check_key(key_id, Protocol.S3)
        date = request.header("x-amz-date") or request.header("date")
        moment = _parse_http_date(date) if date is not None else None
        if date is None or moment is None:
            raise SignatureError(
                "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403
            )
        now = self.clock()
        if abs(now - moment) > MAX_SKEW:
            raise _skewed(Protocol.S3, moment, now, date)
        signer = _HmacV1(self._botocore_credentials, request.header("date") or "")
        self._v2_check(signer, request, self._v2_headers(request, None), host_bucket, provided)
        return Verified(key_id, "sigv2-header")

    def _sigv2_query(
        self, request: IncomingRequest, query: dict[str, str], host_bucket: str | None
    ) -> Verified:
        if not all(query.get(name) for name in ("AWSAccessKeyId", "Signature", "Expires")):
            raise SignatureError(
                "AccessDenied",
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
                403,
            )
        self._check_key(query["AWSAccessKeyId"], Protocol.S3)
        expires_text = query["Expires"]
        if not expires_text.isdigit():
            raise SignatureError("AccessDenied", "Invalid date (should be seconds since epoch)", 403)
        expires = datetime.fromtimestamp(int(expires_text), UTC)
        now = self.clock()
        if now > expires:
            raise _expired(Protocol.S3, expires, now)
        signer = _HmacV1Query(self._botocore_credentials, expires_text)
        self._v2_check(signer, request, self._v2_headers(request, query), host_bucket, query["Signature"])
        return Verified(query["AWSAccessKeyId"], "sigv2-query")
