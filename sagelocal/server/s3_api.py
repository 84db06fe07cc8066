"""S3 REST over the ObjectStore: path-style (``/bucket/key``) and virtual-host-style (``bucket.localhost``).

This module is the operations: parse the request, call the store, render the answer. Request bodies are
decoded (``aws-chunked``, checksums, XML documents) in :mod:`sagelocal.server.s3_body`, spooled to a temporary
file so large uploads are not held in memory; addressing, XML rendering and S3's XML error document are in
:mod:`sagelocal.server.s3_wire`. Object bodies are streamed back from the store's files.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from sagelocal.aws.errors import AccessDenied, ServiceError
from sagelocal.config import ACCOUNT_ID, region
from sagelocal.server.auth import SignatureError, Verified
from sagelocal.server.s3_body import SpooledBody, parse_xml, read_small_body
from sagelocal.server.s3_wire import (
    S3_NAMESPACE,
    S3Error,
    base_headers,
    el,
    error_response,
    iso,
    not_implemented,
    object_headers,
    split_path,
    xml_response,
)
from sagelocal.service.objectstore import Listing, ObjectInfo, ObjectStore

log = logging.getLogger("sagelocal.server")

OWNER_ID = hashlib.sha256(ACCOUNT_ID.encode()).hexdigest()
OWNER_NAME = "sagelocal"
READ_CHUNK_BYTES = 256 * 1024
#: Query parameters naming S3 sub-resources sagelocal does not implement.
UNSUPPORTED_SUBRESOURCES = frozenset(
    "accelerate acl analytics attributes cors encryption intelligent-tiering inventory legal-hold lifecycle "
    "logging metrics notification object-lock ownershipControls policy policyStatus publicAccessBlock "
    "replication requestPayment restore retention select tagging torrent versioning versions website".split()
)


# --- handlers ---------------------------------------------------------------------------------------------


def _request_id() -> str:
    return str(uuid.uuid4()).replace("-", "").upper()[:16]


def signature_error(error: SignatureError, request: Request) -> Response:
    """A request that failed authentication, answered as S3 does: its XML error document with the ``extra``
    elements (``StringToSign``, ``CanonicalRequest``…) that help a client debug its signer."""
    return error_response(error, _request_id(), request.method, None, None)


async def handle(
    request: Request, store: ObjectStore, host_bucket: str | None, verified: Verified
) -> Response:
    """Serve one S3 request whose signature ``verified`` checked; its body is checked against ``verified``
    as it is read."""
    request_id = _request_id()
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
            raise not_implemented(f"?{unsupported[0]}")
        if key is None:
            return await _bucket_operation(request, verified, store, request_id, bucket, query)
        return await _object_operation(request, verified, store, request_id, bucket, key, query)
    except ServiceError as error:
        return error_response(error, request_id, method, bucket, key)
    except (
        PermissionError
    ) as exc:  # the store maps its own; this is anything else the server's user may not touch
        log.warning("S3 %s %s: %s", method, request.url.path, exc)
        named = {"BucketName": bucket} if key is None and bucket is not None else {}
        denied = AccessDenied(**named, **({"Key": key} if key is not None else {}))
        return error_response(denied, request_id, method, bucket, key)
    except ClientDisconnect:  # the client went away mid-body: nothing was stored, nobody to answer
        return Response(status_code=400, headers=base_headers(request_id))
    except Exception:
        log.exception("S3 %s %s failed", method, request.url.path)
        internal = S3Error("InternalError", "We encountered an internal error. Please try again.", 500)
        return error_response(internal, request_id, method, bucket, key)


async def _list_buckets(store: ObjectStore, request_id: str) -> Response:
    buckets = await run_in_threadpool(store.list_buckets)
    body = (
        f'<ListAllMyBucketsResult xmlns="{S3_NAMESPACE}">'
        f"<Owner>{el('ID', OWNER_ID)}{el('DisplayName', OWNER_NAME)}</Owner><Buckets>"
        + "".join(
            f"<Bucket>{el('Name', b.name)}{el('CreationDate', iso(b.creation_date))}</Bucket>"
            for b in buckets
        )
        + "</Buckets></ListAllMyBucketsResult>"
    )
    return xml_response(body, request_id)


async def _bucket_operation(
    request: Request,
    verified: Verified,
    store: ObjectStore,
    request_id: str,
    bucket: str,
    query: dict[str, str],
) -> Response:
    method = request.method
    region_header = {"x-amz-bucket-region": region()}
    if method == "PUT":
        # CreateBucketConfiguration: any LocationConstraint is accepted
        await read_small_body(request, verified)
        await run_in_threadpool(store.create_bucket, bucket)
        headers = base_headers(request_id) | {"Location": f"/{bucket}"}
        return Response(status_code=200, headers=headers)
    if method == "HEAD":
        await run_in_threadpool(store.head_bucket, bucket)
        return Response(status_code=200, headers=base_headers(request_id) | region_header)
    if method == "GET":
        if "location" in query:
            await run_in_threadpool(store.head_bucket, bucket)
            location = "" if region() == "us-east-1" else escape(region())
            return xml_response(
                f'<LocationConstraint xmlns="{S3_NAMESPACE}">{location}</LocationConstraint>', request_id
            )
        if "uploads" in query:
            raise not_implemented("ListMultipartUploads")
        if query.get("list-type") == "2":
            return await _list_objects_v2(store, request_id, bucket, query)
        return await _list_objects_v1(store, request_id, bucket, query)
    if method == "POST" and "delete" in query:
        return await _delete_objects(request, verified, store, request_id, bucket)
    if method == "DELETE":
        raise not_implemented("DeleteBucket (remove the folder under <home>/s3 instead)")
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
        + el("Key", encode(info.key))
        + el("LastModified", iso(info.last_modified))
        + el("ETag", info.etag)
        + el("Size", info.size)
        + (f"<Owner>{el('ID', OWNER_ID)}{el('DisplayName', OWNER_NAME)}</Owner>" if owner else "")
        + el("StorageClass", "STANDARD")
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
    parts = [f'<ListBucketResult xmlns="{S3_NAMESPACE}">', el("Name", bucket), el("Prefix", encode(prefix))]
    if start_after is not None:
        parts.append(el("StartAfter", encode(start_after)))
    if token is not None:
        parts.append(el("ContinuationToken", token))
    if listing.is_truncated and listing.next_continuation_token:
        parts.append(el("NextContinuationToken", listing.next_continuation_token))
    parts.append(el("KeyCount", len(listing.contents) + len(listing.common_prefixes)))
    parts.append(el("MaxKeys", max_keys))
    if delimiter is not None:
        parts.append(el("Delimiter", encode(delimiter)))
    if "encoding-type" in query:
        parts.append(el("EncodingType", "url"))
    parts.append(el("IsTruncated", "true" if listing.is_truncated else "false"))
    owner = query.get("fetch-owner", "").lower() == "true"
    parts.extend(_contents_xml(info, encode, owner) for info in listing.contents)
    parts.extend(
        f"<CommonPrefixes>{el('Prefix', encode(p))}</CommonPrefixes>" for p in listing.common_prefixes
    )
    parts.append("</ListBucketResult>")
    return xml_response("".join(parts), request_id)


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
        el("Name", bucket),
        el("Prefix", encode(prefix)),
        el("Marker", encode(marker)),
    ]
    if listing.is_truncated and delimiter is not None:
        last = max([c.key for c in listing.contents] + list(listing.common_prefixes))
        parts.append(el("NextMarker", encode(last)))
    parts.append(el("MaxKeys", max_keys))
    if delimiter is not None:
        parts.append(el("Delimiter", encode(delimiter)))
    if "encoding-type" in query:
        parts.append(el("EncodingType", "url"))
    parts.append(el("IsTruncated", "true" if listing.is_truncated else "false"))
    parts.extend(_contents_xml(info, encode, True) for info in listing.contents)
    parts.extend(
        f"<CommonPrefixes>{el('Prefix', encode(p))}</CommonPrefixes>" for p in listing.common_prefixes
    )
    parts.append("</ListBucketResult>")
    return xml_response("".join(parts), request_id)


async def _delete_objects(
    request: Request, verified: Verified, store: ObjectStore, request_id: str, bucket: str
) -> Response:
    root = parse_xml(await read_small_body(request, verified), "Delete")
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
                    results.append(f"<Deleted>{el('Key', key)}</Deleted>")
                continue
            results.append(
                f"<Error>{el('Key', key)}{el('Code', error.code)}{el('Message', error.message)}</Error>"
            )
        else:
            if not quiet:
                results.append(f"<Deleted>{el('Key', key)}</Deleted>")
    return xml_response(f'<DeleteResult xmlns="{S3_NAMESPACE}">{"".join(results)}</DeleteResult>', request_id)


async def _object_operation(
    request: Request,
    verified: Verified,
    store: ObjectStore,
    request_id: str,
    bucket: str,
    key: str,
    query: dict[str, str],
) -> Response:
    method = request.method
    headers = request.headers
    if method == "PUT":
        if "uploadId" in query or "partNumber" in query:
            if "x-amz-copy-source" in headers:
                raise not_implemented("UploadPartCopy")
            return await _upload_part(request, verified, store, request_id, bucket, key, query)
        if "x-amz-copy-source" in headers:
            return await _copy_object(request, store, request_id, bucket, key)
        return await _put_object(request, verified, store, request_id, bucket, key)
    if method in ("GET", "HEAD"):
        if "uploadId" in query:
            raise not_implemented("ListParts")
        if "partNumber" in query:
            raise not_implemented("GetObject with partNumber (use a Range instead)")
        return await _get_object(request, store, request_id, bucket, key, query)
    if method == "DELETE":
        if "uploadId" in query:
            await run_in_threadpool(store.abort_multipart_upload, bucket, key, query["uploadId"])
            return Response(status_code=204, headers=base_headers(request_id))
        await run_in_threadpool(store.head_bucket, bucket)
        try:
            await run_in_threadpool(store.delete_object, bucket, key)
        except ServiceError as error:
            if error.code != "NoSuchKey":  # deleting a missing key succeeds on S3
                raise
        return Response(status_code=204, headers=base_headers(request_id))
    if method == "POST":
        if "uploads" in query:
            return await _create_multipart_upload(request, verified, store, request_id, bucket, key)
        if "uploadId" in query:
            return await _complete_multipart_upload(
                request, verified, store, request_id, bucket, key, query["uploadId"]
            )
        raise not_implemented("POST on an object without ?uploads or ?uploadId")
    raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)


def _content_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value or None


async def _put_object(
    request: Request, verified: Verified, store: ObjectStore, request_id: str, bucket: str, key: str
) -> Response:
    body = await SpooledBody.read(request, verified, store.spool_dir)
    try:
        info: ObjectInfo = await run_in_threadpool(
            store.put_object, bucket, key, body.file, _content_type(request)
        )
    finally:
        body.close()
    return Response(
        status_code=200, headers=base_headers(request_id) | {"ETag": info.etag} | body.checksum_headers()
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
        f'<CopyObjectResult xmlns="{S3_NAMESPACE}">{el("LastModified", iso(info.last_modified))}'
        f"{el('ETag', info.etag)}</CopyObjectResult>"
    )
    return xml_response(body, request_id)


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
        headers = base_headers(request_id) | object_headers(info)
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
    request: Request, verified: Verified, store: ObjectStore, request_id: str, bucket: str, key: str
) -> Response:
    await read_small_body(request, verified)
    upload_id: str = await run_in_threadpool(
        store.create_multipart_upload, bucket, key, _content_type(request)
    )
    headers: dict[str, str] = {}
    algorithm = request.headers.get("x-amz-checksum-algorithm")
    if algorithm:
        headers["x-amz-checksum-algorithm"] = algorithm
        headers["x-amz-checksum-type"] = request.headers.get("x-amz-checksum-type", "COMPOSITE")
    body = (
        f'<InitiateMultipartUploadResult xmlns="{S3_NAMESPACE}">{el("Bucket", bucket)}{el("Key", key)}'
        f"{el('UploadId', upload_id)}</InitiateMultipartUploadResult>"
    )
    return xml_response(body, request_id, headers=headers)


async def _upload_part(
    request: Request,
    verified: Verified,
    store: ObjectStore,
    request_id: str,
    bucket: str,
    key: str,
    query: dict[str, str],
) -> Response:
    upload_id = query.get("uploadId")
    part_text = query.get("partNumber", "")
    if not upload_id or not part_text.isdigit() or not 1 <= int(part_text) <= 10000:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
    body = await SpooledBody.read(request, verified, store.spool_dir)
    try:
        etag: str = await run_in_threadpool(
            store.upload_part, bucket, key, upload_id, int(part_text), body.file
        )
    finally:
        body.close()
    return Response(
        status_code=200, headers=base_headers(request_id) | {"ETag": etag} | body.checksum_headers()
    )


async def _complete_multipart_upload(
    request: Request,
    verified: Verified,
    store: ObjectStore,
    request_id: str,
    bucket: str,
    key: str,
    upload_id: str,
) -> Response:
    root = parse_xml(await read_small_body(request, verified), "CompleteMultipartUpload")
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
        f'<CompleteMultipartUploadResult xmlns="{S3_NAMESPACE}">{el("Location", location)}'
        f"{el('Bucket', bucket)}{el('Key', key)}{el('ETag', info.etag)}</CompleteMultipartUploadResult>"
    )
    return xml_response(body, request_id)
