"""The object store: S3 semantics over plain files."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagelocal.aws.errors import (
    InvalidArgument,
    InvalidBucketName,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from sagelocal.aws.refs import S3Uri
from sagelocal.service.objectstore import InvalidPart, InvalidPartOrder, ObjectStore
from sagelocal.service.s3names import KeyTooLongError, valid_bucket_name


def md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    s = ObjectStore(tmp_path / "s3")
    s.create_bucket("bucket")
    return s


# --- URIs and names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/key/part", ("bucket", "key/part")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/a//b/", ("bucket", "a//b/")),
        ("s3://bucket/%2e%2e/x", ("bucket", "%2e%2e/x")),
    ],
)
def test_parse_s3_uri(uri: str, expected: tuple[str, str]) -> None:
    assert S3Uri.parse(uri) == expected


@pytest.mark.parametrize(
    "uri", ["https://bucket/key", "/tmp/x", "s3:/bucket/key", "s3:///key", "S3://b/k", ""]
)
def test_parse_s3_uri_rejects_other_uris(uri: str) -> None:
    with pytest.raises(ValueError):
        S3Uri.parse(uri)


@pytest.mark.parametrize(
    "name", ["abc", "my-bucket.data", "sagemaker-us-east-1-123456789012", "a" * 63, "1bucket9"]
)
def test_valid_bucket_names(name: str) -> None:
    assert valid_bucket_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "My-Bucket",
        "under_score",
        "-start",
        "end-",
        ".dot",
        "a..b",
        "a.-b",
        "192.168.1.1",
        "xn--bucket",
        "bucket-s3alias",
        "..",
        "a/b",
        "",
    ],
)
def test_invalid_bucket_names_are_refused(tmp_path: Path, name: str) -> None:
    s = ObjectStore(tmp_path / "s3")
    with pytest.raises(InvalidBucketName) as e:
        s.create_bucket(name)
    assert e.value.message == "The specified bucket is not valid."
    assert not valid_bucket_name(name)


# --- buckets ----------------------------------------------------------------------------------------------


def test_buckets_are_folders_and_listing_hides_the_store_area(tmp_path: Path) -> None:
    s = ObjectStore(tmp_path / "s3")
    s.create_bucket("zeta")
    s.create_bucket("alpha")
    s.create_bucket("alpha")  # again: succeeds, as in us-east-1
    assert (tmp_path / "s3" / "alpha").is_dir()
    buckets = s.list_buckets()
    assert [b.name for b in buckets] == ["alpha", "zeta"]
    assert all(b.creation_date.tzinfo is not None for b in buckets)
    s.head_bucket("alpha")


@pytest.mark.parametrize("name", ["missing", ".staging", "..", ".", "a/b", "", ".meta.db"])
def test_missing_bucket(store: ObjectStore, name: str) -> None:
    for call in (
        lambda: store.head_bucket(name),
        lambda: store.put_object(name, "k", b"x"),
        lambda: store.head_object(name, "k"),
        lambda: store.list_objects(name),
    ):
        with pytest.raises(NoSuchBucket) as e:
            call()
        assert e.value.message == "The specified bucket does not exist"
        assert e.value.code == "NoSuchBucket"


# --- objects ----------------------------------------------------------------------------------------------


def test_put_head_open_as_plain_files(store: ObjectStore, tmp_path: Path) -> None:
    info = store.put_object("bucket", "train/data.csv", b"1,2,3\n", content_type="text/csv")
    assert info.key == "train/data.csv"
    assert info.size == 6
    assert info.etag == md5(b"1,2,3\n")
    assert info.content_type == "text/csv"
    assert info.last_modified.tzinfo == UTC
    assert abs((datetime.now(UTC) - info.last_modified).total_seconds()) < 3600
    path = tmp_path / "s3" / "bucket" / "train" / "data.csv"
    assert path.read_bytes() == b"1,2,3\n"
    assert store.object_path("bucket", "train/data.csv") == path
    assert store.head_object("bucket", "train/data.csv") == info
    with store.open_object("bucket", "train/data.csv") as f:
        assert f.read() == b"1,2,3\n"


def test_put_from_stream_and_path(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # several chunks
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    assert store.put_object("bucket", "from-path", src).etag == md5(data)
    assert store.put_object("bucket", "from-stream", io.BytesIO(data)).etag == md5(data)
    assert store.object_path("bucket", "from-path").read_bytes() == data
    assert store.head_object("bucket", "from-stream").content_type == "binary/octet-stream"


def test_overwrite_replaces_whole_object_and_metadata(store: ObjectStore) -> None:
    store.put_object("bucket", "k", b"first version", content_type="text/plain")
    info = store.put_object("bucket", "k", b"2nd")
    assert store.head_object("bucket", "k") == info
    assert info.etag == md5(b"2nd")
    assert info.content_type == "binary/octet-stream"


def test_missing_key(store: ObjectStore) -> None:
    for call in (
        lambda: store.head_object("bucket", "nope"),
        lambda: store.object_path("bucket", "nope"),
        lambda: store.open_object("bucket", "nope"),
    ):
        with pytest.raises(NoSuchKey) as e:
            call()
        assert e.value.message == "The specified key does not exist."
        assert e.value.http_status == 404


def test_folder_is_not_an_object(store: ObjectStore) -> None:
    store.put_object("bucket", "dir/file", b"x")
    with pytest.raises(NoSuchKey):
        store.head_object("bucket", "dir")


def test_metadata_survives_a_new_store_instance(tmp_path: Path) -> None:
    s = ObjectStore(tmp_path / "s3")
    s.create_bucket("bucket")
    info = s.put_object("bucket", "model.tar.gz", b"abc", content_type="application/x-tar")
    again = ObjectStore(tmp_path / "s3")
    assert again.head_object("bucket", "model.tar.gz") == info
    assert [b.name for b in again.list_buckets()] == ["bucket"]


def test_files_dropped_in_by_hand_are_objects(store: ObjectStore, tmp_path: Path) -> None:
    folder = tmp_path / "s3" / "bucket" / "hand" / "made"
    folder.mkdir(parents=True)
    (folder / "x.csv").write_bytes(b"hello")
    info = store.head_object("bucket", "hand/made/x.csv")
    assert info.etag == md5(b"hello")
    assert info.content_type == "binary/octet-stream"
    assert [o.key for o in store.iter_objects("bucket", "hand/")] == ["hand/made/x.csv"]


def test_file_changed_by_hand_gets_a_new_etag(store: ObjectStore) -> None:
    store.put_object("bucket", "k", b"old", content_type="text/plain")
    path = store.object_path("bucket", "k")
    path.write_bytes(b"new content")
    info = store.head_object("bucket", "k")
    assert info.etag == md5(b"new content")
    assert info.size == len(b"new content")


def test_delete_object_prunes_empty_folders(store: ObjectStore, tmp_path: Path) -> None:
    store.put_object("bucket", "a/b/c", b"x")
    store.put_object("bucket", "a/keep", b"y")
    store.delete_object("bucket", "a/b/c")
    assert not (tmp_path / "s3" / "bucket" / "a" / "b").exists()
    assert (tmp_path / "s3" / "bucket" / "a" / "keep").exists()
    with pytest.raises(NoSuchKey):
        store.head_object("bucket", "a/b/c")
    store.delete_object("bucket", "a/b/c")  # deleting again succeeds, as in S3
    store.delete_object("bucket", "a/keep")
    assert list((tmp_path / "s3" / "bucket").iterdir()) == []
    store.put_object("bucket", "a", b"a file where a folder was")
    assert store.head_object("bucket", "a").size == 25


def test_file_folder_collision_is_refused_without_damage(store: ObjectStore) -> None:
    store.put_object("bucket", "a", b"file")
    with pytest.raises(InvalidArgument):
        store.put_object("bucket", "a/b", b"x")
    store.put_object("bucket", "d/e", b"x")
    with pytest.raises(InvalidArgument):
        store.put_object("bucket", "d", b"x")
    assert store.open_object("bucket", "a").read() == b"file"
    assert [o.key for o in store.iter_objects("bucket")] == ["a", "d/e"]
    assert os.listdir(store.staging) == ["uploads"]  # no temp file left behind


# --- key safety -------------------------------------------------------------------------------------------

ESCAPES = [
    "..",
    "../x",
    "../../etc/passwd",
    "a/../../b",
    "/abs/path",
    "/",
    "//",
    ".",
    "./x",
    "a/./b",
    "a//b",
    "a/",
    "a\\..\\..\\b",
    "..\\x",
    "%2e%2e/x",
    "a/%2e%2e/%2e%2e/b",
    ".s3~",
    ".s3~..",
    "a/.s3~/b",
    ".staging/x",
    "../.meta.db",
    "..\u2215x",
]


@pytest.mark.parametrize("key", ESCAPES)
def test_dangerous_keys_stay_inside_the_bucket_and_round_trip(
    store: ObjectStore, tmp_path: Path, key: str
) -> None:
    bucket_dir = (tmp_path / "s3" / "bucket").resolve()
    store.put_object("bucket", key, key.encode())
    path = store.object_path("bucket", key)
    assert path.resolve().is_relative_to(bucket_dir)
    assert path.resolve() != bucket_dir
    assert path.read_bytes() == key.encode()
    assert store.open_object("bucket", key).read() == key.encode()
    assert [o.key for o in store.iter_objects("bucket")] == [key]
    assert [o.key for o in store.list_objects("bucket").contents] == [key]
    # nothing was written outside the bucket folder, and the store's own files are untouched
    store_root = {p.name for p in (tmp_path / "s3").iterdir()}
    assert store_root <= {"bucket", ".staging", ".meta.db", ".meta.db-wal", ".meta.db-shm"}
    assert sorted(os.listdir(tmp_path)) == ["s3"]
    store.delete_object("bucket", key)
    assert list(store.iter_objects("bucket")) == []


@pytest.mark.parametrize("key", ["", "a\x00b", "\x00"])
def test_keys_that_cannot_be_stored_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidArgument):
        store.put_object("bucket", key, b"x")


def test_key_length_limits(store: ObjectStore) -> None:
    with pytest.raises(KeyTooLongError) as e:
        store.put_object("bucket", "k" * 1025, b"x")
    assert e.value.message == "Your key is too long"
    with pytest.raises(KeyTooLongError):
        store.put_object("bucket", "s" * 256, b"x")  # one path segment longer than a file name can be
    store.put_object("bucket", "/".join(["s" * 200] * 5), b"ok")  # 1004 bytes in 5 segments


def test_symlink_out_of_the_bucket_is_not_followed(store: ObjectStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    os.symlink(outside, tmp_path / "s3" / "bucket" / "link")
    with pytest.raises((InvalidArgument, NoSuchKey)):
        store.head_object("bucket", "link/secret")
    with pytest.raises(InvalidArgument):
        store.put_object("bucket", "link/new", b"x")
    assert sorted(os.listdir(outside)) == ["secret"]
    assert list(store.iter_objects("bucket")) == []


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ObjectStore]:
    root = tmp_path_factory.mktemp("prop")
    return root, ObjectStore(root / "s3")


segment_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"), max_size=12
)
segments = st.one_of(
    segment_text,
    st.sampled_from(["", ".", "..", ".s3~", ".s3~..", "%2e%2e", "\\..", ".staging", ".meta.db", "~"]),
)
keys = st.lists(segments, min_size=1, max_size=6).map("/".join).filter(lambda k: k != "")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=keys)
def test_any_key_round_trips_inside_its_bucket(shared: tuple[Path, ObjectStore], key: str) -> None:
    root, s = shared
    bucket_dir = (root / "s3" / "bkt").resolve()
    shutil.rmtree(bucket_dir, ignore_errors=True)  # whatever an earlier (failing) example left
    s.create_bucket("bkt")
    s.put_object("bkt", key, key.encode())
    path = s.object_path("bkt", key)
    assert path.resolve().is_relative_to(bucket_dir) and path.resolve() != bucket_dir
    assert path.read_bytes() == key.encode()
    assert [o.key for o in s.iter_objects("bkt")] == [key]
    assert sorted(os.listdir(root)) == ["s3"]
    s.delete_object("bkt", key)
    assert os.listdir(bucket_dir) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keyset=st.sets(keys, min_size=1, max_size=12))
def test_many_keys_list_in_utf8_order(tmp_path_factory: pytest.TempPathFactory, keyset: set[str]) -> None:
    # a key and a key that continues it after "/" cannot both be files: keep the set collision-free
    chosen: list[str] = []
    for key in sorted(keyset):
        parents = {"/".join(key.split("/")[:i]) for i in range(1, key.count("/") + 1)}
        if any(
            c in parents or key in {"/".join(c.split("/")[:i]) for i in range(1, c.count("/") + 1)}
            for c in chosen
        ):
            continue
        chosen.append(key)
    root = tmp_path_factory.mktemp("order")
    s = ObjectStore(root / "s3")
    s.create_bucket("bkt")
    for key in chosen:
        s.put_object("bkt", key, b"x")
    expected = sorted(chosen, key=lambda k: k.encode("utf-8"))
    assert [o.key for o in s.iter_objects("bkt")] == expected
    got: list[str] = []
    token = None
    while True:
        page = s.list_objects("bkt", max_keys=2, continuation_token=token)
        got += [o.key for o in page.contents]
        if not page.is_truncated:
            break
        token = page.next_continuation_token
    assert got == expected
    # delimiter listing agrees with a brute-force computation over the sorted keys
    page = s.list_objects("bkt", delimiter="/", max_keys=1000)
    brute_prefixes = sorted({k[: k.index("/") + 1] for k in expected if "/" in k}, key=lambda k: k.encode())
    assert page.common_prefixes == brute_prefixes
    assert [o.key for o in page.contents] == [k for k in expected if "/" not in k]


# --- listing ----------------------------------------------------------------------------------------------


@pytest.fixture
def listed(store: ObjectStore) -> ObjectStore:
    for key in ["a", "a-b", "a/b", "a/c/d", "b/", "b/x", "c", "é", "z/y/x", "Z"]:
        if key == "a":
            key = "a0"  # "a" and "a/b" cannot both be files
        store.put_object("bucket", key, key.encode())
    return store


def test_list_order_is_utf8_byte_order(listed: ObjectStore) -> None:
    keys = [o.key for o in listed.list_objects("bucket").contents]
    assert keys == ["Z", "a-b", "a/b", "a/c/d", "a0", "b/", "b/x", "c", "z/y/x", "é"]


def test_list_prefix_and_delimiter(listed: ObjectStore) -> None:
    page = listed.list_objects("bucket", delimiter="/")
    assert page.common_prefixes == ["a/", "b/", "z/"]
    assert [o.key for o in page.contents] == ["Z", "a-b", "a0", "c", "é"]
    page = listed.list_objects("bucket", prefix="a/", delimiter="/")
    assert page.common_prefixes == ["a/c/"]
    assert [o.key for o in page.contents] == ["a/b"]
    page = listed.list_objects("bucket", prefix="a")
    assert [o.key for o in page.contents] == ["a-b", "a/b", "a/c/d", "a0"]
    page = listed.list_objects("bucket", prefix="b/", delimiter="/")
    assert [o.key for o in page.contents] == ["b/", "b/x"]  # the folder marker lists as itself
    assert listed.list_objects("bucket", prefix="nothing").contents == []


def test_list_other_delimiter(listed: ObjectStore) -> None:
    page = listed.list_objects("bucket", delimiter="-")
    assert page.common_prefixes == ["a-"]
    assert "a-b" not in [o.key for o in page.contents]


def test_list_start_after_and_max_keys(listed: ObjectStore) -> None:
    page = listed.list_objects("bucket", start_after="a0", max_keys=2)
    assert [o.key for o in page.contents] == ["b/", "b/x"]
    assert page.is_truncated
    page = listed.list_objects("bucket", continuation_token=page.next_continuation_token)
    assert [o.key for o in page.contents] == ["c", "z/y/x", "é"]
    assert not page.is_truncated and page.next_continuation_token is None
    assert listed.list_objects("bucket", max_keys=0).contents == []


def test_common_prefixes_count_towards_max_keys_and_page(listed: ObjectStore) -> None:
    seen_prefixes: list[str] = []
    seen_keys: list[str] = []
    token = None
    while True:
        page = listed.list_objects("bucket", delimiter="/", max_keys=1, continuation_token=token)
        assert len(page.contents) + len(page.common_prefixes) == 1
        seen_prefixes += page.common_prefixes
        seen_keys += [o.key for o in page.contents]
        if not page.is_truncated:
            break
        token = page.next_continuation_token
    assert seen_prefixes == ["a/", "b/", "z/"]
    assert seen_keys == ["Z", "a-b", "a0", "c", "é"]


def test_bad_continuation_token(listed: ObjectStore) -> None:
    with pytest.raises(InvalidArgument) as e:
        listed.list_objects("bucket", continuation_token="not-a-token!")
    assert e.value.message == "The continuation token provided is incorrect"


def test_listing_1500_keys_pages_by_1000(store: ObjectStore) -> None:
    for i in range(1500):
        store.put_object("bucket", f"data/part-{i:05d}.csv", b"x")
    page = store.list_objects("bucket", prefix="data/")
    assert len(page.contents) == 1000 and page.is_truncated
    rest = store.list_objects("bucket", prefix="data/", continuation_token=page.next_continuation_token)
    assert len(rest.contents) == 500 and not rest.is_truncated
    keys = [o.key for o in page.contents + rest.contents]
    assert keys == [f"data/part-{i:05d}.csv" for i in range(1500)]
    assert store.list_objects("bucket", max_keys=5000).is_truncated  # capped at 1000
    assert store.list_objects("bucket", delimiter="/").common_prefixes == ["data/"]


# --- multipart --------------------------------------------------------------------------------------------


def test_multipart_upload(store: ObjectStore) -> None:
    parts = [os.urandom(1 << 20), os.urandom(1000), b"tail"]
    upload = store.create_multipart_upload("bucket", "big.bin", content_type="application/octet-stream")
    etags = [store.upload_part("bucket", "big.bin", upload, n, body) for n, body in enumerate(parts, 1)]
    assert etags == [md5(p) for p in parts]
    with pytest.raises(NoSuchKey):
        store.head_object("bucket", "big.bin")  # nothing visible before completion
    info = store.complete_multipart_upload("bucket", "big.bin", upload, list(enumerate(etags, 1)))
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert info.etag == f'"{expected}-3"'
    assert info.size == sum(map(len, parts))
    assert info.content_type == "application/octet-stream"
    assert store.object_path("bucket", "big.bin").read_bytes() == b"".join(parts)
    assert store.head_object("bucket", "big.bin") == info
    with pytest.raises(NoSuchUpload):
        store.upload_part("bucket", "big.bin", upload, 4, b"late")
    assert os.listdir(store.uploads) == []


def test_multipart_part_subset_and_reupload(store: ObjectStore) -> None:
    upload = store.create_multipart_upload("bucket", "k")
    store.upload_part("bucket", "k", upload, 1, b"old")
    e1 = store.upload_part("bucket", "k", upload, 1, b"one")
    store.upload_part("bucket", "k", upload, 2, b"unused")
    e3 = store.upload_part("bucket", "k", upload, 3, io.BytesIO(b"three"))
    info = store.complete_multipart_upload("bucket", "k", upload, [(1, e1.strip('"')), (3, e3)])
    assert store.open_object("bucket", "k").read() == b"onethree"
    assert info.etag.endswith('-2"')


def test_multipart_errors(store: ObjectStore) -> None:
    upload = store.create_multipart_upload("bucket", "k")
    e1 = store.upload_part("bucket", "k", upload, 1, b"one")
    e2 = store.upload_part("bucket", "k", upload, 2, b"two")
    with pytest.raises(InvalidPartOrder) as order:
        store.complete_multipart_upload("bucket", "k", upload, [(2, e2), (1, e1)])
    assert order.value.code == "InvalidPartOrder"
    with pytest.raises(InvalidPart) as bad:
        store.complete_multipart_upload("bucket", "k", upload, [(1, e1), (2, e1)])
    assert bad.value.code == "InvalidPart"
    assert bad.value.message.startswith("One or more of the specified parts could not be found.")
    with pytest.raises(InvalidPart):
        store.complete_multipart_upload("bucket", "k", upload, [(1, e1), (7, e2)])
    with pytest.raises(InvalidArgument):
        store.upload_part("bucket", "k", upload, 0, b"x")
    with pytest.raises(InvalidArgument):
        store.upload_part("bucket", "k", upload, 10001, b"x")
    with pytest.raises(NoSuchUpload):
        store.upload_part("bucket", "other-key", upload, 1, b"x")
    # failed completions leave the upload usable and nothing visible
    with pytest.raises(NoSuchKey):
        store.head_object("bucket", "k")
    store.complete_multipart_upload("bucket", "k", upload, [(1, e1), (2, e2)])
    assert store.open_object("bucket", "k").read() == b"onetwo"
    assert sorted(os.listdir(store.staging)) == ["uploads"]


def test_abort_and_unknown_uploads(store: ObjectStore) -> None:
    upload = store.create_multipart_upload("bucket", "k")
    store.upload_part("bucket", "k", upload, 1, b"x")
    store.abort_multipart_upload("bucket", "k", upload)
    assert os.listdir(store.uploads) == []
    for call in (
        lambda: store.abort_multipart_upload("bucket", "k", upload),
        lambda: store.upload_part("bucket", "k", upload, 1, b"x"),
        lambda: store.complete_multipart_upload("bucket", "k", upload, [(1, '"x"')]),
        lambda: store.upload_part("bucket", "k", "../../etc", 1, b"x"),
        lambda: store.abort_multipart_upload("bucket", "k", "nonsense"),
    ):
        with pytest.raises(NoSuchUpload) as e:
            call()
        assert e.value.message.startswith("The specified upload does not exist.")
    with pytest.raises(NoSuchKey):
        store.head_object("bucket", "k")


# --- concurrency ------------------------------------------------------------------------------------------


WRITER = """
import sys
from pathlib import Path
from sagelocal.service.objectstore import ObjectStore
s, n = ObjectStore(Path(sys.argv[1])), int(sys.argv[2])
for i in range(40):
    s.put_object("bucket", "shared", bytes([n]) * (1000 + i))
    s.put_object("bucket", f"w{n}/k{i}", b"x")
