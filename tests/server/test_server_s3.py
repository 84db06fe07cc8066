"""S3 conformance of ``sagelocal serve`` with real boto3, and raw HTTP where boto3 cannot send a request."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import boto3.s3.transfer
import botocore.httpchecksum
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support.server_fixture import Server, aws_chunked_body

BUCKET = "conformance"


@pytest.fixture(scope="module")
def s3(sagelocal_server: Server):
    client = sagelocal_server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return excinfo.value.response["Error"]


def raw_request(server: Server, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """Send ``path`` byte for byte (http.client does not normalise ``..`` or percent-escapes), signed with the
    server's credentials; header names of the answer lower-cased."""
    response = server.send(method, path, body, headers)
    return response.status, response.body, {k.lower(): v for k, v in response.headers.items()}


# --- buckets -----------------------------------------------------------------------------------------------


def test_create_head_list_buckets(s3) -> None:
    s3.create_bucket(Bucket="second-bucket")
    s3.create_bucket(Bucket="second-bucket")  # us-east-1: re-creating your own bucket succeeds
    s3.head_bucket(Bucket="second-bucket")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert {BUCKET, "second-bucket"} <= set(names)
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket="no-such-bucket-here")
    assert error_of(excinfo)["Code"] == "404"
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None


def test_invalid_bucket_name(s3) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket="Bad_Bucket")
    assert error_of(excinfo)["Code"] == "InvalidBucketName"


def test_missing_bucket_is_s3_xml_error(s3, sagelocal_server: Server) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="no-such-bucket-here", Key="k")
    error = error_of(excinfo)
    assert error["Code"] == "NoSuchBucket"
    assert error["Message"] == "The specified bucket does not exist"
    assert error["BucketName"] == "no-such-bucket-here"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    status, body, headers = raw_request(sagelocal_server, "GET", "/no-such-bucket-here/k")
    assert status == 404
    assert headers["content-type"] == "application/xml"
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code>')


# --- objects -----------------------------------------------------------------------------------------------


def test_put_get_head_delete(s3, sagelocal_server: Server) -> None:
    body = b"label,feature\n1,0.5\n"
    put = s3.put_object(Bucket=BUCKET, Key="small/data.csv", Body=body, ContentType="text/csv")
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    head = s3.head_object(Bucket=BUCKET, Key="small/data.csv")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == put["ETag"]
    assert head["ContentType"] == "text/csv"
    got = s3.get_object(Bucket=BUCKET, Key="small/data.csv")
    assert got["Body"].read() == body
    # The same store the CLI uses: the object is a plain file under <home>/s3/<bucket>/<key>.
    assert (sagelocal_server.home / "s3" / BUCKET / "small" / "data.csv").read_bytes() == body

    assert s3.delete_object(Bucket=BUCKET, Key="small/data.csv")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=BUCKET, Key="small/data.csv")
    assert error_of(excinfo)["Code"] == "404"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=BUCKET, Key="small/data.csv")
    assert error_of(excinfo)["Code"] == "NoSuchKey"
    assert error_of(excinfo)["Message"] == "The specified key does not exist."
    # Deleting a key that is not there succeeds, as on S3.
    assert s3.delete_object(Bucket=BUCKET, Key="small/data.csv")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_file_written_in_the_store_is_served(s3, sagelocal_server: Server) -> None:
    from sagelocal.service.objectstore import ObjectStore

    ObjectStore(sagelocal_server.home / "s3").put_object(BUCKET, "from-cli/x.txt", b"written by the CLI")
    assert s3.get_object(Bucket=BUCKET, Key="from-cli/x.txt")["Body"].read() == b"written by the CLI"


def test_content_md5_and_checksum_are_verified(s3) -> None:
    body = b"checked body"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=BUCKET, Key="md5/ok", Body=body, ContentMD5=good)
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(
            Bucket=BUCKET, Key="md5/bad", Body=body, ContentMD5=base64.b64encode(b"0" * 16).decode()
        )
    assert error_of(excinfo)["Code"] == "BadDigest"
    assert error_of(excinfo)["Message"] == "The Content-MD5 you specified did not match what we received."
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket=BUCKET, Key="crc/ok", Body=body, ChecksumCRC32=crc)
    assert put["ChecksumCRC32"] == crc
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=BUCKET, Key="crc/bad", Body=body, ChecksumCRC32="AAAAAA==")
    assert error_of(excinfo)["Code"] == "BadDigest"
    assert error_of(excinfo)["Message"] == "The CRC32 you specified did not match the calculated checksum."


