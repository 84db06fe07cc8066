"""The object store behind ``s3://`` URIs: buckets are folders and objects are plain files under
``<home>/s3/<bucket>/<key>``, so users see their objects as files (and files they drop into a bucket folder
by hand are objects).

Layout of the store root:

* ``<bucket>/…`` one folder per bucket; key ``a/b/c`` is the file ``<bucket>/a/b/c``.
* ``.staging/`` temp files (same filesystem, so ``os.replace`` publishes an object atomically: readers see
  the old object or the new one, never a part; there is no fsync, so a power cut may lose recent writes) and
  ``.staging/uploads/<upload id>/`` the parts of multipart uploads.
* ``.meta.db`` SQLite (WAL) with each object's ETag and content type, keyed by the file's size, mtime and
  inode: a file changed by hand no longer matches its row and gets its MD5 recomputed (then cached).

Bucket names never start with ``.``, so the store's own entries are never buckets and never listed.

Keys map to paths segment by segment. Segments a filesystem cannot hold as names (``""``, ``.``, ``..``) and
those that start with the reserved prefix ``.s3~`` are stored as ``.s3~<segment>``, so ``a/`` (a folder
marker) is the file ``a/.s3~`` and ``a/../b`` is ``a/.s3~../b``: every key stays inside its bucket folder
(also checked with ``Path.resolve()``). NUL is refused (``InvalidArgument``). Symbolic links inside a bucket
are not objects.

A file or folder the server's user may not read or write (a PermissionError) is S3's ``AccessDenied`` (403),
naming the object's key, never the host path: a request error the client sees, not an internal error it
retries.

Several processes (the HTTP server, the CLI, job supervisors) may share one store.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import inspect
import itertools
import json
import os
import re
import shutil
import sqlite3
import stat
import threading
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, ParamSpec, TypeVar

from sagelocal.aws.errors import (
    AccessDenied,
    InvalidArgument,
    InvalidBucketName,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from sagelocal.service.s3names import (
    LEGACY_BUCKET_RE,
    KeyTooLongError,
    check_key,
    decode_name,
    decode_token,
    encode_segment,
    encode_token,
    valid_bucket_name,
)

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
STAGING_DIR = ".staging"
META_DB = ".meta.db"
MAX_KEYS = 1000
MAX_NAME_BYTES = 255
MAX_PART_NUMBER = 10000
_CHUNK = 1 << 20
#: Sorts after every character a key can hold; "<prefix><this>" is past every key that starts with <prefix>.
_AFTER_ALL = "\U0010ffff"

_NO_SUCH_BUCKET = "The specified bucket does not exist"
_NO_SUCH_KEY = "The specified key does not exist."
_NO_SUCH_UPLOAD = (
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted "
    "or completed."
)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _access_checked(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """PermissionError from ``method`` becomes AccessDenied ("Access Denied", S3's text) naming the request's
    key (or bucket), never the file's host path."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except PermissionError:
            bound = signature.bind_partial(*args, **kwargs).arguments
            named = {
                element: bound[name]
                for name, element in (("bucket", "BucketName"), ("key", "Key"))
                if isinstance(bound.get(name), str)
            }
            raise AccessDenied(**named) from None

    return checked


class InvalidPart(InvalidArgument):
    code = "InvalidPart"


class InvalidPartOrder(InvalidArgument):
    code = "InvalidPartOrder"


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


#: ``s3://bucket/key/part`` -> ``("bucket", "key/part")``; the store's callers' name for the shared parser.


def _quoted(etag: str) -> str:
    etag = etag.strip()
    return etag if etag.startswith('"') else f'"{etag}"'


def _mtime(st: os.stat_result) -> datetime:
    ms = st.st_mtime_ns // 1_000_000
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


# --- the store ---------------------------------------------------------------------------------------


class ObjectStore:
    def __init__(self, root: Path, spool_dir: Path | None = None) -> None:
        """``spool_dir``: where the server spools request bodies for this store (None: the system's temp
        folder); created here."""
        self.root = Path(root).expanduser().resolve()
        self.spool_dir = spool_dir
        if spool_dir is not None:
            spool_dir.mkdir(parents=True, exist_ok=True)
        self.staging = self.root / STAGING_DIR
        self.uploads = self.staging / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self._db_path = self.root / META_DB
        self._local = threading.local()
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS objects (bucket TEXT NOT NULL, key TEXT NOT NULL, "
                "size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, etag TEXT NOT NULL, "
                "content_type TEXT NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID"
            )
            db.execute("CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created REAL NOT NULL)")
        self._sweep_staging()

    def _sweep_staging(self, max_age: float = 86400.0) -> None:
        """Remove what crashed writers left in the staging area a day or more ago (never live uploads)."""
        now = datetime.now(UTC).timestamp()
        for folder, prefixes in ((self.staging, ("tmp-",)), (self.uploads, (".new-", ".done-", ".abort-"))):
            for entry in os.scandir(folder):
                if not entry.name.startswith(prefixes):
                    continue
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime < max_age:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)

    # -- metadata db

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():  # never reuse a connection across fork()
            conn = sqlite3.connect(self._db_path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            self._local.pid = os.getpid()
        yield conn

    def _remember(self, bucket: str, key: str, st: os.stat_result, etag: str, content_type: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)",
                (bucket, key, st.st_size, st.st_mtime_ns, st.st_ino, etag, content_type),
            )

    def _forget(self, bucket: str, key: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))

    def _info(self, bucket: str, key: str, path: Path, st: os.stat_result) -> ObjectInfo:
        with self._db() as db:
            row = db.execute(
                "SELECT size, mtime_ns, ino, etag, content_type FROM objects WHERE bucket = ? AND key = ?",
                (bucket, key),
            ).fetchone()
        if row is not None and tuple(row[:3]) == (st.st_size, st.st_mtime_ns, st.st_ino):
            etag, content_type = row[3], row[4]
        else:  # never uploaded through the store, or changed by hand since: hash it now, once
            digest = hashlib.md5(usedforsecurity=False)
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
            etag, content_type = f'"{digest.hexdigest()}"', DEFAULT_CONTENT_TYPE
            with contextlib.suppress(OSError):
                now = os.lstat(path)
                if (now.st_size, now.st_mtime_ns, now.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino):
                    self._remember(bucket, key, st, etag, content_type)
        return ObjectInfo(key, st.st_size, etag, _mtime(st), content_type)

    # -- paths

    def _bucket_dir(self, bucket: str) -> Path:
        if not isinstance(bucket, str) or LEGACY_BUCKET_RE.fullmatch(bucket) is None:
            raise NoSuchBucket(_NO_SUCH_BUCKET)
        path = self.root / bucket
        if not path.is_dir() or path.is_symlink():
            raise NoSuchBucket(_NO_SUCH_BUCKET)
        return path

    def _key_path(self, bucket_dir: Path, key: str) -> Path:
        check_key(key)
        names = [encode_segment(segment) for segment in key.split("/")]
        for name in names:
            if len(name.encode("utf-8")) > MAX_NAME_BYTES:
                raise KeyTooLongError(
                    f"Your key is too long: a path segment longer than {MAX_NAME_BYTES} bytes cannot be "
                    "stored as a file name"
                )
        path = bucket_dir.joinpath(*names)
        if not path.resolve().is_relative_to(bucket_dir.resolve()):
            raise InvalidArgument(f"Object key leaves its bucket folder (through a symbolic link): {key}")
        return path

    def _existing(self, bucket: str, key: str) -> tuple[Path, os.stat_result]:
        path = self._key_path(self._bucket_dir(bucket), key)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise NoSuchKey(_NO_SUCH_KEY) from None
        if not stat.S_ISREG(st.st_mode):
            raise NoSuchKey(_NO_SUCH_KEY)
        return path, st

    # -- buckets

    @_access_checked
    def create_bucket(self, bucket: str) -> None:
        """Creates the bucket folder. Creating a bucket that exists succeeds (us-east-1's behaviour)."""
        if not valid_bucket_name(bucket):
            raise InvalidBucketName("The specified bucket is not valid.")
        (self.root / bucket).mkdir(exist_ok=True)
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO buckets VALUES (?, ?)", (bucket, datetime.now(UTC).timestamp()))

    @_access_checked
    def head_bucket(self, bucket: str) -> None:
        self._bucket_dir(bucket)

    @_access_checked
    def list_buckets(self) -> list[BucketInfo]:
        with self._db() as db:
            created = dict(db.execute("SELECT name, created FROM buckets").fetchall())
        found: list[BucketInfo] = []
        for entry in os.scandir(self.root):
            if (
                entry.name.startswith(".")
                or LEGACY_BUCKET_RE.fullmatch(entry.name) is None
                or not entry.is_dir(follow_symlinks=False)
            ):
                continue
            when = created.get(entry.name, entry.stat(follow_symlinks=False).st_mtime)
            found.append(BucketInfo(entry.name, datetime.fromtimestamp(when, tz=UTC)))
        return sorted(found, key=lambda b: b.name)

    # -- objects

    def _stage(self, body: bytes | bytearray | memoryview | BinaryIO | Path) -> tuple[Path, str]:
        """Copy ``body`` into a new staging file; returns it and the quoted MD5 of its bytes."""
        tmp = self.staging / f"tmp-{uuid.uuid4().hex}"
        digest = hashlib.md5(usedforsecurity=False)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(body, bytes | bytearray | memoryview):
                    digest.update(body)
                    out.write(body)
                else:
                    source = open(body, "rb") if isinstance(body, Path) else contextlib.nullcontext(body)
                    with source as src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return tmp, f'"{digest.hexdigest()}"'

    def _publish(self, tmp: Path, bucket_dir: Path, key: str, path: Path) -> None:
        """Move a staged file to ``path`` atomically, creating the folders on its way."""
        try:
            for _ in range(10):  # a concurrent delete may prune a folder we just made: make it again
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except (FileExistsError, NotADirectoryError):
                    raise self._conflict(key) from None
                try:
                    if path.is_dir() and not path.is_symlink():
                        raise self._conflict(key)
                    os.replace(tmp, path)
                    return
                except FileNotFoundError:
                    if not tmp.exists():
                        raise
                    continue
                except IsADirectoryError:
                    raise self._conflict(key) from None
                except OSError as e:
                    if e.errno in (errno.ENOTDIR, errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST):
                        raise self._conflict(key) from None
                    raise
            raise OSError(f"Could not create the folders for {key}")
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    @staticmethod
    def _conflict(key: str) -> InvalidArgument:
        return InvalidArgument(
            f"The local object store keeps objects as files, and the key {key!r} collides with an object "
            "that is a folder of this one or of which this one would be a folder."
        )

    @_access_checked
    def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes | BinaryIO | Path,
        content_type: str | None = None,
    ) -> ObjectInfo:
        """Store ``body`` as the object; it becomes visible all at once (temp file + rename)."""
        bucket_dir = self._bucket_dir(bucket)
        path = self._key_path(bucket_dir, key)
        tmp, etag = self._stage(body)
        st = os.stat(tmp)
        self._publish(tmp, bucket_dir, key, path)
        content_type = content_type or DEFAULT_CONTENT_TYPE
        self._remember(bucket, key, st, etag, content_type)
        return ObjectInfo(key, st.st_size, etag, _mtime(st), content_type)

    @_access_checked
    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        path, st = self._existing(bucket, key)
        try:
            return self._info(bucket, key, path, st)
        except FileNotFoundError:  # deleted meanwhile
            raise NoSuchKey(_NO_SUCH_KEY) from None

    @_access_checked
    def object_path(self, bucket: str, key: str) -> Path:
        """The object's file, for hard-linking into a job's layout or streaming. NoSuchKey if absent."""
        return self._existing(bucket, key)[0]

    @_access_checked
    def open_object(self, bucket: str, key: str) -> BinaryIO:
        path, _ = self._existing(bucket, key)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise NoSuchKey(_NO_SUCH_KEY) from None

    @_access_checked
    def delete_object(self, bucket: str, key: str) -> None:
        """Deleting a missing key succeeds, as in S3. Emptied folders are removed (S3 has none)."""
        bucket_dir = self._bucket_dir(bucket)
        path = self._key_path(bucket_dir, key)
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            pass
        self._forget(bucket, key)
        self._prune(bucket_dir, path.parent)

    @staticmethod
    def _prune(bucket_dir: Path, folder: Path) -> None:
        while folder != bucket_dir and folder.is_relative_to(bucket_dir):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    # -- listing

    def _walk(self, folder: Path, base: str, prefix: str, after: str | None, cache: dict) -> Iterator[tuple]:
        """Yield ``(key, path, stat)`` of the files under ``folder`` (whose keys start with ``base``), in key
        order (UTF-8 byte order, which is code point order), keeping keys that start with ``prefix`` and
        sort after ``after``."""
        entries = cache.get(folder)
        if entries is None:
            entries = []
            try:
                scan = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                scan = []
            for entry in scan:
                name = entry.name
                segment = decode_name(name)
                if encode_segment(segment) != name:
                    continue  # not a name the store writes (e.g. ".s3~x" made by hand): not an object
                try:
                    segment.encode("utf-8")
                except UnicodeEncodeError:
                    continue  # a file name that is not UTF-8 cannot be an S3 key
                if entry.is_dir(follow_symlinks=False):
                    entries.append((segment + "/", name, True))
                elif entry.is_file(follow_symlinks=False):
                    entries.append((segment, name, False))
            entries.sort()
            cache[folder] = entries
        lower = max(prefix[len(base) :] if prefix.startswith(base) else "", "")
        if after is not None and after.startswith(base):
            lower = max(lower, after[len(base) :])
        start = bisect_left(entries, (lower,))
        if start > 0 and entries[start - 1][2] and lower.startswith(entries[start - 1][0]):
            start -= 1
        for sort_key, name, is_dir in entries[start:]:
            key = base + sort_key
            if not (key.startswith(prefix) or (is_dir and prefix.startswith(key))):
                if key > prefix:
                    return
                continue
            if is_dir:
                if after is not None and not after.startswith(key) and after > key:
                    continue
                yield from self._walk(folder / name, key, prefix, after, cache)
            else:
                if after is not None and key <= after:
                    continue
                path = folder / name
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    continue
                yield key, path, st

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
        bucket_dir = self._bucket_dir(bucket)
        try:
            for key, path, st in self._walk(bucket_dir, "", prefix or "", None, {}):
                try:
                    yield self._info(bucket, key, path, st)
                except FileNotFoundError:
                    continue
        except PermissionError:
            raise AccessDenied(BucketName=bucket) from None

    @_access_checked
    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: int = 1000,
        continuation_token: str | None = None,
        start_after: str | None = None,
    ) -> Listing:
        """ListObjectsV2: keys in UTF-8 byte order, ``prefix``, ``delimiter`` rolling keys up into common
        prefixes (each counts once towards ``max_keys``, capped at 1000), ``start_after`` and an opaque
        ``continuation_token`` (which wins over ``start_after``)."""
        bucket_dir = self._bucket_dir(bucket)
        prefix = prefix or ""
        after = start_after or None
        past: str | None = None  # a common prefix already returned: every key under it is skipped
        if continuation_token:
            after, past = decode_token(continuation_token)
        limit = max(0, min(int(max_keys), MAX_KEYS))
        cache: dict = {}
        contents: list[ObjectInfo] = []
        common: list[str] = []
        last: str | None = None

        def remaining() -> Iterator[tuple]:
            # the walk jumps past most of a returned prefix's keys; the check catches keys that sort after
            # the jump (those continuing with U+10FFFF)
            start = past + _AFTER_ALL if past is not None and after == past else after
            for item in self._walk(bucket_dir, "", prefix, start, cache):
                if past is None or not item[0].startswith(past):
                    yield item

        while len(contents) + len(common) < limit:
            rolled = False
            for key, path, st in remaining():
                if delimiter:
                    cut = key.find(delimiter, len(prefix))
                    if cut >= 0:
                        common_prefix = key[: cut + len(delimiter)]
                        common.append(common_prefix)
                        last = after = past = common_prefix
                        rolled = True
                        break
                try:
                    contents.append(self._info(bucket, key, path, st))
                except FileNotFoundError:
                    continue
                last = after = key
                if len(contents) + len(common) >= limit:
                    break
            if not rolled:
                break
        truncated = False
        if limit and last is not None and len(contents) + len(common) >= limit:
            truncated = next(remaining(), None) is not None
        token = encode_token(after, past if past == after else None) if truncated and after is not None else None
        return Listing(contents, common, truncated, token)

    # -- multipart uploads

    def _upload_dir(self, bucket: str, key: str, upload_id: str) -> Path:
        if not isinstance(upload_id, str) or re.fullmatch(r"[0-9a-f]{32}", upload_id) is None:
            raise NoSuchUpload(_NO_SUCH_UPLOAD)
        folder = self.uploads / upload_id
        try:
            info = json.loads((folder / "upload.json").read_text())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            raise NoSuchUpload(_NO_SUCH_UPLOAD) from None
        if info.get("bucket") != bucket or info.get("key") != key:
            raise NoSuchUpload(_NO_SUCH_UPLOAD)
        return folder

    @_access_checked
    def create_multipart_upload(self, bucket: str, key: str, content_type: str | None = None) -> str:
        self._key_path(self._bucket_dir(bucket), key)
        upload_id = uuid.uuid4().hex
        pending = self.uploads / f".new-{upload_id}"
        pending.mkdir()
        info = {
            "bucket": bucket,
            "key": key,
            "content_type": content_type or DEFAULT_CONTENT_TYPE,
            "initiated": datetime.now(UTC).isoformat(),
        }
        (pending / "upload.json").write_text(json.dumps(info))
        os.replace(pending, self.uploads / upload_id)
        return upload_id

    @_access_checked
    def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: bytes | BinaryIO
    ) -> str:
        """Stores one part (replacing an earlier upload of the same number); returns its quoted ETag."""
        self._bucket_dir(bucket)
        folder = self._upload_dir(bucket, key, upload_id)
        if (
            isinstance(part_number, bool)
            or not isinstance(part_number, int)
            or not 1 <= part_number <= MAX_PART_NUMBER
        ):
            raise InvalidArgument(
                f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
            )
        tmp, etag = self._stage(body)
        try:
            os.replace(tmp, folder / f"part-{part_number:05d}")
        except FileNotFoundError:  # aborted or completed meanwhile
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise NoSuchUpload(_NO_SUCH_UPLOAD) from None
        return etag

    @_access_checked
    def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> ObjectInfo:
        """Joins the listed parts, in order, into the object (atomically). Each ETag must match its part's
        (InvalidPart); part numbers must ascend (InvalidPartOrder). The ETag is the MD5 of the parts' binary
        MD5s followed by ``-<number of parts>``."""
        bucket_dir = self._bucket_dir(bucket)
        folder = self._upload_dir(bucket, key, upload_id)
        path = self._key_path(bucket_dir, key)
        if not parts:
            raise InvalidArgument("You must specify at least one part")
        numbers = [number for number, _ in parts]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise InvalidPartOrder(
                "The list of parts was not in ascending order. Parts must be ordered by part number."
            )
        info = json.loads((folder / "upload.json").read_text())
        tmp = self.staging / f"tmp-{uuid.uuid4().hex}"
        whole = hashlib.md5(usedforsecurity=False)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as out:
                for number, given in parts:
                    digest = hashlib.md5(usedforsecurity=False)
                    try:
                        src = open(folder / f"part-{number:05d}", "rb")
                    except FileNotFoundError:
                        raise self._invalid_part() from None
                    with src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                    if _quoted(given or "") != f'"{digest.hexdigest()}"':
                        raise self._invalid_part()
                    whole.update(digest.digest())
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        # Claim the upload: of two concurrent completions only one renames the folder away.
        claimed = self.uploads / f".done-{upload_id}-{uuid.uuid4().hex}"
        try:
            os.replace(folder, claimed)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise NoSuchUpload(_NO_SUCH_UPLOAD) from None
        etag = f'"{whole.hexdigest()}-{len(parts)}"'
        st = os.stat(tmp)
        try:
            self._publish(tmp, bucket_dir, key, path)
        finally:
            shutil.rmtree(claimed, ignore_errors=True)
        self._remember(bucket, key, st, etag, info.get("content_type") or DEFAULT_CONTENT_TYPE)
        return ObjectInfo(key, st.st_size, etag, _mtime(st), info.get("content_type") or DEFAULT_CONTENT_TYPE)

    @staticmethod
    def _invalid_part() -> InvalidPart:
        return InvalidPart(
            "One or more of the specified parts could not be found.  The part may not have been uploaded, "
            "or the specified entity tag may not match the part's entity tag."
        )

    @_access_checked
    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self._bucket_dir(bucket)
        folder = self._upload_dir(bucket, key, upload_id)
        claimed = self.uploads / f".abort-{upload_id}-{uuid.uuid4().hex}"
        try:
            os.replace(folder, claimed)
        except FileNotFoundError:
            raise NoSuchUpload(_NO_SUCH_UPLOAD) from None
        shutil.rmtree(claimed, ignore_errors=True)
