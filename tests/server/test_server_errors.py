"""Errors that are the client's are answered as the client's (4xx, in the protocol's shape), never as a 500
that botocore would retry (issue 11, item 8): a file the server may not touch, names that are not Unicode, and a
walk over malformed requests of every protocol."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from support.raw_aws import error_of, json_call, send
from support.server_fixture import Server

BUCKET = "errors"


@pytest.fixture(scope="module")
def server(sagelocal_server: Server) -> Server:
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="locked/existing.txt", Body=b"kept")
    return sagelocal_server


@contextlib.contextmanager
def _unwritable(folder: Path) -> Iterator[None]:
    """``folder`` refuses new and removed entries with EPERM/EACCES (a PermissionError) for the server's user:
    immutable for root (which ignores modes), read-only otherwise."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make a folder the server may not write")
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o500)
        try:
            yield
        finally:
            folder.chmod(0o755)


# --- PermissionError -> AccessDenied ----------------------------------------------------------------------


def test_permission_error_is_access_denied_with_the_key(server: Server) -> None:
    s3 = server.client("s3")
    folder = server.home / "s3" / BUCKET / "locked"
    with _unwritable(folder):
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=BUCKET, Key="locked/new.txt", Body=b"refused")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        assert e.value.response["Error"]["Message"] == "Access Denied"
        assert e.value.response["Error"]["Key"] == "locked/new.txt"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert e.value.response["ResponseMetadata"]["RetryAttempts"] == 0  # botocore does not retry a 403

        raw = send(server, "DELETE", f"/{BUCKET}/locked/existing.txt")
        assert raw.status_code == 403
        assert "<Code>AccessDenied</Code>" in raw.text
        assert "<Key>locked/existing.txt</Key>" in raw.text
        assert str(server.home) not in raw.text
        assert "/s3/" not in raw.text
    assert s3.get_object(Bucket=BUCKET, Key="locked/existing.txt")["Body"].read() == b"kept"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_object_is_access_denied(server: Server) -> None:
    s3 = server.client("s3")
    s3.put_object(Bucket=BUCKET, Key="secret.txt", Body=b"s")
    path = server.home / "s3" / BUCKET / "secret.txt"
    path.chmod(0)
    try:
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=BUCKET, Key="secret.txt")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        assert e.value.response["Error"]["Key"] == "secret.txt"
    finally:
        path.chmod(0o644)


# --- names that are not Unicode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, body",
    [
        ("SageMaker.DescribeTrainingJob", b'{"TrainingJobName": "job\\ud800"}'),
        ("SageMaker.CreateTrainingJob", b'{"TrainingJobName": "\\udfff"}'),
        ("SageMaker.ListTrainingJobs", b'{"NameContains": "a\\ud800b"}'),
        ("Logs_20140328.CreateLogStream", b'{"logGroupName": "g", "logStreamName": "s\\ud800"}'),
        ("Logs_20140328.GetLogEvents", b'{"logGroupName": "g", "logStreamName": "\\ud800"}'),
        ("Logs_20140328.DescribeLogStreams", b'{"logGroupName": "g", "\\ud800": 1}'),
    ],
)
def test_a_lone_surrogate_is_a_serialization_exception(server: Server, target: str, body: bytes) -> None:
    response = json_call(server, target, body)
    assert response.status_code == 400
    assert error_of(response) == (
        "SerializationException",
        "Unable to parse request body as JSON: a string holds a lone UTF-16 surrogate",
    )


def test_a_key_that_is_not_utf8_is_invalid_uri(server: Server) -> None:
    response = send(server, "PUT", f"/{BUCKET}/bad%ED%A0%80key", b"x")
    assert response.status_code == 400
    assert "<Code>InvalidURI</Code>" in response.text


# --- a walk over malformed requests -----------------------------------------------------------------------

_JSON_BODIES = [
    b"",
    b"not json",
    b"[]",
    b"123",
    b'"text"',
    b"null",
    b"\xff\xfe\x00garbage",
    b'{"a": NaN}',
    b"{" * 5000,
    b'{"x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    b'{"TrainingJobName": 5, "logGroupName": 5, "logStreamName": []}',
    b'{"TrainingJobName": {"a": 1}, "logGroupName": {"a": 1}}',
    b'{"TrainingJobName": "ok", "MaxResults": 1.5, "limit": 1e400, "startTime": "yesterday"}',
    b'{"TrainingJobName": "ok", "NextToken": "\\u0000", "nextToken": "\\u0000"}',
    b'{"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": "x", "message": 1}]}',
    b'{"logGroupName": "g", "logStreamName": "s", "logEvents": [null, {}]}',
    b'{"ResourceConfig": {"InstanceCount": 99999999999999999999999}}',
    b'{"HyperParameters": {"a": null}, "Environment": [1], "Tags": {}}',
]
_JSON_TARGETS = [
    "SageMaker.CreateTrainingJob",
    "SageMaker.DescribeTrainingJob",
    "SageMaker.ListTrainingJobs",
    "SageMaker.StopTrainingJob",
    "SageMaker.NoSuchOperation",
    "Logs_20140328.DescribeLogStreams",
    "Logs_20140328.GetLogEvents",
    "Logs_20140328.FilterLogEvents",
    "Logs_20140328.CreateLogStream",
    "Logs_20140328.PutLogEvents",
]


