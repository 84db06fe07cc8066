"""Only the owner can call ``sagelocal serve`` (issue 11, items 3 and 4), through the real server process.

* A foreign ``Host`` (DNS rebinding: ``evil.example``, ``b.s3.evil.example``) is refused before anything else,
  even when the request is correctly signed.
* An unsigned request, and a request signed with any other credentials, is refused on every protocol (S3,
  SageMaker, CloudWatch Logs, STS) with the service's own error; nothing it asked for happens.
* A browser's cross-site "simple request" (``POST /<bucket>?delete`` as ``text/plain``, ``POST ?uploads``)
  carries no signature, so it is refused; no response carries a CORS header, preflights included.
* A body is checked against what was signed (payload hash, ``aws-chunked`` chunk and trailer signatures) and
  stored only if it matches.
* The credentials the server prints work for boto3 (multipart transfers, SigV4 and SigV2 presigned URLs), and
  live in ``<home>/credentials.json``, mode 0600, stable across restarts; an unsafe file stops ``serve``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3.s3.transfer
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support.server_fixture import (
    REPO_ROOT,
    RawResponse,
    Server,
    aws_chunked_body,
    clean_environ,
    running_server,
)

from sagelocal.server.credentials import Credentials, generate

BUCKET = "owner-only"
MARKER = b"sagelocal-auth-marker"
S3_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
AWS_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
UNKNOWN_KEY = "The AWS Access Key Id you provided does not exist in our records."
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def refusal(host: str) -> bytes:
    return (
        f"sagelocal refuses requests with Host '{host}': call it as localhost, *.localhost or its bind address "
        "(a defence against DNS rebinding)\n"
    ).encode()


def assert_no_cors(response: RawResponse) -> None:
    assert [name for name in response.headers if name.lower().startswith("access-control-")] == []


def s3_error(response: RawResponse) -> tuple[int, str, str]:
    body = response.body.decode()
    code = body.split("<Code>", 1)[1].split("</Code>", 1)[0]
    message = body.split("<Message>", 1)[1].split("</Message>", 1)[0]
    return response.status, code, message


@pytest.fixture(scope="module")
def s3(sagelocal_server: Server) -> Any:
    client = sagelocal_server.client("s3", config=NO_RETRIES)
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="secret.txt", Body=MARKER)
    return client


def stored_keys(server: Server) -> list[str]:
    """The bucket's keys as the store holds them (read through the store, not through the server)."""
    from sagelocal.service.objectstore import ObjectStore

    return sorted(o.key for o in ObjectStore(server.home / "s3").list_objects(BUCKET).contents)


# --- item 3: the Host header ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "b.s3.evil.example", "b.s3.evil.example:{port}"]
)
def test_foreign_host_is_refused_even_when_signed(s3: Any, sagelocal_server: Server, host: str) -> None:
    """``curl -H 'Host: evil.example' http://127.0.0.1:PORT/<bucket>/<key>`` returned the object, and
    ``b.s3.evil.example`` was read as a virtual-host bucket: a page that rebinds its name to 127.0.0.1 could
    read the store. Now the Host check refuses them before routing and before the signature is looked at."""
    host = host.format(port=sagelocal_server.port)
    for signed in (None, "s3"):
        response = sagelocal_server.send(
            "GET", f"/{BUCKET}/secret.txt", headers={"Host": host}, service=signed
        )
        assert (response.status, response.body) == (403, refusal(host))
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert_no_cors(response)
        virtual = sagelocal_server.send("GET", "/secret.txt", headers={"Host": host}, service=signed)
        assert (virtual.status, virtual.body) == (403, refusal(host))
    health = sagelocal_server.send("GET", "/_sagelocal/health", headers={"Host": host}, service=None)
    assert (health.status, health.body) == (403, refusal(host))


