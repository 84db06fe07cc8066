"""The object store behind ``s3://`` URIs: buckets are folders and objects are plain files under
``<home>/s3/<bucket>/<key>``, so users see their objects as files. (SKELETON: signatures only; being built.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # quoted, as S3 sends it: '"<md5 hex>"' or '"<md5-of-md5s>-<parts>"'
    last_modified: datetime  # timezone-aware UTC
    content_type: str = "binary/octet-stream"


@dataclass(frozen=True)
class BucketInfo:
    name: str
    creation_date: datetime


@dataclass(frozen=True)
class Listing:
    contents: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str | None  # opaque; pass back as continuation_token


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/part`` -> ``("bucket", "key/part")``. Raises ValueError for anything else."""
    raise NotImplementedError


class ObjectStore:
    def __init__(self, root: Path) -> None: ...
    def create_bucket(self, bucket: str) -> None: ...
    def head_bucket(self, bucket: str) -> None: ...  # NoSuchBucket
    def list_buckets(self) -> list[BucketInfo]: ...
    def put_object(self, bucket: str, key: str, body: bytes | BinaryIO | Path,
                   content_type: str | None = None) -> ObjectInfo: ...  # atomic: temp file + rename
    def head_object(self, bucket: str, key: str) -> ObjectInfo: ...  # NoSuchKey / NoSuchBucket
    def object_path(self, bucket: str, key: str) -> Path: ...  # the file, for linking and streaming
    def open_object(self, bucket: str, key: str) -> BinaryIO: ...
    def delete_object(self, bucket: str, key: str) -> None: ...
    def list_objects(self, bucket: str, prefix: str = "", delimiter: str | None = None,
                     max_keys: int = 1000, continuation_token: str | None = None,
                     start_after: str | None = None) -> Listing: ...
    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]: ...  # all, key order
    def create_multipart_upload(self, bucket: str, key: str, content_type: str | None = None) -> str: ...
    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                    body: bytes | BinaryIO) -> str: ...  # returns the part's quoted ETag
    def complete_multipart_upload(self, bucket: str, key: str, upload_id: str,
                                  parts: list[tuple[int, str]]) -> ObjectInfo: ...
    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None: ...
