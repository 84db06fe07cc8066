"""S3 REST over the ObjectStore: path-style (``/bucket/key``) and virtual-host-style (``bucket.localhost``).

Request bodies are streamed to a spooled temporary file while being decoded (``aws-chunked`` with optional
trailing checksums) and checksummed, so large uploads are not held in memory. Object bodies are streamed
back from the store's files. Errors use S3's XML error document.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import IO, Any
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from sagelocal.aws.errors import ServiceError
from sagelocal.config import ACCOUNT_ID, region
from sagelocal.service.objectstore import Listing, ObjectInfo, ObjectStore

log = logging.getLogger("sagelocal.server")

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
OWNER_ID = hashlib.sha256(ACCOUNT_ID.encode()).hexdigest()
OWNER_NAME = "sagelocal"
SPOOL_MEMORY_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 256 * 1024
#: Query parameters naming S3 sub-resources sagelocal does not implement.
UNSUPPORTED_SUBRESOURCES = frozenset(
    "accelerate acl analytics attributes cors encryption intelligent-tiering inventory legal-hold lifecycle "
    "logging metrics notification object-lock ownershipControls policy policyStatus publicAccessBlock "
    "replication requestPayment restore retention select tagging torrent versioning versions website".split()
)
#: ``x-amz-checksum-<name>`` algorithms sagelocal verifies; others (crc32c, crc64nvme) are echoed unverified.
_CHECKSUMS: dict[str, Any] = {"crc32": None, "sha1": hashlib.sha1, "sha256": hashlib.sha256}
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[^:]+?)\.(?:s3[.-][^:]*|localhost)$", re.IGNORECASE)


class S3Error(ServiceError):
    """An S3 error with its code, status and extra XML elements (``BucketName``, ``Key``…)."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = status
        self.extra = extra