def test_own_names_are_answered(s3: Any, sagelocal_server: Server) -> None:
    port = sagelocal_server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        response = sagelocal_server.send("GET", f"/{BUCKET}/secret.txt", headers={"Host": host})
        assert (response.status, response.body) == (200, MARKER)
    for host in (f"{BUCKET}.localhost:{port}", f"{BUCKET}.s3.localhost:{port}"):
        response = sagelocal_server.send("GET", "/secret.txt", headers={"Host": host})
        assert (response.status, response.body) == (200, MARKER)
    # The health check needs no signature (the test fixture polls it), only one of the server's names.
    health = sagelocal_server.send("GET", "/_sagelocal/health", service=None)
    assert (health.status, json.loads(health.body)) == (200, {"status": "ok"})
    # Another port in the Host is another origin: refused.
    other = f"127.0.0.1:{port + 1 if port < 65535 else port - 1}"
    assert sagelocal_server.send("GET", f"/{BUCKET}/secret.txt", headers={"Host": other}).status == 403


# --- item 3: signatures -----------------------------------------------------------------------------------


def test_unsigned_requests_are_refused_on_every_protocol(s3: Any, sagelocal_server: Server) -> None:
    """Any local user (or page) reaching the port without the credentials gets each service's own error."""
    got = sagelocal_server.send("GET", f"/{BUCKET}/secret.txt", service=None)
    assert s3_error(got) == (403, "AccessDenied", "Access Denied")
    assert MARKER not in got.body
    put = sagelocal_server.send("PUT", f"/{BUCKET}/planted.txt", MARKER, service=None)
    assert s3_error(put) == (403, "AccessDenied", "Access Denied")
    listing = sagelocal_server.send("GET", "/", service=None)
    assert s3_error(listing) == (403, "AccessDenied", "Access Denied")
    for target in ("SageMaker.ListTrainingJobs", "Logs_20140328.DescribeLogStreams"):
        response = sagelocal_server.send(
            "POST",
            "/",
            b"{}",
            {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
            service=None,
        )
        assert (response.status, json.loads(response.body)) == (
            400,
            {
                "__type": "MissingAuthenticationTokenException",
                "message": "Request is missing Authentication Token",
            },
        )
    sts = sagelocal_server.send(
        "POST",
        "/",
        b"Action=GetCallerIdentity&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        service=None,
    )
    assert sts.status == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in sts.body
    assert b"<Message>Request is missing Authentication Token</Message>" in sts.body
    assert b"<Account>" not in sts.body
    assert "planted.txt" not in stored_keys(sagelocal_server)


WRONG_SECRET = "wrong-secret"
OTHER_CREDENTIALS = {
    "unknown key": lambda mine: generate(),
    "the old dummy pair": lambda mine: Credentials("testing", "testing"),
    WRONG_SECRET: lambda mine: Credentials(mine.access_key_id, generate().secret_access_key),
}


@pytest.mark.parametrize("which", list(OTHER_CREDENTIALS))
def test_other_credentials_are_refused_on_every_protocol(
    s3: Any, sagelocal_server: Server, which: str
) -> None:
    other = OTHER_CREDENTIALS[which](sagelocal_server.credentials)
    wrong_secret = which == WRONG_SECRET

    def refused(service: str, call: str, **params: Any) -> tuple[int, str, str]:
        client = sagelocal_server.client(service, credentials=other, config=NO_RETRIES)
        with pytest.raises(ClientError) as caught:
            getattr(client, call)(**params)
        error = caught.value.response["Error"]
        return caught.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error["Message"]

    s3_expected = (
        (403, "SignatureDoesNotMatch", S3_MISMATCH)
        if wrong_secret
        else (403, "InvalidAccessKeyId", UNKNOWN_KEY)
    )
    assert refused("s3", "get_object", Bucket=BUCKET, Key="secret.txt") == s3_expected
    assert refused("s3", "put_object", Bucket=BUCKET, Key="planted.txt", Body=MARKER) == s3_expected
    assert refused("s3", "delete_object", Bucket=BUCKET, Key="secret.txt") == s3_expected
    assert refused("s3", "list_buckets") == s3_expected

    json_expected = (
        (400, "InvalidSignatureException", AWS_MISMATCH)
        if wrong_secret
        else (400, "UnrecognizedClientException", INVALID_TOKEN)
    )
    assert refused("sagemaker", "list_training_jobs") == json_expected
    assert refused("sagemaker", "stop_training_job", TrainingJobName="any-job") == json_expected
    # InvokeEndpoint (REST-JSON, signed for "sagemaker") is checked too, before any instance sees the body.
    assert (
        refused("sagemaker-runtime", "invoke_endpoint", EndpointName="any", Body=b"1", ContentType="text/csv")
        == json_expected
    )
    assert (
        refused("logs", "describe_log_streams", logGroupName="/aws/sagemaker/TrainingJobs") == json_expected
    )

    sts_expected = (
        (403, "SignatureDoesNotMatch", AWS_MISMATCH)
        if wrong_secret
        else (403, "InvalidClientTokenId", INVALID_TOKEN)
    )
    assert refused("sts", "get_caller_identity") == sts_expected

    # Presigned URLs made with those credentials are refused too.
    for version in ("s3v4", "s3"):
        presigner = sagelocal_server.client("s3", credentials=other, config=Config(signature_version=version))
        url = presigner.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "secret.txt"}, ExpiresIn=60
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url, timeout=30)
        assert caught.value.code == 403
        assert MARKER not in caught.value.read()
    assert "planted.txt" not in stored_keys(sagelocal_server)
    assert s3.get_object(Bucket=BUCKET, Key="secret.txt")["Body"].read() == MARKER


