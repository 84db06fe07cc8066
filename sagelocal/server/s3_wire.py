"""S3's REST wire conventions shared by its handlers: addressing (path- and virtual-host-style), the XML and
header rendering of responses, and S3's XML error document."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import unquote_to_bytes
from xml.sax.saxutils import escape

from starlette.responses import Response

from sagelocal.aws.errors import ServiceError
from sagelocal.service.objectstore import ObjectInfo

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[^:]+?)\.(?:s3[.-][^:]*|localhost)$", re.IGNORECASE)


class S3Error(ServiceError):
    """An S3 error with its code, status and extra XML elements (``BucketName``, ``Key``…)."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = status
        self.extra = extra


def not_implemented(what: str) -> S3Error:
    return S3Error(
        "NotImplemented",
        f"A header or query you provided implies functionality that is not implemented: {what}",
        501,
    )


# --- addressing -------------------------------------------------------------------------------------------


def virtual_host_bucket(host: str) -> str | None:
    """The bucket named by a virtual-host-style ``Host`` (``bucket.localhost:9090``,
    ``bucket.s3.amazonaws.com``, ``bucket.s3.us-east-1.amazonaws.com``), else None (path-style)."""
    hostname = host.strip().lower()
    if hostname.startswith("["):  # IPv6 literal
        return None
    hostname = hostname.rsplit(":", 1)[0] if ":" in hostname else hostname
    match = _VIRTUAL_HOST.match(hostname)
    if not match:
        return None
    bucket = match.group("bucket")
    if bucket == "s3" or bucket.startswith("s3.") or bucket.startswith("s3-"):
        return None  # s3.amazonaws.com, s3.us-east-1.amazonaws.com: path-style
    return bucket


def _decode_once(raw: bytes) -> str:
    """Percent-decode once, then read as UTF-8 (raw UTF-8 bytes are accepted too). UnicodeDecodeError if the
    result is not UTF-8."""
    return unquote_to_bytes(raw).decode("utf-8")


def split_path(raw_path: bytes, host_bucket: str | None) -> tuple[str | None, str | None]:
    """(bucket, key) from the raw (still percent-encoded) request path; each part is percent-decoded once."""
    path = raw_path.split(b"?", 1)[0]
    if host_bucket is not None:
        rest = path[1:] if path.startswith(b"/") else path
        return host_bucket, (_decode_once(rest) if rest else None)
    if path in (b"", b"/"):
        return None, None
    bucket_part, sep, key_part = path[1:].partition(b"/")
    bucket = _decode_once(bucket_part)
    if not sep or key_part == b"":
        return bucket, None
    return bucket, _decode_once(key_part)


# --- XML and headers --------------------------------------------------------------------------------------


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC).replace(microsecond=0), usegmt=True)


def el(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def xml_response(
    body: str, request_id: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    all_headers = base_headers(request_id)
    all_headers.update(headers or {})
    return Response(
        XML_DECLARATION + body, status_code=status, media_type="application/xml", headers=all_headers
    )


def base_headers(request_id: str) -> dict[str, str]:
    return {"x-amz-request-id": request_id, "x-amz-id-2": base64.b64encode(request_id.encode()).decode()}


def error_response(
    error: ServiceError, request_id: str, method: str, bucket: str | None, key: str | None
) -> Response:
    extra: dict[str, str] = dict(getattr(error, "extra", {}))
    if error.code == "NoSuchBucket" and bucket is not None:
        extra.setdefault("BucketName", bucket)
    if error.code == "NoSuchKey" and key is not None:
        extra.setdefault("Key", key)
    headers = base_headers(request_id)
    if method == "HEAD":  # HEAD responses carry no body; botocore reports the status code as the error code
        return Response(status_code=error.http_status, headers=headers)
    if error.code == "InvalidRange" and "ActualObjectSize" in extra:
        headers["Content-Range"] = f"bytes */{extra['ActualObjectSize']}"
    body = (
        "<Error>"
        + el("Code", error.code)
        + el("Message", error.message)
        + "".join(el(k, v) for k, v in extra.items())
        + el("RequestId", request_id)
        + el("HostId", headers["x-amz-id-2"])
        + "</Error>"
    )
    return Response(
        XML_DECLARATION + body, status_code=error.http_status, media_type="application/xml", headers=headers
    )


def object_headers(info: ObjectInfo) -> dict[str, str]:
    return {
        "ETag": info.etag,
        "Last-Modified": http_date(info.last_modified),
        "Content-Type": info.content_type or "binary/octet-stream",
        "Accept-Ranges": "bytes",
    }