def test_ranged_get(s3) -> None:
    body = bytes(range(256)) * 4
    s3.put_object(Bucket=BUCKET, Key="range/blob", Body=body)
    part = s3.get_object(Bucket=BUCKET, Key="range/blob", Range="bytes=10-19")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert part["ContentLength"] == 10
    assert part["Body"].read() == body[10:20]
    tail = s3.get_object(Bucket=BUCKET, Key="range/blob", Range="bytes=-5")
    assert tail["ContentRange"] == f"bytes {len(body) - 5}-{len(body) - 1}/{len(body)}"
    assert tail["Body"].read() == body[-5:]
    rest = s3.get_object(Bucket=BUCKET, Key="range/blob", Range="bytes=1000-")
    assert rest["Body"].read() == body[1000:]
    clamped = s3.get_object(Bucket=BUCKET, Key="range/blob", Range="bytes=1020-5000")
    assert clamped["ContentRange"] == f"bytes 1020-1023/{len(body)}"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=BUCKET, Key="range/blob", Range="bytes=5000-")
    assert error_of(excinfo)["Code"] == "InvalidRange"
    assert error_of(excinfo)["Message"] == "The requested range is not satisfiable"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_conditional_get(s3) -> None:
    put = s3.put_object(Bucket=BUCKET, Key="cond/x", Body=b"abc")
    assert s3.get_object(Bucket=BUCKET, Key="cond/x", IfMatch=put["ETag"])["Body"].read() == b"abc"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=BUCKET, Key="cond/x", IfMatch='"0123"')
    assert error_of(excinfo)["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=BUCKET, Key="cond/x", IfNoneMatch=put["ETag"])
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_multipart_upload_file_and_download_file_round_trip(s3, tmp_path: Path) -> None:
    data = os.urandom(21 * 1024 * 1024 + 12345)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    config = boto3.s3.transfer.TransferConfig(multipart_threshold=8 * 1024 * 1024)
    s3.upload_file(str(source), BUCKET, "big/big.bin", Config=config)
    head = s3.head_object(Bucket=BUCKET, Key="big/big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')  # 8 MiB parts: three of them
    target = tmp_path / "back.bin"
    s3.download_file(BUCKET, "big/big.bin", str(target), Config=config)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_multipart_by_hand_and_abort(s3) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu/manual")
    part1 = b"a" * (5 * 1024 * 1024)
    part2 = b"tail"
    e1 = s3.upload_part(
        Bucket=BUCKET, Key="mpu/manual", UploadId=upload["UploadId"], PartNumber=1, Body=part1
    )
    e2 = s3.upload_part(
        Bucket=BUCKET, Key="mpu/manual", UploadId=upload["UploadId"], PartNumber=2, Body=part2
    )
    done = s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="mpu/manual",
        UploadId=upload["UploadId"],
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1["ETag"]}, {"PartNumber": 2, "ETag": e2["ETag"]}]
        },
    )
    md5s = hashlib.md5(part1).digest() + hashlib.md5(part2).digest()
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    assert done["Key"] == "mpu/manual"
    assert s3.get_object(Bucket=BUCKET, Key="mpu/manual")["Body"].read() == part1 + part2

    aborted = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu/aborted")
    s3.upload_part(Bucket=BUCKET, Key="mpu/aborted", UploadId=aborted["UploadId"], PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mpu/aborted", UploadId=aborted["UploadId"])
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(
            Bucket=BUCKET, Key="mpu/aborted", UploadId=aborted["UploadId"], PartNumber=2, Body=b"y"
        )
    assert error_of(excinfo)["Code"] == "NoSuchUpload"
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=BUCKET, Key="mpu/aborted")
    assert error_of(excinfo)["Code"] == "404"


# --- aws-chunked bodies ------------------------------------------------------------------------------------