def test_tampered_requests_are_refused(s3: Any, sagelocal_server: Server) -> None:
    """A correctly signed request changed on the way: another key, another body, a replayed presigned URL
    for another object."""
    path = f"/{BUCKET}/tampered.txt"
    headers = sagelocal_server.signed_headers("PUT", path, b"what was signed")
    moved = sagelocal_server.send("PUT", f"/{BUCKET}/other.txt", b"what was signed", headers, service=None)
    assert s3_error(moved) == (403, "SignatureDoesNotMatch", S3_MISMATCH)
    swapped = sagelocal_server.send("PUT", path, MARKER, headers, service=None)
    assert swapped.status == 400
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in swapped.body
    assert (
        f"<ClientComputedContentSHA256>{hashlib.sha256(b'what was signed').hexdigest()}</ClientComputedContentSHA256>"
        f"<S3ComputedContentSHA256>{hashlib.sha256(MARKER).hexdigest()}</S3ComputedContentSHA256>"
    ).encode() in swapped.body
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "secret.txt"}, ExpiresIn=60
    )
    parts = urlsplit(url)
    forged = sagelocal_server.send("GET", f"/{BUCKET}/other.txt?{parts.query}", service=None)
    assert s3_error(forged)[:2] == (403, "SignatureDoesNotMatch")
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "secret.txt"}, ExpiresIn=-1
    )
    late = sagelocal_server.send("GET", f"{urlsplit(expired).path}?{urlsplit(expired).query}", service=None)
    assert s3_error(late) == (403, "AccessDenied", "Request has expired")
    assert not {"tampered.txt", "other.txt"} & set(stored_keys(sagelocal_server))


# --- item 4: cross-site simple requests -------------------------------------------------------------------


def test_cross_site_simple_requests_are_refused(s3: Any, sagelocal_server: Server) -> None:
    """A page on any origin may send these without a preflight (text/plain POST). They deleted the object and
    opened uploads; they carry no signature, so now they are refused and nothing changes."""
    browser = {
        "Origin": "https://evil.example",
        "Content-Type": "text/plain",
        "Referer": "https://evil.example/",
    }
    uploads_folder = sagelocal_server.home / "s3" / ".staging" / "uploads"
    open_uploads = sorted(uploads_folder.iterdir())
    delete = b'<?xml version="1.0" encoding="UTF-8"?><Delete><Object><Key>secret.txt</Key></Object></Delete>'
    for path in (f"/{BUCKET}?delete", f"/{BUCKET}?delete="):
        response = sagelocal_server.send("POST", path, delete, browser, service=None)
        assert s3_error(response) == (403, "AccessDenied", "Access Denied")
        assert_no_cors(response)
    uploads = sagelocal_server.send("POST", f"/{BUCKET}/planted.txt?uploads", b"", browser, service=None)
    assert s3_error(uploads) == (403, "AccessDenied", "Access Denied")
    assert_no_cors(uploads)
    assert sorted(uploads_folder.iterdir()) == open_uploads
    assert s3.get_object(Bucket=BUCKET, Key="secret.txt")["Body"].read() == MARKER
    assert "planted.txt" not in stored_keys(sagelocal_server)