"""


def test_concurrent_processes_never_see_partial_objects(store: ObjectStore) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(store.root), str(n)]) for n in (1, 2, 3)]
    seen = 0
    while any(p.poll() is None for p in procs) or seen == 0:
        try:
            data = store.object_path("bucket", "shared").read_bytes()
        except (NoSuchKey, FileNotFoundError):
            time.sleep(0.001)
            continue
        seen += 1
        time.sleep(0.001)  # leave the writers some CPU
        assert len(data) >= 1000 and len(set(data)) == 1  # one writer's whole object
    assert [p.wait() for p in procs] == [0, 0, 0]
    info = store.head_object("bucket", "shared")
    assert info.etag == md5(store.object_path("bucket", "shared").read_bytes())
    assert len([o for o in store.iter_objects("bucket") if o.key.startswith("w")]) == 120
    assert os.listdir(store.staging) == ["uploads"]


def test_threads_share_one_store(store: ObjectStore) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(30):
                store.put_object("bucket", f"t{n}/{i}", str(i).encode())
                store.head_object("bucket", f"t{n}/{i}")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list(store.iter_objects("bucket"))) == 120


def test_stale_staging_leftovers_are_swept(store: ObjectStore) -> None:
    old = store.staging / "tmp-0123"
    old.write_bytes(b"half-written")
    os.utime(old, (1, 1))
    fresh = store.staging / "tmp-4567"
    fresh.write_bytes(b"being written right now")
    upload = store.create_multipart_upload("bucket", "k")
    os.utime(store.uploads / upload, (1, 1))  # old, but a live upload: kept
    ObjectStore(store.root)
    assert sorted(os.listdir(store.staging)) == ["tmp-4567", "uploads"]
    assert os.listdir(store.uploads) == [upload]


def test_common_prefix_is_returned_once_even_when_a_key_continues_with_the_last_code_point(
    store: ObjectStore,
) -> None:
    # keys continuing a rolled-up prefix with U+10FFFF sort after any fixed sentinel: found by hypothesis
    for key in ["/\U0010ffff/", "a/\U0010ffff/y", "a/\U0010ffffx", "a/b", "b", "c/d"]:
        store.put_object("bucket", key, b"x")
    assert store.list_objects("bucket", delimiter="/").common_prefixes == ["/", "a/", "c/"]
    pages: list[tuple[list[str], list[str]]] = []
    token = None
    while True:
        page = store.list_objects("bucket", delimiter="/", max_keys=1, continuation_token=token)
        pages.append((page.common_prefixes, [o.key for o in page.contents]))
        if not page.is_truncated:
            break
        token = page.next_continuation_token
    assert pages == [(["/"], []), (["a/"], []), ([], ["b"]), (["c/"], [])]
    listing = store.list_objects("bucket", prefix="a/", delimiter="/")
    assert listing.common_prefixes == ["a/\U0010ffff/"]
    assert [o.key for o in listing.contents] == ["a/b", "a/\U0010ffffx"]