def _not_implemented(what: str) -> S3Error:
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


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _el(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _xml_response(
    body: str, request_id: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    all_headers = _base_headers(request_id)
    all_headers.update(headers or {})
    return Response(
        XML_DECLARATION + body, status_code=status, media_type="application/xml", headers=all_headers
    )


def _base_headers(request_id: str) -> dict[str, str]:
    return {"x-amz-request-id": request_id, "x-amz-id-2": base64.b64encode(request_id.encode()).decode()}


def error_response(
    error: ServiceError, request_id: str, method: str, bucket: str | None, key: str | None
) -> Response:
    extra: dict[str, str] = dict(getattr(error, "extra", {}))
    if error.code == "NoSuchBucket" and bucket is not None:
        extra.setdefault("BucketName", bucket)
    if error.code == "NoSuchKey" and key is not None:
        extra.setdefault("Key", key)
    headers = _base_headers(request_id)
    if method == "HEAD":  # HEAD responses carry no body; botocore reports the status code as the error code
        return Response(status_code=error.http_status, headers=headers)
    if error.code == "InvalidRange" and "ActualObjectSize" in extra:
        headers["Content-Range"] = f"bytes */{extra['ActualObjectSize']}"
    body = (
        "<Error>"
        + _el("Code", error.code)
        + _el("Message", error.message)
        + "".join(_el(k, v) for k, v in extra.items())
        + _el("RequestId", request_id)
        + _el("HostId", headers["x-amz-id-2"])
        + "</Error>"
    )
    return Response(
        XML_DECLARATION + body, status_code=error.http_status, media_type="application/xml", headers=headers
    )


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    return {
        "ETag": info.etag,
        "Last-Modified": _http_date(info.last_modified),
        "Content-Type": info.content_type or "binary/octet-stream",
        "Accept-Ranges": "bytes",
    }


# --- request bodies ---------------------------------------------------------------------------------------


class AwsChunkedDecoder:
    """Incremental decoder for ``Content-Encoding: aws-chunked`` bodies.

    Handles SigV4 streaming chunks (``<hex-size>;chunk-signature=<sig>\\r\\n<data>\\r\\n``), unsigned chunks
    (``<hex-size>\\r\\n<data>\\r\\n``) and the trailer section after the final zero-size chunk
    (``x-amz-checksum-crc32:<b64>\\r\\n``…). Signatures are not checked.
    """

    MAX_LINE = 64 * 1024

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = "size"
        self._remaining = 0
        self.trailers: dict[str, str] = {}

    @property
    def done(self) -> bool:
        return self._state == "done"

    def _line(self) -> bytes | None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > self.MAX_LINE:
                raise S3Error("IncompleteBody", "The aws-chunked body has a malformed chunk header.")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def feed(self, data: bytes) -> bytes:
        """Decode what ``data`` completes; return the payload bytes it yields."""
        self._buffer += data
        out = bytearray()
        while True:
            if self._state == "size":
                line = self._line()
                if line is None:
                    break
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise S3Error(
                        "IncompleteBody", "The aws-chunked body has a malformed chunk header."
                    ) from None
                if size == 0:
                    self._state = "trailer"
                else:
                    self._remaining = size
                    self._state = "data"
            elif self._state == "data":
                if not self._buffer:
                    break
                take = min(self._remaining, len(self._buffer))
                out += self._buffer[:take]
                del self._buffer[:take]
                self._remaining -= take
                if self._remaining == 0:
                    self._state = "crlf"
            elif self._state == "crlf":
                if len(self._buffer) < 2:
                    break
                if bytes(self._buffer[:2]) != b"\r\n":
                    raise S3Error("IncompleteBody", "The aws-chunked body has a malformed chunk.")
                del self._buffer[:2]
                self._state = "size"
            elif self._state == "trailer":
                line = self._line()
                if line is None:
                    break
                if not line.strip():
                    self._state = "done"
                    continue
                name, sep, value = line.decode("latin-1").partition(":")
                if sep:
                    self.trailers[name.strip().lower()] = value.strip()
            else:  # done: anything after the terminating blank line is ignored
                self._buffer.clear()
                break
        return bytes(out)

    def finish(self) -> None:
        if self._state == "trailer" and not self._buffer:
            self._state = "done"  # "0\r\n" then end of body: a client that sent no trailer section
        if self._state != "done":
            raise S3Error(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            )


def _is_checksum_value(header: str) -> bool:
    return header.startswith("x-amz-checksum-") and header[15:] not in ("algorithm", "type", "mode")


def _crc32_hasher() -> Any:
    class _Crc32:
        def __init__(self) -> None:
            self.value = 0

        def update(self, data: bytes) -> None:
            self.value = zlib.crc32(data, self.value)

        def digest(self) -> bytes:
            return self.value.to_bytes(4, "big")

    return _Crc32()


class SpooledBody:
    """A request body, decoded and spooled to a temporary file, with its MD5 and any requested checksums."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        self.size = 0
        self.md5 = hashlib.md5()
        # algorithm -> base64 digest (verified, or echoed when sagelocal cannot compute it)
        self.checksums: dict[str, str] = {}

    def close(self) -> None:
        self.file.close()

    @classmethod
    async def read(cls, request: Request) -> SpooledBody:
        headers = request.headers
        encodings = [e.strip().lower() for e in headers.get("content-encoding", "").split(",") if e.strip()]
        chunked = "aws-chunked" in encodings or headers.get("x-amz-content-sha256", "").startswith(
            "STREAMING-"
        )
        wanted = {name for name in _CHECKSUMS if f"x-amz-checksum-{name}" in headers}
        for trailer in headers.get("x-amz-trailer", "").split(","):
            trailer = trailer.strip().lower()
            if trailer.startswith("x-amz-checksum-") and trailer[15:] in _CHECKSUMS:
                wanted.add(trailer[15:])
        hashers = {name: (_crc32_hasher() if name == "crc32" else _CHECKSUMS[name]()) for name in wanted}

        body = cls()
        decoder = AwsChunkedDecoder() if chunked else None
        try:
            async for chunk in request.stream():
                data = decoder.feed(chunk) if decoder else chunk
                if data:
                    body.file.write(data)
                    body.size += len(data)
                    body.md5.update(data)
                    for hasher in hashers.values():
                        hasher.update(data)
            supplied = {k[15:]: v for k, v in headers.items() if _is_checksum_value(k)}
            if decoder:
                decoder.finish()
                supplied.update({k[15:]: v for k, v in decoder.trailers.items() if _is_checksum_value(k)})
                decoded_length = headers.get("x-amz-decoded-content-length")
                if (
                    decoded_length is not None
                    and decoded_length.isdigit()
                    and int(decoded_length) != body.size
                ):
                    raise S3Error(
                        "IncompleteBody",
                        "You did not provide the number of bytes specified by the Content-Length HTTP header",
                    )
            body._verify(headers.get("content-md5"), supplied, hashers)
        except BaseException:
            body.close()
            raise
        body.file.seek(0)
        return body

    def _verify(self, content_md5: str | None, supplied: dict[str, str], hashers: dict[str, Any]) -> None:
        if content_md5 is not None:
            try:
                expected = base64.b64decode(content_md5, validate=True)
            except ValueError:
                expected = b""
            if len(expected) != 16:
                raise S3Error("InvalidDigest", "The Content-MD5 you specified was not valid.")
            if expected != self.md5.digest():
                raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.")
        for name, value in supplied.items():
            if name in hashers:
                actual = base64.b64encode(hashers[name].digest()).decode()
                if value != actual:
                    raise S3Error(
                        "BadDigest",
                        f"The {name.upper()} you specified did not match the calculated checksum.",
                    )
                self.checksums[name] = actual
            else:
                self.checksums[name] = value

    def checksum_headers(self) -> dict[str, str]:
        return {f"x-amz-checksum-{name}": value for name, value in self.checksums.items()}


# --- handlers ---------------------------------------------------------------------------------------------


async def handle(request: Request, store: ObjectStore, host_bucket: str | None) -> Response:
    request_id = str(uuid.uuid4()).replace("-", "").upper()[:16]
    method = request.method
    bucket: str | None = None
    key: str | None = None
    try:
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        try:
            bucket, key = split_path(raw_path, host_bucket)
        except UnicodeDecodeError:
            raise S3Error("InvalidURI", "Couldn't parse the specified URI.") from None
        query = dict(
            parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        if bucket is None:
            if method == "GET":
                return await _list_buckets(store, request_id)
            raise S3Error(
                "MethodNotAllowed", "The specified method is not allowed against this resource.", 405
            )
        unsupported = sorted(UNSUPPORTED_SUBRESOURCES & query.keys())
        if unsupported:
            raise _not_implemented(f"?{unsupported[0]}")
        if key is None:
            return await _bucket_operation(request, store, request_id, bucket, query)
        return await _object_operation(request, store, request_id, bucket, key, query)
    except ServiceError as error:
        return error_response(error, request_id, method, bucket, key)
    except ClientDisconnect:  # the client went away mid-body: nothing was stored, nobody to answer
        return Response(status_code=400, headers=_base_headers(request_id))
    except Exception:
        log.exception("S3 %s %s failed", method, request.url.path)
        error = S3Error("InternalError", "We encountered an internal error. Please try again.", 500)
        return error_response(error, request_id, method, bucket, key)


async def _list_buckets(store: ObjectStore, request_id: str) -> Response:
    buckets = await run_in_threadpool(store.list_buckets)
    body = (
        f'<ListAllMyBucketsResult xmlns="{S3_NAMESPACE}">'
        f"<Owner>{_el('ID', OWNER_ID)}{_el('DisplayName', OWNER_NAME)}</Owner><Buckets>"
        + "".join(
            f"<Bucket>{_el('Name', b.name)}{_el('CreationDate', _iso(b.creation_date))}</Bucket>"
            for b in buckets
        )
        + "</Buckets></ListAllMyBucketsResult>"
    )
    return _xml_response(body, request_id)


async def _bucket_operation(
    request: Request, store: ObjectStore, request_id: str, bucket: str, query: dict[str, str]
) -> Response:
    method = request.method
    region_header = {"x-amz-bucket-region": region()}
    if method == "PUT":
        await request.body()  # CreateBucketConfiguration: any LocationConstraint is accepted
        await run_in_threadpool(store.create_bucket, bucket)
        headers = _base_headers(request_id) | {"Location": f"/{bucket}"}
        return Response(status_code=200, headers=headers)
    if method == "HEAD":
        await run_in_threadpool(store.head_bucket, bucket)
        return Response(status_code=200, headers=_base_headers(request_id) | region_header)
    if method == "GET":
        if "location" in query:
            await run_in_threadpool(store.head_bucket, bucket)
            location = "" if region() == "us-east-1" else escape(region())
            return _xml_response(
                f'<LocationConstraint xmlns="{S3_NAMESPACE}">{location}</LocationConstraint>', request_id
            )
        if "uploads" in query:
            raise _not_implemented("ListMultipartUploads")
        if query.get("list-type") == "2":
            return await _list_objects_v2(store, request_id, bucket, query)
        return await _list_objects_v1(store, request_id, bucket, query)
    if method == "POST" and "delete" in query:
        return await _delete_objects(request, store, request_id, bucket)
    if method == "DELETE":
        raise _not_implemented("DeleteBucket (remove the folder under <home>/s3 instead)")
    raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)


def _max_keys(query: dict[str, str]) -> int:
    text = query.get("max-keys", "1000")
    try:
        value = int(text)
    except ValueError:
        raise S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range") from None
    if value < 0:
        raise S3Error("InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647")
    return min(value, 1000)


def _encoder(query: dict[str, str]) -> Any:
    encoding = query.get("encoding-type")
    if encoding is None:
        return lambda s: s
    if encoding != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request")
    return lambda s: quote(s, safe="/")


def _contents_xml(info: ObjectInfo, encode: Any, owner: bool) -> str:
    return (
        "<Contents>"
        + _el("Key", encode(info.key))
        + _el("LastModified", _iso(info.last_modified))
        + _el("ETag", info.etag)
        + _el("Size", info.size)
        + (f"<Owner>{_el('ID', OWNER_ID)}{_el('DisplayName', OWNER_NAME)}</Owner>" if owner else "")
        + _el("StorageClass", "STANDARD")
        + "</Contents>"
    )


async def _list_objects_v2(
    store: ObjectStore, request_id: str, bucket: str, query: dict[str, str]
) -> Response:
    encode = _encoder(query)
    max_keys = _max_keys(query)
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter") or None
    token = query.get("continuation-token")
    start_after = query.get("start-after") or None
    if token == "":
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect")
    listing: Listing = await run_in_threadpool(
        lambda: store.list_objects(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            continuation_token=token,
            start_after=start_after,
        )
    )
    parts = [f'<ListBucketResult xmlns="{S3_NAMESPACE}">', _el("Name", bucket), _el("Prefix", encode(prefix))]
    if start_after is not None:
        parts.append(_el("StartAfter", encode(start_after)))
    if token is not None:
        parts.append(_el("ContinuationToken", token))
    if listing.is_truncated and listing.next_continuation_token:
        parts.append(_el("NextContinuationToken", listing.next_continuation_token))
    parts.append(_el("KeyCount", len(listing.contents) + len(listing.common_prefixes)))
    parts.append(_el("MaxKeys", max_keys))
    if delimiter is not None:
        parts.append(_el("Delimiter", encode(delimiter)))
    if "encoding-type" in query:
        parts.append(_el("EncodingType", "url"))
    parts.append(_el("IsTruncated", "true" if listing.is_truncated else "false"))
    owner = query.get("fetch-owner", "").lower() == "true"
    parts.extend(_contents_xml(info, encode, owner) for info in listing.contents)
    parts.extend(
        f"<CommonPrefixes>{_el('Prefix', encode(p))}</CommonPrefixes>" for p in listing.common_prefixes
    )
    parts.append("</ListBucketResult>")
    return _xml_response("".join(parts), request_id)


async def _list_objects_v1(
    store: ObjectStore, request_id: str, bucket: str, query: dict[str, str]
) -> Response:
    encode = _encoder(query)
    max_keys = _max_keys(query)
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter") or None
    marker = query.get("marker", "")
    listing: Listing = await run_in_threadpool(
        lambda: store.list_objects(
            bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys, start_after=marker or None
        )
    )
    parts = [
        f'<ListBucketResult xmlns="{S3_NAMESPACE}">',
        _el("Name", bucket),
        _el("Prefix", encode(prefix)),
        _el("Marker", encode(marker)),
    ]
    if listing.is_truncated and delimiter is not None:
        last = max([c.key for c in listing.contents] + list(listing.common_prefixes))
        parts.append(_el("NextMarker", encode(last)))
    parts.append(_el("MaxKeys", max_keys))
    if delimiter is not None:
        parts.append(_el("Delimiter", encode(delimiter)))
    if "encoding-type" in query:
        parts.append(_el("EncodingType", "url"))
    parts.append(_el("IsTruncated", "true" if listing.is_truncated else "false"))
    parts.extend(_contents_xml(info, encode, True) for info in listing.contents)
    parts.extend(
        f"<CommonPrefixes>{_el('Prefix', encode(p))}</CommonPrefixes>" for p in listing.common_prefixes
    )
    parts.append("</ListBucketResult>")
    return _xml_response("".join(parts), request_id)


def _parse_xml(body: bytes, what: str) -> ElementTree.Element:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        ) from None
    for element in root.iter():  # drop namespaces: clients differ in whether they send S3's
        element.tag = element.tag.rsplit("}", 1)[-1]
    if root.tag != what:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    return root


async def _delete_objects(request: Request, store: ObjectStore, request_id: str, bucket: str) -> Response:
    root = _parse_xml(await request.body(), "Delete")
    quiet = (root.findtext("Quiet") or "").strip().lower() == "true"
    keys = [obj.findtext("Key") or "" for obj in root.findall("Object")]
    if len(keys) > 1000:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    await run_in_threadpool(store.head_bucket, bucket)
    results: list[str] = []
    for key in keys:
        try:
            await run_in_threadpool(store.delete_object, bucket, key)
        except ServiceError as error:
            if error.code == "NoSuchKey":  # S3 reports deleting a missing key as success
                if not quiet:
                    results.append(f"<Deleted>{_el('Key', key)}</Deleted>")
                continue
            results.append(
                f"<Error>{_el('Key', key)}{_el('Code', error.code)}{_el('Message', error.message)}</Error>"
            )
        else:
            if not quiet:
                results.append(f"<Deleted>{_el('Key', key)}</Deleted>")
    return _xml_response(
        f'<DeleteResult xmlns="{S3_NAMESPACE}">{"".join(results)}</DeleteResult>', request_id
    )


async def _object_operation(
    request: Request, store: ObjectStore, request_id: str, bucket: str, key: str, query: dict[str, str]
) -> Response:
    method = request.method
    headers = request.headers
    if method == "PUT":
        if "uploadId" in query or "partNumber" in query:
            if "x-amz-copy-source" in headers:
                raise _not_implemented("UploadPartCopy")
            return await _upload_part(request, store, request_id, bucket, key, query)
        if "x-amz-copy-source" in headers:
            return await _copy_object(request, store, request_id, bucket, key)
        return await _put_object(request, store, request_id, bucket, key)
    if method in ("GET", "HEAD"):
        if "uploadId" in query:
            raise _not_implemented("ListParts")
        if "partNumber" in query:
            raise _not_implemented("GetObject with partNumber (use a Range instead)")
        return await _get_object(request, store, request_id, bucket, key, query)
    if method == "DELETE":
        if "uploadId" in query:
            await run_in_threadpool(store.abort_multipart_upload, bucket, key, query["uploadId"])
            return Response(status_code=204, headers=_base_headers(request_id))
        await run_in_threadpool(store.head_bucket, bucket)
        try:
            await run_in_threadpool(store.delete_object, bucket, key)
        except ServiceError as error:
            if error.code != "NoSuchKey":  # deleting a missing key succeeds on S3
                raise
        return Response(status_code=204, headers=_base_headers(request_id))
    if method == "POST":
        if "uploads" in query:
            return await _create_multipart_upload(request, store, request_id, bucket, key)
        if "uploadId" in query:
            return await _complete_multipart_upload(
                request, store, request_id, bucket, key, query["uploadId"]
            )
        raise _not_implemented("POST on an object without ?uploads or ?uploadId")
    raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)


def _content_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value or None


async def _put_object(
    request: Request, store: ObjectStore, request_id: str, bucket: str, key: str
) -> Response:
    body = await SpooledBody.read(request)
    try:
        info: ObjectInfo = await run_in_threadpool(
            store.put_object, bucket, key, body.file, _content_type(request)
        )
    finally:
        body.close()
    return Response(
        status_code=200, headers=_base_headers(request_id) | {"ETag": info.etag} | body.checksum_headers()
    )


async def _copy_object(
    request: Request, store: ObjectStore, request_id: str, bucket: str, key: str
) -> Response:
    source = unquote(request.headers["x-amz-copy-source"].split("?", 1)[0]).lstrip("/")
    source_bucket, sep, source_key = source.partition("/")
    if not sep or not source_key:
        raise S3Error(
            "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
        )
    source_info: ObjectInfo = await run_in_threadpool(store.head_object, source_bucket, source_key)
    content_type = source_info.content_type
    if request.headers.get("x-amz-metadata-directive", "COPY").upper() == "REPLACE":
        content_type = _content_type(request) or content_type

    def copy() -> ObjectInfo:
        with store.open_object(source_bucket, source_key) as handle:
            return store.put_object(bucket, key, handle, content_type)

    info: ObjectInfo = await run_in_threadpool(copy)
    body = (
        f'<CopyObjectResult xmlns="{S3_NAMESPACE}">{_el("LastModified", _iso(info.last_modified))}'
        f"{_el('ETag', info.etag)}</CopyObjectResult>"
    )
    return _xml_response(body, request_id)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single ``bytes=`` range; None to serve the whole object (S3 ignores a
    malformed or multi-range header). Raises InvalidRange when the range is not satisfiable."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not match or (match.group(1) == "" and match.group(2) == ""):
        return None
    first_text, last_text = match.groups()
    unsatisfiable = S3Error(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        RangeRequested=header.strip(),
        ActualObjectSize=str(size),
    )
    if first_text == "":
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise unsatisfiable
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None  # syntactically invalid: S3 ignores it
    if first >= size:
        raise unsatisfiable
    return first, min(last, size - 1)


def _check_conditions(request: Request, info: ObjectInfo) -> int | None:
    """Conditional GET/HEAD: 412 or 304 when a precondition says so, else None."""
    headers = request.headers
    etag = info.etag.strip('"')
    modified = info.last_modified.replace(microsecond=0)

    def etags(value: str) -> set[str]:
        return {t.strip().removeprefix("W/").strip('"') for t in value.split(",")}

    def parse(value: str) -> datetime | None:
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None

    if_match = headers.get("if-match")
    if if_match is not None and "*" not in etags(if_match) and etag not in etags(if_match):
        return 412
    if_unmodified = parse(headers.get("if-unmodified-since", ""))
    if if_match is None and if_unmodified is not None and modified > if_unmodified:
        return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None and ("*" in etags(if_none_match) or etag in etags(if_none_match)):
        return 304
    if_modified = parse(headers.get("if-modified-since", ""))
    if if_none_match is None and if_modified is not None and modified <= if_modified:
        return 304
    return None


def _iter_file(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(READ_CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


async def _get_object(
    request: Request, store: ObjectStore, request_id: str, bucket: str, key: str, query: dict[str, str]
) -> Response:
    def open_with_info() -> tuple[ObjectInfo, IO[bytes] | None]:
        info = store.head_object(bucket, key)
        if request.method == "HEAD":
            return info, None
        handle = store.open_object(bucket, key)
        # The file may have been replaced between the two calls: describe what was actually opened.
        try:
            size = handle.seek(0, 2)
            handle.seek(0)
        except OSError:
            size = info.size
        if size != info.size:
            info = store.head_object(bucket, key)
        return info, handle

    info, handle = await run_in_threadpool(open_with_info)
    try:
        headers = _base_headers(request_id) | _object_headers(info)
        for param, header in (
            ("response-content-type", "Content-Type"),
            ("response-content-disposition", "Content-Disposition"),
            ("response-content-encoding", "Content-Encoding"),
            ("response-content-language", "Content-Language"),
            ("response-cache-control", "Cache-Control"),
            ("response-expires", "Expires"),
        ):
            if param in query:
                headers[header] = query[param]
        condition = _check_conditions(request, info)
        if condition == 412:
            raise S3Error(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                412,
                Condition="If-Match" if "if-match" in request.headers else "If-Unmodified-Since",
            )
        if condition == 304:
            if handle:
                handle.close()
            return Response(
                status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"}
            )
        status = 200
        start, length = 0, info.size
        range_header = request.headers.get("range")
        if range_header:
            byte_range = _parse_range(range_header, info.size)
            if byte_range is not None:
                first, last = byte_range
                start, length, status = first, last - first + 1, 206
                headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
        headers["Content-Length"] = str(length)
    except BaseException:
        if handle:
            handle.close()
        raise
    if handle is None:  # HEAD: headers only
        return Response(status_code=status, headers=headers)
    return StreamingResponse(_iter_file(handle, start, length), status_code=status, headers=headers)


async def _create_multipart_upload(
    request: Request, store: ObjectStore, request_id: str, bucket: str, key: str
) -> Response:
    await request.body()
    upload_id: str = await run_in_threadpool(
        store.create_multipart_upload, bucket, key, _content_type(request)
    )
    headers: dict[str, str] = {}
    algorithm = request.headers.get("x-amz-checksum-algorithm")
    if algorithm:
        headers["x-amz-checksum-algorithm"] = algorithm
        headers["x-amz-checksum-type"] = request.headers.get("x-amz-checksum-type", "COMPOSITE")
    body = (
        f'<InitiateMultipartUploadResult xmlns="{S3_NAMESPACE}">{_el("Bucket", bucket)}{_el("Key", key)}'
        f"{_el('UploadId', upload_id)}</InitiateMultipartUploadResult>"
    )
    return _xml_response(body, request_id, headers=headers)


async def _upload_part(
    request: Request, store: ObjectStore, request_id: str, bucket: str, key: str, query: dict[str, str]
) -> Response:
    upload_id = query.get("uploadId")
    part_text = query.get("partNumber", "")
    if not upload_id or not part_text.isdigit() or not 1 <= int(part_text) <= 10000:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
    body = await SpooledBody.read(request)
    try:
        etag: str = await run_in_threadpool(
            store.upload_part, bucket, key, upload_id, int(part_text), body.file
        )
    finally:
        body.close()
    return Response(
        status_code=200, headers=_base_headers(request_id) | {"ETag": etag} | body.checksum_headers()
    )


async def _complete_multipart_upload(
    request: Request, store: ObjectStore, request_id: str, bucket: str, key: str, upload_id: str
) -> Response:
    root = _parse_xml(await request.body(), "CompleteMultipartUpload")
    parts: list[tuple[int, str]] = []
    for part in root.findall("Part"):
        number = (part.findtext("PartNumber") or "").strip()
        etag = (part.findtext("ETag") or "").strip()
        if not number.isdigit():
            raise S3Error(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            )
        parts.append((int(number), etag if etag.startswith('"') else f'"{etag}"'))
    if not parts:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    info: ObjectInfo = await run_in_threadpool(store.complete_multipart_upload, bucket, key, upload_id, parts)
    location = (
        f"{request.url.scheme}://{request.headers.get('host', 'localhost')}/{quote(bucket)}/{quote(key)}"
    )
    body = (
        f'<CompleteMultipartUploadResult xmlns="{S3_NAMESPACE}">{_el("Location", location)}'
        f"{_el('Bucket', bucket)}{_el('Key', key)}{_el('ETag', info.etag)}</CompleteMultipartUploadResult>"
    )
    return _xml_response(body, request_id)
