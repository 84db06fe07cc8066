"""The S3 browser: buckets, then a bucket's folders and objects under a prefix (as the S3 console shows a bucket:
names, sizes, last modified), and object downloads.

A folder view reads the bucket's folder on disk directly (the object store keeps key ``a/b/c`` as the file
``<bucket>/a/b/c``; ``sagelocal.service.objectstore``), decoding names with the store's own rules. It does not go
through ``ObjectStore.list_objects``, which computes and caches the ETag of files dropped in by hand — a write
into the store's metadata — and the browser shows no ETag anyway.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from sagelocal.aws.errors import ServiceError
from sagelocal.server.console.web import SECURITY_HEADERS, Context, Section, route
from sagelocal.service.s3names import decode_name, encode_segment

SECTION = Section("S3", "/s3")
#: Entries one folder view shows (the S3 console pages by 100 … 1000).
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class Entry:
    key: str  # the full key, or the common prefix (ending in "/") of a folder
    name: str  # what is shown: the part after the folder
    folder: bool
    size: int = 0
    modified: datetime | None = None


def buckets(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    return ctx.page("s3_buckets.html", buckets=ctx.objects.list_buckets())


def _entries(ctx: Context, bucket: str, prefix: str) -> tuple[list[Entry], bool]:
    """What is under ``prefix`` one level down: its folder's sub-folders and objects whose names start with the
    rest of the prefix. Returns (entries, truncated)."""
    folder, _, start = prefix.rpartition("/")
    folder = folder + "/" if folder else ""
    bucket_dir = ctx.objects.root / bucket
    path = bucket_dir.joinpath(*[encode_segment(s) for s in folder.split("/")[:-1]])
    if not path.resolve().is_relative_to(bucket_dir.resolve()):
        return [], False
    try:
        scan = sorted(os.scandir(path), key=lambda e: decode_name(e.name))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return [], False
    found: list[Entry] = []
    for entry in scan:
        segment = decode_name(entry.name)
        if encode_segment(segment) != entry.name or not segment.startswith(start):
            continue  # not a name the store writes (its own files, hand-made .s3~ names), or filtered out
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            found.append(Entry(folder + segment + "/", segment + "/", True))
        elif stat.S_ISREG(info.st_mode):
            modified = datetime.fromtimestamp(info.st_mtime, tz=UTC)
            found.append(Entry(folder + segment, segment, False, info.st_size, modified))
        if len(found) > MAX_ENTRIES:
            return found[:MAX_ENTRIES], True
    return found, False


def bucket(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    name = params["bucket"]
    try:
        ctx.objects.head_bucket(name)
    except ServiceError:
        return ctx.not_found(f"Bucket {name}")
    prefix = request.query_params.get("prefix", "")
    entries, truncated = _entries(ctx, name, prefix)
    crumbs = []
    so_far = ""
    for part in prefix.split("/")[:-1]:
        so_far += part + "/"
        crumbs.append((part + "/", so_far))
    return ctx.page(
        "s3_bucket.html", bucket=name, prefix=prefix, entries=entries, truncated=truncated, crumbs=crumbs
    )


def download(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    """The object as an attachment, never rendered: ``application/octet-stream`` whatever its content type."""
    key = request.query_params.get("key", "")
    try:
        path = ctx.objects.object_path(params["bucket"], key)
    except ServiceError:
        return ctx.not_found(f"Object s3://{params['bucket']}/{key}")
    response = FileResponse(
        path, media_type="application/octet-stream", filename=key.rsplit("/", 1)[-1] or "object"
    )
    response.headers.update(SECURITY_HEADERS)
    return response


ROUTES = [
    route(r"/s3", buckets),
    route(r"/s3/(?P<bucket>[^/]+)", bucket),
    route(r"/s3/(?P<bucket>[^/]+)/object", download),
]
