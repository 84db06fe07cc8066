"""Limits on what one request can make the server do (issue 11, items 5, 7 and 8), through real HTTP against
``sagelocal serve``: boto3 where it can send the request, raw signed requests where it cannot (bodies botocore
would never build). Nothing an over-limit request carries is stored."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.raw_aws import error_of, json_call
from support.reliability_cases import channel, request
from support.server_fixture import Server, running_server

QUOTA_TEXT = (
    "The account-level service limit 'ml.m5.xlarge for training job usage' is {limit} Instances, with current "
    "utilization of 0 Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to request "
    "an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an "
    "increase for this quota. (sagelocal: the quota is local; set SAGELOCAL_MAX_INSTANCES to change it.)"
)
S3_URI_PATTERN = "^(https|s3)://([^/]+)/?(.*)$"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("limits") / "home") as running:
        yield running


def _job(name: str, **resource: Any) -> dict[str, Any]:
    """A job whose input bucket does not exist: accepted, it fails at once on its own."""
    job = request(name, [channel("train", "s3://limits/train")], output="s3://limits/out")
    job["ResourceConfig"].update(resource)
    return job


def _stored_requests(home: Path) -> list[str]:
    conn = sqlite3.connect(str(home / "sagelocal.db"), timeout=30)
    try:
        return [row[0] for row in conn.execute("SELECT request FROM jobs").fetchall()]
    finally:
        conn.close()


def _assert_not_found(server: Server, name: str) -> None:
    with pytest.raises(ClientError) as e:
        server.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert e.value.response["Error"]["Message"] == "Requested resource not found."


# --- InstanceCount ----------------------------------------------------------------------------------------


def test_a_billion_instances_is_resource_limit_exceeded(server: Server) -> None:
    sm = server.client("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**_job("limits-billion", InstanceCount=1_000_000_000))
    assert e.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert e.value.response["Error"]["Message"] == QUOTA_TEXT.format(limit=8, delta=1_000_000_000)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    _assert_not_found(server, "limits-billion")
    assert server.process.poll() is None
    # The quota itself is accepted.
    sm.create_training_job(**_job("limits-eight", InstanceCount=8))
    assert sm.describe_training_job(TrainingJobName="limits-eight")["ResourceConfig"]["InstanceCount"] == 8


def test_instance_groups_count_per_type(server: Server) -> None:
    job = _job("limits-groups")
    del job["ResourceConfig"]["InstanceType"], job["ResourceConfig"]["InstanceCount"]
    job["ResourceConfig"]["InstanceGroups"] = [
        {"InstanceType": "ml.m5.xlarge", "InstanceCount": 5, "InstanceGroupName": "a"},
        {"InstanceType": "ml.m5.xlarge", "InstanceCount": 4, "InstanceGroupName": "b"},
    ]
    with pytest.raises(ClientError) as e:
        server.client("sagemaker").create_training_job(**job)
    assert e.value.response["Error"]["Message"] == QUOTA_TEXT.format(limit=8, delta=9)


def test_the_quota_is_configurable(tmp_path: Path) -> None:
    with running_server(tmp_path / "home", extra_env={"SAGELOCAL_MAX_INSTANCES": "2"}) as small:
        sm = small.client("sagemaker")
        with pytest.raises(ClientError) as e:
            sm.create_training_job(**_job("limits-three", InstanceCount=3))
        assert e.value.response["Error"]["Message"] == QUOTA_TEXT.format(limit=2, delta=3)
        _assert_not_found(small, "limits-three")


# --- body size, unknown members, depth --------------------------------------------------------------------


def test_a_50_mb_create_training_job_is_refused_before_it_is_stored(server: Server) -> None:
    job = _job("limits-huge")
    job["JunkMember"] = "x" * (50 * 1024 * 1024)
    database = server.home / "sagelocal.db"
    before = database.stat().st_size
    response = json_call(server, "SageMaker.CreateTrainingJob", job)
    assert response.status_code == 413
    assert response.json() == {"message": "HTTP content length exceeded 5246976 bytes."}
    _assert_not_found(server, "limits-huge")
    assert database.stat().st_size < before + 1024 * 1024
    wal = server.home / "sagelocal.db-wal"
    assert not wal.exists() or wal.stat().st_size < 8 * 1024 * 1024


def test_boto3_reports_the_413_as_aws_does(server: Server) -> None:
    job = _job("limits-huge-boto")
    job["HyperParameters"] = {"blob": "y" * (6 * 1024 * 1024)}
    with pytest.raises(ClientError) as e:
        server.client("sagemaker").create_training_job(**job)
    assert str(e.value) == (
        "An error occurred (413) when calling the CreateTrainingJob operation: "
        "HTTP content length exceeded 5246976 bytes."
    )


def test_unknown_members_are_not_stored(server: Server) -> None:
    job = _job("limits-junk")
    job["JunkMember"] = "j" * 100_000
    job["ResourceConfig"]["NestedJunk"] = {"deep": ["k" * 1000]}
    job["InputDataConfig"][0]["ChannelJunk"] = "c" * 1000
    response = json_call(server, "SageMaker.CreateTrainingJob", job)
    assert response.status_code == 200, response.text
    stored = [text for text in _stored_requests(server.home) if '"limits-junk"' in text]
    assert len(stored) == 1
    assert "Junk" not in stored[0]
    assert len(stored[0]) < 5000
    document = server.client("sagemaker").describe_training_job(TrainingJobName="limits-junk")
    assert "JunkMember" not in document
    assert "NestedJunk" not in document["ResourceConfig"]
    assert "ChannelJunk" not in document["InputDataConfig"][0]


@pytest.mark.parametrize("target", ["SageMaker.CreateTrainingJob", "Logs_20140328.DescribeLogStreams"])
def test_deep_json_is_a_serialization_exception(server: Server, target: str) -> None:
    body = b'{"TrainingJobName": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    response = json_call(server, target, body)
    assert response.status_code == 400
    assert error_of(response) == (
        "SerializationException",
        "Unable to parse request body as JSON: nesting depth exceeds the maximum allowed (64)",
    )


def test_put_log_events_batch_limit(server: Server) -> None:
    logs = server.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    events = [{"timestamp": 1_700_000_000_000, "message": "m" * 200_000} for _ in range(6)]
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName=group, logStreamName="limits/batch", logEvents=events)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert e.value.response["Error"]["Message"] == (
        f"Upload too large: {6 * (200_000 + 26)} bytes exceeds limit of 1048576"
    )


# --- numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"1.7", "NUMBER_VALUE can not be converted to an Integer"),
        (b"1e10", "NUMBER_VALUE can not be converted to an Integer"),
        (b"true", "TRUE_VALUE can not be converted to an Integer"),
        (b"NaN", "Unable to parse request body as JSON: NaN is not a JSON number"),
        (b"Infinity", "Unable to parse request body as JSON: Infinity is not a JSON number"),
        (b"-Infinity", "Unable to parse request body as JSON: -Infinity is not a JSON number"),
    ],
)
def test_integer_members_take_whole_numbers_only(server: Server, raw: bytes, message: str) -> None:
    job = json.dumps(_job("limits-number", InstanceCount=987654)).encode()
    body = job.replace(b"987654", raw)
    response = json_call(server, "SageMaker.CreateTrainingJob", body)
    assert response.status_code == 400
    assert error_of(response) == ("SerializationException", message)
    _assert_not_found(server, "limits-number")


def test_a_whole_float_is_still_an_integer(server: Server) -> None:
    body = json.dumps(_job("limits-float", InstanceCount=987654)).encode().replace(b"987654", b"1.0")
    response = json_call(server, "SageMaker.CreateTrainingJob", body)
    assert response.status_code == 200, response.text


# --- patterns and tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["ftp://limits/out", "s3:/limits/out", "limits/out", "S3://limits/out"])
def test_s3_output_path_must_match_the_model_pattern(server: Server, uri: str) -> None:
    job = _job("limits-pattern")
    job["OutputDataConfig"]["S3OutputPath"] = uri
    with pytest.raises(ClientError) as e:
        server.client("sagemaker").create_training_job(**job)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{uri}' at 'outputDataConfig.s3OutputPath' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {S3_URI_PATTERN}"
    )


def test_channel_uri_must_match_the_model_pattern(server: Server) -> None:
    job = request("limits-channel", [channel("train", "file:///etc/passwd")], output="s3://limits/out")
    with pytest.raises(ClientError) as e:
        server.client("sagemaker").create_training_job(**job)
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'file:///etc/passwd' at "
        "'inputDataConfig.1.member.dataSource.s3DataSource.s3Uri' failed to satisfy constraint: Member must "
        f"satisfy regular expression pattern: {S3_URI_PATTERN}"
    )


def _token(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        _token({"offset": -5}),
        _token({"offset": 1.5}),
        _token({"offset": True}),
        _token([1]),
        "not-a-token",
        "-1",
    ],
)
def test_a_next_token_we_did_not_issue_is_refused(server: Server, token: str) -> None:
    with pytest.raises(ClientError) as e:
        server.client("sagemaker").list_training_jobs(NextToken=token)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == "Invalid pagination token"


def test_a_next_token_we_issued_pages_on(server: Server) -> None:
    sm = server.client("sagemaker")
    for name in ("limits-page-1", "limits-page-2"):
        sm.create_training_job(**_job(name))
    first = sm.list_training_jobs(MaxResults=1, NameContains="limits-page")
    assert "NextToken" in first
    second = sm.list_training_jobs(MaxResults=1, NameContains="limits-page", NextToken=first["NextToken"])
    assert second["TrainingJobSummaries"] != first["TrainingJobSummaries"]


@pytest.mark.parametrize(
    ("member", "path"),
    [
        ("output", "outputDataConfig.s3OutputPath"),
        ("channel", "inputDataConfig.1.member.dataSource.s3DataSource.s3Uri"),
        ("checkpoint", "checkpointConfig.s3Uri"),
    ],
)
def test_an_https_s3_uri_is_refused_up_front(server: Server, member: str, path: str) -> None:
    """The model's pattern allows https (SageMaker reads the host as the bucket, and the job fails later);
    sagelocal refuses it at once instead of failing the job internally."""
    uri = "https://limits.s3.amazonaws.com/out"
    job = _job("limits-https")
    if member == "output":
        job["OutputDataConfig"]["S3OutputPath"] = uri
    elif member == "channel":
        job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = uri
    else:
        job["CheckpointConfig"] = {"S3Uri": uri}
    with pytest.raises(ClientError) as e:
        server.client("sagemaker").create_training_job(**job)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == (
        f"sagelocal: the value '{uri}' at '{path}' is an https URL; SageMaker would read its host as a bucket "
        "name. The local object store is addressed by s3:// URIs: use s3://<bucket>/<prefix>."
    )
    _assert_not_found(server, "limits-https")
