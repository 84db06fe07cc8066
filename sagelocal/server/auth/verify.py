"""The verifier: botocore's signers, fed the request exactly as the client sent it."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import (
    SIGV4_TIMESTAMP,
    HmacV1Auth,
    HmacV1QueryAuth,
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials as BotocoreCredentials

from sagelocal.server.auth.chunks import ChunkSignatureVerifier
from sagelocal.server.auth.errors import (
    MAX_SKEW,
    Protocol,
    SignatureError,
    expired,
    incomplete,
    iso,
    mismatch,
    missing,
    skewed,
    stamp,
    unknown_key,
)
from sagelocal.server.auth.request import IncomingRequest, Verified
from sagelocal.server.credentials import Credentials

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
#: The longest a SigV4 presigned URL may live: 7 days (S3: "X-Amz-Expires must be less than a week").
MAX_PRESIGN_SECONDS = 604800
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
_PAYLOAD_MODES = (UNSIGNED_PAYLOAD, STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")


# --- botocore signers, fed the request as received --------------------------------------------------------


class _AsSigned:
    """Mixin: the headers to sign are exactly the request's (which the verifier sets to the client's
    ``SignedHeaders``), instead of botocore's "every header but a few" choice for an outgoing request."""

    def headers_to_sign(self, request: Any) -> Any:
        return request.headers


class _SigV4(_AsSigned, SigV4Auth):
    pass


class _S3SigV4(_AsSigned, S3SigV4Auth):
    pass


class _SigV4Query(_AsSigned, SigV4QueryAuth):
    pass


class _S3SigV4Query(_AsSigned, S3SigV4QueryAuth):
    pass


class _HmacV1(HmacV1Auth):
    """V2 with the request's own ``Date`` (botocore stamps the current time when signing)."""

    def __init__(self, credentials: Any, date: str) -> None:
        super().__init__(credentials)
        self._date = date

    def _get_date(self) -> str:
        return self._date


class _HmacV1Query(HmacV1QueryAuth):
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
            raise incomplete(
                protocol,
                f"'{piece}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'.",
            )
        parts[name.strip()] = item.strip()
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if not parts.get(name)]
    if missing:
        if protocol is Protocol.S3:
            raise incomplete(
                protocol,
                "the authorization header requires three components: Credential, SignedHeaders, and Signature.",
            )
        raise incomplete(
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
            raise incomplete(
                protocol,
                f'the {where} is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
                query=query,
            )
        raise incomplete(
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
            raise incomplete(
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
        raise missing(protocol)

    # -- Signature V4 ---------------------------------------------------------------------------------------

    def _check_key(self, key_id: str, protocol: Protocol) -> None:
        if not hmac.compare_digest(key_id.encode(), self.credentials.access_key_id.encode()):
            raise unknown_key(protocol, key_id)

    def _check_service(self, scope: _Scope, protocol: Protocol, service: str, *, query: bool) -> None:
        if scope.service == service:
            return
        if protocol is Protocol.S3:
            raise incomplete(
                protocol,
                f'incorrect service "{scope.service}". This endpoint belongs to "{service}".',
                query=query,
            )
        raise mismatch(protocol, f"Credential should be scoped to correct service: '{service}'. ")

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
        # botocore's canonical query string accepts a list of pairs here and keeps repeated keys.
        aws_request.params = list(pairs)  # type: ignore[assignment]
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
            raise mismatch(
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
                raise incomplete(
                    protocol,
                    f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                    "See http://en.wikipedia.org/wiki/ISO_8601",
                )
            return amz_date.strip(), moment, amz_date
        date = request.header("date")
        moment = _parse_http_date(date) if date is not None else None
        if date is None or moment is None:
            raise incomplete(
                protocol,
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            )
        return stamp(moment), moment, date

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
            raise skewed(protocol, moment, now, shown)
        if scope.date != timestamp[:8]:
            if protocol is Protocol.S3:
                raise incomplete(protocol, "Invalid credential date. Date is not the same as X-Amz-Date.")
            raise mismatch(
                protocol,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{scope.date}' != '{timestamp[:8]}', from '{timestamp}'.",
            )
        self._check_service(scope, protocol, service, query=False)
        signed = [name.strip().lower() for name in parts["SignedHeaders"].split(";") if name.strip()]
        if "host" not in signed:
            if protocol is Protocol.S3:
                raise mismatch(protocol)
            raise incomplete(
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
                raise mismatch(protocol)

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
                raise incomplete(
                    protocol,
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
                    query=True,
                )
            raise incomplete(
                protocol, " ".join(f"AWS query-string parameters must include '{n}'." for n in missing)
            )
        if query["X-Amz-Algorithm"] != SIGV4_ALGORITHM:
            raise incomplete(protocol, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', query=True)
        scope = _parse_credential(query["X-Amz-Credential"], protocol, query=True)
        self._check_key(scope.key_id, protocol)
        moment = _parse_amz_date(query["X-Amz-Date"])
        if moment is None:
            raise incomplete(
                protocol, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"", query=True
            )
        now = self.clock()
        expires_text = query.get("X-Amz-Expires")
        if expires_text is not None:
            if not expires_text.isdigit():
                raise incomplete(protocol, "X-Amz-Expires should be a number", query=True)
            if int(expires_text) > MAX_PRESIGN_SECONDS:
                raise incomplete(
                    protocol,
                    "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds",
                    query=True,
                )
            expires = moment + timedelta(seconds=int(expires_text))
            if now > expires:
                raise expired(protocol, expires, now, **{"X-Amz-Expires": expires_text})
        if moment - now > MAX_SKEW:
            if protocol is Protocol.S3:
                raise SignatureError(
                    "AccessDenied",
                    "Request is not yet valid",
                    403,
                    **{"X-Amz-Date": query["X-Amz-Date"]},
                    ServerTime=iso(now),
                )
            raise skewed(protocol, moment, now, query["X-Amz-Date"])
        if scope.date != query["X-Amz-Date"][:8]:
            raise incomplete(
                protocol, "Invalid credential date. Date is not the same as X-Amz-Date.", query=True
            )
        self._check_service(scope, protocol, service, query=True)
        signed = [name.strip().lower() for name in query["X-Amz-SignedHeaders"].split(";") if name.strip()]
        if "host" not in signed:
            raise incomplete(
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
            raise mismatch(
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
            raise incomplete(
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
            raise skewed(Protocol.S3, moment, now, date)
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
            raise expired(Protocol.S3, expires, now)
        signer = _HmacV1Query(self._botocore_credentials, expires_text)
        self._v2_check(signer, request, self._v2_headers(request, query), host_bucket, query["Signature"])
        return Verified(query["AWSAccessKeyId"], "sigv2-query")