@pytest.fixture
def trailing_checksums(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore sends CRC32 trailers in ``aws-chunked`` bodies only over TLS; make it believe the loopback
    endpoint is TLS so real boto3 exercises that wire format against the plain-HTTP server."""
    monkeypatch.setattr(
        botocore.httpchecksum, "urlparse", lambda url: urlparse(url.replace("http://", "https://", 1))
    )


def test_boto3_aws_chunked_trailer_uploads(s3, tmp_path: Path, trailing_checksums: None) -> None:
    sent: list[dict[str, str]] = []

    def record(request, **_: object) -> None:
        sent.append(
            {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        )

    s3.meta.events.register("before-send.s3.*", record)
    try:
        body = os.urandom(300_000)
        put = s3.put_object(Bucket=BUCKET, Key="chunked/put.bin", Body=body)
        assert sent[-1]["content-encoding"] == "aws-chunked"
        assert sent[-1]["x-amz-trailer"] == "x-amz-checksum-crc32"
        assert put["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        assert s3.get_object(Bucket=BUCKET, Key="chunked/put.bin")["Body"].read() == body

        data = os.urandom(9 * 1024 * 1024)
        (tmp_path / "chunked.bin").write_bytes(data)
        s3.upload_file(str(tmp_path / "chunked.bin"), BUCKET, "chunked/upload.bin")
        assert any(h.get("content-encoding") == "aws-chunked" and "partnumber" not in h for h in sent)
        s3.download_file(BUCKET, "chunked/upload.bin", str(tmp_path / "back.bin"))
        assert (tmp_path / "back.bin").read_bytes() == data
    finally:
        s3.meta.events.unregister("before-send.s3.*", record)


def test_signed_aws_chunked_body(s3, sagelocal_server: Server) -> None:
    """SigV4 streaming chunks (``<hex>;chunk-signature=…``), as other SDKs send them, each signature checked."""
    payload = b"hello, chunked world"
    path = f"/{BUCKET}/chunked/signed"
    headers = sagelocal_server.signed_headers(
        "PUT",
        path,
        headers={
            "Content-Encoding": "aws-chunked",
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "x-amz-decoded-content-length": str(len(payload)),
        },
    )
    chunked = aws_chunked_body(sagelocal_server.credentials, headers, [payload[:16], payload[16:]])
    response = sagelocal_server.send("PUT", path, chunked, headers, service=None)
    status, response_headers = response.status, {k.lower(): v for k, v in response.headers.items()}
    assert status == 200, response.body
    assert response_headers["etag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    assert s3.get_object(Bucket=BUCKET, Key="chunked/signed")["Body"].read() == payload

    bad_trailer = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    status, body, _ = raw_request(
        sagelocal_server,
        "PUT",
        f"/{BUCKET}/chunked/bad-trailer",
        bad_trailer,
        {
            "Content-Encoding": "aws-chunked",
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-trailer": "x-amz-checksum-crc32",
            "x-amz-decoded-content-length": "3",
        },
    )
    assert status == 400
    assert b"<Code>BadDigest</Code>" in body
    truncated = b"10\r\nonly-a-few"
    status, body, _ = raw_request(
        sagelocal_server,
        "PUT",
        f"/{BUCKET}/chunked/truncated",
        truncated,
        {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "16"},
    )
    assert status == 400
    assert b"<Code>IncompleteBody</Code>" in body


# --- listing -----------------------------------------------------------------------------------------------


def test_list_pagination_over_1500_keys(sagelocal_server: Server) -> None:
    s3 = sagelocal_server.client("s3", config=Config(max_pool_connections=32))
    s3.create_bucket(Bucket="many-keys")
    keys = [f"k/{i:05d}" for i in range(1500)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket="many-keys", Key=k, Body=k.encode()), keys))

    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket="many-keys"))
    assert [p["KeyCount"] for p in pages] == [1000, 500]
    assert [p["IsTruncated"] for p in pages] == [True, False]
    assert "NextContinuationToken" in pages[0] and "NextContinuationToken" not in pages[1]
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys

    small = list(
        s3.get_paginator("list_objects_v2").paginate(Bucket="many-keys", PaginationConfig={"PageSize": 100})
    )
    assert len(small) == 15
    assert [o["Key"] for p in small for o in p["Contents"]] == keys

    after = s3.list_objects_v2(Bucket="many-keys", StartAfter="k/01495")
    assert [o["Key"] for o in after["Contents"]] == ["k/01496", "k/01497", "k/01498", "k/01499"]
    assert after["StartAfter"] == "k/01495"
    assert after["KeyCount"] == 4

    v1 = list(s3.get_paginator("list_objects").paginate(Bucket="many-keys"))
    assert [o["Key"] for p in v1 for o in p["Contents"]] == keys


def test_delimiter_and_common_prefixes(s3) -> None:
    for key in ("tree/a/1.csv", "tree/a/2.csv", "tree/b/1.csv", "tree/c.csv", "tree-other.csv"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="tree/", Delimiter="/")
    assert [p["Prefix"] for p in listing["CommonPrefixes"]] == ["tree/a/", "tree/b/"]
    assert [o["Key"] for o in listing["Contents"]] == ["tree/c.csv"]
    assert listing["KeyCount"] == 3
    assert listing["Delimiter"] == "/"
    assert listing["Prefix"] == "tree/"
    paged = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix="tree/", Delimiter="/", PaginationConfig={"PageSize": 1}
        )
    )
    assert [(p.get("CommonPrefixes", []), [o["Key"] for o in p.get("Contents", [])]) for p in paged] == [
        ([{"Prefix": "tree/a/"}], []),
        ([{"Prefix": "tree/b/"}], []),
        ([], ["tree/c.csv"]),
    ]
    empty = s3.list_objects_v2(Bucket=BUCKET, Prefix="nothing-here/")
    assert empty["KeyCount"] == 0 and "Contents" not in empty and empty["IsTruncated"] is False


def test_url_encoded_listing_of_unusual_keys(s3, sagelocal_server: Server) -> None:
    keys = [
        "odd/with space.csv",
        "odd/plus+sign.csv",
        "odd/amp&lt;<>.csv",
        "odd/ünïcødé.csv",
        "odd/pct%41.csv",
    ]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="odd/")["Contents"]]
    assert sorted(listed) == sorted(keys)
    for key in keys:
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == key.encode()
    status, body, _ = raw_request(
        sagelocal_server, "GET", f"/{BUCKET}?list-type=2&prefix=odd%2Fwith&encoding-type=url"
    )
    assert status == 200
    assert b"<EncodingType>url</EncodingType>" in body
    assert b"<Key>odd/with%20space.csv</Key>" in body
    assert b"<Prefix>odd/with</Prefix>" in body


def test_delete_objects(s3) -> None:
    for key in ("bulk/1", "bulk/2"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    result = s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "bulk/1"}, {"Key": "bulk/2"}, {"Key": "bulk/none"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["bulk/1", "bulk/2", "bulk/none"]
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="bulk/")


def test_copy_object(s3) -> None:
    s3.put_object(Bucket=BUCKET, Key="copy/src", Body=b"copied", ContentType="text/plain")
    result = s3.copy_object(Bucket=BUCKET, Key="copy/dst", CopySource={"Bucket": BUCKET, "Key": "copy/src"})
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copied").hexdigest()}"'
    copied = s3.get_object(Bucket=BUCKET, Key="copy/dst")
    assert copied["Body"].read() == b"copied"
    assert copied["ContentType"] == "text/plain"


# --- addressing --------------------------------------------------------------------------------------------


def test_virtual_host_style_by_host_header(s3, sagelocal_server: Server) -> None:
    s3.put_object(Bucket=BUCKET, Key="vhost/a.txt", Body=b"virtual")
    port = sagelocal_server.port
    for host in (f"{BUCKET}.localhost:{port}", f"{BUCKET}.s3.localhost:{port}", f"{BUCKET}.localhost"):
        status, body, _ = raw_request(sagelocal_server, "GET", "/vhost/a.txt", headers={"Host": host})
        assert (status, body) == (200, b"virtual")
        status, body, _ = raw_request(
            sagelocal_server, "GET", "/?list-type=2&prefix=vhost%2F", headers={"Host": host}
        )
        assert b"<Key>vhost/a.txt</Key>" in body
        assert f"<Name>{BUCKET}</Name>".encode() in body
    status, _, _ = raw_request(
        sagelocal_server, "PUT", "/vhost/b.txt", b"put virtually", {"Host": f"{BUCKET}.localhost"}
    )
    assert status == 200
    assert s3.get_object(Bucket=BUCKET, Key="vhost/b.txt")["Body"].read() == b"put virtually"
    # AWS's own virtual-host names are not this server's: refused before routing (DNS rebinding defence).
    status, body, _ = raw_request(
        sagelocal_server, "GET", "/vhost/a.txt", headers={"Host": f"{BUCKET}.s3.us-east-1.amazonaws.com"}
    )
    assert status == 403
    assert (
        body
        == (
            f"sagelocal refuses requests with Host '{BUCKET}.s3.us-east-1.amazonaws.com': call it as localhost, "
            "*.localhost or its bind address (a defence against DNS rebinding)\n"
        ).encode()
    )


@pytest.fixture
def localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve ``<name>.localhost`` to loopback (RFC 6761; systemd-resolved and browsers do this, plain
    /etc/hosts setups do not), so boto3's virtual-host-style URLs reach the server."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower().endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_virtual_host_style_with_boto3(s3, sagelocal_server: Server, localhost_subdomains: None) -> None:
    sent: list[str] = []
    s3 = sagelocal_server.client(
        "s3",
        endpoint_url=f"http://localhost:{sagelocal_server.port}",
        config=Config(s3={"addressing_style": "virtual"}),
    )
    s3.meta.events.register("before-send.s3.*", lambda request, **_: sent.append(request.url))
    s3.put_object(Bucket=BUCKET, Key="vhost/boto3.txt", Body=b"via virtual host")
    assert sent[-1] == f"http://{BUCKET}.localhost:{sagelocal_server.port}/vhost/boto3.txt"
    assert s3.get_object(Bucket=BUCKET, Key="vhost/boto3.txt")["Body"].read() == b"via virtual host"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="vhost/")["Contents"]]
    assert "vhost/boto3.txt" in keys


def test_keys_cannot_escape_the_store(s3, sagelocal_server: Server) -> None:
    home = sagelocal_server.home
    before = {p for p in home.parent.rglob("*")} - {p for p in (home / "s3").rglob("*")}
    tricks = {
        f"/{BUCKET}/../../escape-1.txt": "../../escape-1.txt",
        f"/{BUCKET}/%2e%2e/%2e%2e/escape-2.txt": "../../escape-2.txt",
        f"/{BUCKET}/%2E%2E%2F%2E%2E%2Fescape-3.txt": "../../escape-3.txt",
        f"/{BUCKET}/..%2f..%2f..%2fescape-4.txt": "../../../escape-4.txt",
        f"/{BUCKET}/%252e%252e/escape-5.txt": "%2e%2e/escape-5.txt",  # decoded once, not twice
    }
    for path, key in tricks.items():
        status, body, _ = raw_request(sagelocal_server, "PUT", path, path.encode())
        assert status == 200, body
        status, body, _ = raw_request(sagelocal_server, "GET", path)
        assert (status, body) == (200, path.encode())
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == path.encode()
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert set(tricks.values()) <= listed

    status, body, _ = raw_request(sagelocal_server, "PUT", f"/{BUCKET}/nul%00byte.txt", b"x")
    assert status == 400
    assert b"<Code>InvalidArgument</Code>" in body
    status, body, _ = raw_request(sagelocal_server, "PUT", f"/{BUCKET}/%c0%ae%c0%ae/overlong.txt", b"x")
    assert status == 400  # overlong UTF-8 for "..": not UTF-8 at all
    assert b"<Code>InvalidURI</Code>" in body
    status, body, _ = raw_request(sagelocal_server, "GET", "/../../etc/passwd")
    assert status == 404
    assert b"<Code>NoSuchBucket</Code>" in body
    status, body, _ = raw_request(sagelocal_server, "GET", "/%2e%2e/etc/passwd")
    assert status == 404

    planted = {f"escape-{i}.txt" for i in range(1, 6)}
    after = {p for p in home.parent.rglob("*")} - {p for p in (home / "s3").rglob("*")}
    escaped = [p for p in after - before if p.name in planted]
    assert escaped == []
    # pytest's other tmp folders sit beside this one (named after their tests): look for the planted files only.
    assert not any(p.name in planted for p in home.parent.parent.iterdir())


def test_unsupported_subresource_is_not_implemented(s3) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_bucket_versioning(Bucket=BUCKET)
    assert error_of(excinfo)["Code"] == "NotImplemented"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