def test_no_cors_headers_anywhere(s3: Any, sagelocal_server: Server) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization,x-amz-date,x-amz-content-sha256",
    }
    for path in (f"/{BUCKET}/secret.txt", f"/{BUCKET}?delete", "/"):
        response = sagelocal_server.send("OPTIONS", path, headers=preflight, service=None)
        assert s3_error(response) == (403, "AccessDenied", "Access Denied")
        assert_no_cors(response)
    # Signed answers from every protocol carry none either, whatever the Origin says.
    origin = {"Origin": "https://evil.example"}
    assert_no_cors(sagelocal_server.send("GET", f"/{BUCKET}/secret.txt", headers=origin))
    for target, service in (
        ("SageMaker.ListTrainingJobs", "sagemaker"),
        ("Logs_20140328.DescribeLogStreams", "logs"),
    ):
        answer = sagelocal_server.send(
            "POST", "/", b'{"logGroupName": "/x"}' if service == "logs" else b"{}",
            {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1", **origin}, service=service,
        )  # fmt: skip
        assert answer.status in (200, 400)
        assert_no_cors(answer)
    assert_no_cors(
        sagelocal_server.send(
            "GET", "/?Action=GetCallerIdentity&Version=2011-06-15", headers=origin, service="sts"
        )
    )
    assert_no_cors(sagelocal_server.send("GET", "/_sagelocal/health", headers=origin, service=None))


# --- bodies are checked against their signatures ----------------------------------------------------------


def _chunked_headers(server: Server, path: str, payload: bytes, trailer: bool = False) -> dict[str, str]:
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else ""),
        "x-amz-decoded-content-length": str(len(payload)),
    }
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    return server.signed_headers("PUT", path, headers=headers)


def test_signed_aws_chunked_uploads_are_checked_chunk_by_chunk(s3: Any, sagelocal_server: Server) -> None:
    creds = sagelocal_server.credentials
    payload = os.urandom(70_000)
    pieces = [payload[:65536], payload[65536:]]

    path = f"/{BUCKET}/chunked/good"
    headers = _chunked_headers(sagelocal_server, path, payload)
    good = sagelocal_server.send("PUT", path, aws_chunked_body(creds, headers, pieces), headers, service=None)
    assert good.status == 200, good.body
    assert s3.get_object(Bucket=BUCKET, Key="chunked/good")["Body"].read() == payload

    path = f"/{BUCKET}/chunked/trailer"
    headers = _chunked_headers(sagelocal_server, path, payload, trailer=True)
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    body = aws_chunked_body(creds, headers, pieces, [("x-amz-checksum-crc32", crc)])
    trailed = sagelocal_server.send("PUT", path, body, headers, service=None)
    assert trailed.status == 200, trailed.body
    assert trailed.headers["x-amz-checksum-crc32"] == crc

    # One byte changed in the second chunk, chunks reordered, the final chunk cut off, a trailer swapped:
    # each is refused whole and nothing is stored.
    path = f"/{BUCKET}/chunked/bad"
    headers = _chunked_headers(sagelocal_server, path, payload)
    body = aws_chunked_body(creds, headers, pieces)
    flipped = body.replace(pieces[1][:8], bytes([pieces[1][0] ^ 1]) + pieces[1][1:8], 1)
    cut = body[: body.rindex(b"0;chunk-signature=")]
    impostor = aws_chunked_body(
        Credentials(creds.access_key_id, generate().secret_access_key), headers, pieces
    )
    for tampered in (flipped, cut, impostor):
        refused = sagelocal_server.send("PUT", path, tampered, headers, service=None)
        assert refused.status in (400, 403), refused.body
        if tampered is not cut:
            assert s3_error(refused) == (403, "SignatureDoesNotMatch", S3_MISMATCH)
    headers = _chunked_headers(sagelocal_server, path, payload, trailer=True)
    body = aws_chunked_body(creds, headers, pieces, [("x-amz-checksum-crc32", crc)])
    swapped = body.replace(f"x-amz-checksum-crc32:{crc}".encode(), b"x-amz-checksum-crc32:AAAAAA==")
    refused = sagelocal_server.send("PUT", path, swapped, headers, service=None)
    assert s3_error(refused) == (403, "SignatureDoesNotMatch", S3_MISMATCH)
    assert "chunked/bad" not in stored_keys(sagelocal_server)