@pytest.mark.parametrize("target", _JSON_TARGETS)
def test_malformed_json_requests_are_never_a_5xx(server: Server, target: str) -> None:
    for body in _JSON_BODIES:
        response = json_call(server, target, body)
        assert response.status_code < 500, (target, body[:80], response.status_code, response.text[:300])
        if response.status_code != 200:  # an empty or partial body may be a valid request
            assert response.json().get("__type"), (target, body[:80], response.text[:300])


_S3_REQUESTS: list[tuple[str, str, dict[str, str], bytes]] = [
    ("POST", f"/{BUCKET}?delete", {"Content-Type": "application/xml"}, b"<Delete><Object>"),
    ("POST", f"/{BUCKET}?delete", {}, b"<Delete><Object><Key>" + b"\xff" + b"</Key></Object></Delete>"),
    (
        "POST",
        f"/{BUCKET}?delete",
        {},
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><Delete>&e;</Delete>',
    ),
    ("POST", f"/{BUCKET}?delete", {}, b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>"),
    ("POST", f"/{BUCKET}?delete", {}, b"<Delete><Object><Key>&#xD800;</Key></Object></Delete>"),
    ("POST", f"/{BUCKET}/k?uploadId=nope", {}, b"<CompleteMultipartUpload/>"),
    ("PUT", f"/{BUCKET}/k?partNumber=abc&uploadId=nope", {}, b"x"),
    ("PUT", f"/{BUCKET}/k?partNumber=0&uploadId=nope", {}, b"x"),
    ("PUT", f"/{BUCKET}/k", {"Content-MD5": "not base64"}, b"x"),
    ("PUT", f"/{BUCKET}/k", {"Content-Encoding": "aws-chunked"}, b"zz;chunk-signature=1\r\nx"),
    ("PUT", f"/{BUCKET}/k", {"x-amz-checksum-sha256": "@@@"}, b"x"),
    ("PUT", f"/{BUCKET}/k", {"x-amz-copy-source": "%ff%fe/x"}, b""),
    ("PUT", f"/{BUCKET}/" + "a" * 2000, {}, b"x"),
    ("PUT", f"/{BUCKET}/a/%00/b", {}, b"x"),
    ("PUT", "/bad_bucket!", {}, b""),
    ("GET", f"/{BUCKET}/locked/existing.txt", {"Range": "bytes=z-y"}, b""),
    ("GET", f"/{BUCKET}/locked/existing.txt", {"Range": "bytes=999-1000"}, b""),
    ("GET", f"/{BUCKET}/locked/existing.txt", {"If-Modified-Since": "not a date"}, b""),
    ("GET", f"/{BUCKET}?list-type=2&max-keys=-1", {}, b""),
    ("GET", f"/{BUCKET}?list-type=2&max-keys=99999999999999999999", {}, b""),
    ("GET", f"/{BUCKET}?list-type=2&continuation-token=%ff%ff", {}, b""),
    ("GET", f"/{BUCKET}?list-type=2&continuation-token=", {}, b""),
    ("GET", f"/{BUCKET}?marker=%ED%A0%80", {}, b""),
    ("GET", f"/{BUCKET}?prefix=%ED%A0%80&list-type=2", {}, b""),
    ("GET", f"/{BUCKET}?encoding-type=bogus", {}, b""),
    ("GET", "/%ff%fe", {}, b""),
    ("DELETE", f"/{BUCKET}/%ff", {}, b""),
    ("PATCH", f"/{BUCKET}/k", {}, b"x"),
]


def test_malformed_s3_requests_are_never_a_5xx(server: Server) -> None:
    for method, path, headers, body in _S3_REQUESTS:
        response = send(server, method, path, body, headers)
        assert response.status_code < 500 or response.status_code == 501, (
            method,
            path[:80],
            response.status_code,
            response.text[:300],
        )


_STS_BODIES = [
    b"Action=GetCallerIdentity&Version=2011-06-15&%ff=%fe",
    b"Action=%ED%A0%80",
    b"Action=AssumeRole",
    b"Action=GetCallerIdentity&Version=1999-01-01",
    b"\xff\xfe",
    b"Action",
]


def test_malformed_sts_requests_are_never_a_5xx(server: Server) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    for body in _STS_BODIES:
        response = send(server, "POST", "/", body, headers, service="sts")
        assert response.status_code < 500, (body, response.status_code, response.text[:300])