# --- the printed credentials work -------------------------------------------------------------------------


def test_printed_credentials_work_for_transfers_and_presigned_urls(
    s3: Any, sagelocal_server: Server, tmp_path: Path
) -> None:
    exported = dict(
        line[len("export ") :].strip().split("=", 1)
        for line in sagelocal_server.output
        if line.startswith("export ")
    )
    assert exported["AWS_ACCESS_KEY_ID"] == sagelocal_server.credentials.access_key_id
    # Plain boto3 configured by nothing but the printed lines.
    client = boto3.client(
        "s3",
        endpoint_url=exported["AWS_ENDPOINT_URL_S3"],
        region_name=exported["AWS_DEFAULT_REGION"],
        aws_access_key_id=exported["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exported["AWS_SECRET_ACCESS_KEY"],
    )
    data = os.urandom(17 * 1024 * 1024 + 7)
    (tmp_path / "up.bin").write_bytes(data)
    config = boto3.s3.transfer.TransferConfig(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    client.upload_file(str(tmp_path / "up.bin"), BUCKET, "transfer/up.bin", Config=config)
    assert client.head_object(Bucket=BUCKET, Key="transfer/up.bin")["ETag"].endswith('-4"')
    client.download_file(BUCKET, "transfer/up.bin", str(tmp_path / "down.bin"), Config=config)
    assert (tmp_path / "down.bin").read_bytes() == data

    for version in ("s3v4", "s3"):  # SigV4, and the SigV2 form `aws s3 presign` of AWS CLI v1 makes
        signer = boto3.client(
            "s3",
            endpoint_url=exported["AWS_ENDPOINT_URL_S3"],
            region_name=exported["AWS_DEFAULT_REGION"],
            aws_access_key_id=exported["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exported["AWS_SECRET_ACCESS_KEY"],
            config=Config(signature_version=version),
        )
        url = signer.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "secret.txt"}, ExpiresIn=60
        )
        assert ("X-Amz-Signature=" in url) == (version == "s3v4") and ("Signature=" in url)
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.read() == MARKER
        put_url = signer.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": f"presigned/{version}"}, ExpiresIn=60
        )
        # As `curl --upload-file` sends it: no Content-Type (SigV2 signs the Content-Type, which was none).
        parts = urlsplit(put_url)
        put = sagelocal_server.send(
            "PUT", f"{parts.path}?{parts.query}", b"via presigned " + version.encode(), service=None
        )
        assert put.status == 200, put.body
        assert (
            s3.get_object(Bucket=BUCKET, Key=f"presigned/{version}")["Body"].read()
            == b"via presigned " + version.encode()
        )
    buffer = io.BytesIO()
    s3.download_fileobj(BUCKET, "secret.txt", buffer)
    assert buffer.getvalue() == MARKER


# --- the credentials file ---------------------------------------------------------------------------------


def test_credentials_are_private_stable_and_checked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_server(home) as first:
        path = home / "credentials.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        stored = json.loads(path.read_text())
        assert (stored["AccessKeyId"], stored["SecretAccessKey"]) == (
            first.credentials.access_key_id,
            first.credentials.secret_access_key,
        )
        first.client("s3").create_bucket(Bucket="kept")
    with running_server(home) as second:  # a restart keeps them: notebooks need not be reconfigured
        assert second.credentials == first.credentials
        assert "kept" in [b["Name"] for b in second.client("s3").list_buckets()["Buckets"]]

    path.chmod(0o644)  # its secret must be assumed known: serve refuses to use it
    env = clean_environ() | {"SAGELOCAL_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "sagelocal.server.run", "--port", "0"],
        env=env, capture_output=True, text=True, timeout=120, cwd=str(REPO_ROOT),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        f"sagelocal serve: the sagelocal credentials file {path.resolve()} can be read by other users (mode 0644): "
        "delete it and sagelocal creates new credentials (the old secret must be assumed known)\n"
    )
    assert result.stdout == ""
