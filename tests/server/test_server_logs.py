"""CloudWatch Logs conformance of ``sagelocal serve`` with real boto3: the calls and semantics the SageMaker
SDK relies on (reference §9) and the training job's own log stream."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from support.server_fixture import Server, breast_cancer_csv

GROUP = "/test/sagelocal"
TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(scope="module")
def logs(sagelocal_server: Server):
    client = sagelocal_server.client("logs")
    events = {
        "job-a/algo-1-1000": [
            (1000, "a1 start"),
            (2000, "a1 error one"),
            (2000, "a1 same ms"),
            (3000, "a1 end"),
        ],
        "job-a/algo-2-1000": [(1500, "a2 start"), (2500, "a2 error two")],
        "job-b/algo-1-1000": [(1000, "b1 only")],
    }
    for stream, items in events.items():
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        client.put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": ts, "message": message} for ts, message in items],
        )
    return client


def test_missing_group_is_resource_not_found(sagelocal_server: Server) -> None:
    client = sagelocal_server.client("logs")
    with pytest.raises(ClientError) as excinfo:
        client.describe_log_streams(
            logGroupName="/aws/sagemaker/NoSuchGroup",
            logStreamNamePrefix="x/",
            orderBy="LogStreamName",
            limit=1,
        )
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_describe_log_streams(logs) -> None:
    # Exactly what the SDK sends (limit = instance count): a page that holds everything has no nextToken.
    page = logs.describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix="job-b/", orderBy="LogStreamName", limit=1
    )
    assert [s["logStreamName"] for s in page["logStreams"]] == ["job-b/algo-1-1000"]
    assert "nextToken" not in page
    page = logs.describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix="job-a/", orderBy="LogStreamName", limit=2
    )
    assert [s["logStreamName"] for s in page["logStreams"]] == ["job-a/algo-1-1000", "job-a/algo-2-1000"]
    assert "nextToken" not in page
    stream = page["logStreams"][0]
    assert stream["firstEventTimestamp"] == 1000 and stream["lastEventTimestamp"] == 3000
    assert stream["arn"].endswith(f":log-group:{GROUP}:log-stream:job-a/algo-1-1000")

    paged = list(
        logs.get_paginator("describe_log_streams").paginate(
            logGroupName=GROUP, orderBy="LogStreamName", PaginationConfig={"PageSize": 1}
        )
    )
    assert [s["logStreamName"] for p in paged for s in p["logStreams"]] == [
        "job-a/algo-1-1000",
        "job-a/algo-2-1000",
        "job-b/algo-1-1000",
    ]


def test_get_log_events_start_time_is_inclusive(logs) -> None:
    page = logs.get_log_events(
        logGroupName=GROUP, logStreamName="job-a/algo-1-1000", startTime=2000, startFromHead=True
    )
    assert [(e["timestamp"], e["message"]) for e in page["events"]] == [
        (2000, "a1 error one"),
        (2000, "a1 same ms"),
        (3000, "a1 end"),
    ]
    assert all(isinstance(e["ingestionTime"], int) for e in page["events"])
    assert page["nextForwardToken"].startswith("f/") and page["nextBackwardToken"].startswith("b/")


def test_get_log_events_token_paging_until_an_empty_page(logs) -> None:
    """The SDK pages with nextForwardToken until a page has no events."""
    seen: list[str] = []
    kwargs = {"logGroupName": GROUP, "logStreamName": "job-a/algo-1-1000", "startFromHead": True, "limit": 3}
    response = logs.get_log_events(**kwargs)
    pages = 1
    while response["events"]:
        seen.extend(e["message"] for e in response["events"])
        token = response["nextForwardToken"]
        response = logs.get_log_events(**kwargs, nextToken=token)
        pages += 1
    assert seen == ["a1 start", "a1 error one", "a1 same ms", "a1 end"]
    assert pages == 3
    assert response["nextForwardToken"] == token  # the end: same token again, 0 events

    newest = logs.get_log_events(logGroupName=GROUP, logStreamName="job-a/algo-1-1000", limit=1)
    assert [e["message"] for e in newest["events"]] == ["a1 end"]


def test_filter_log_events(logs) -> None:
    merged = logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix="job-a/")
    assert [(e["timestamp"], e["logStreamName"], e["message"]) for e in merged["events"]] == [
        (1000, "job-a/algo-1-1000", "a1 start"),
        (1500, "job-a/algo-2-1000", "a2 start"),
        (2000, "job-a/algo-1-1000", "a1 error one"),
        (2000, "job-a/algo-1-1000", "a1 same ms"),
        (2500, "job-a/algo-2-1000", "a2 error two"),
        (3000, "job-a/algo-1-1000", "a1 end"),
    ]
    matching = logs.filter_log_events(logGroupName=GROUP, filterPattern="error")
    assert [e["message"] for e in matching["events"]] == ["a1 error one", "a2 error two"]
    windowed = logs.filter_log_events(
        logGroupName=GROUP,
        logStreamNames=["job-b/algo-1-1000", "job-a/algo-2-1000"],
        startTime=1000,
        endTime=2000,
    )
    assert [e["message"] for e in windowed["events"]] == ["b1 only", "a2 start"]
    paged = list(
        logs.get_paginator("filter_log_events").paginate(logGroupName=GROUP, PaginationConfig={"PageSize": 2})
    )
    assert len([e for p in paged for e in p["events"]]) == 7


def test_training_job_writes_its_stream(sagelocal_server: Server) -> None:
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket="logs-job")
    s3.put_object(Bucket="logs-job", Key="train/data.csv", Body=breast_cancer_csv(100))
    sm = sagelocal_server.client("sagemaker")
    name = f"logs-job-{uuid.uuid4().hex[:8]}"
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={
            "TrainingImage": "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest",
            "TrainingInputMode": "File",
        },
        HyperParameters={"objective": "binary:logistic", "num_round": "3"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "ContentType": "csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://logs-job/train"}},
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://logs-job/out"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 30},
        RoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    deadline = time.monotonic() + 240
    while sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.5)

    logs = sagelocal_server.client("logs")
    streams = logs.describe_log_streams(
        logGroupName=TRAINING_GROUP, logStreamNamePrefix=f"{name}/", orderBy="LogStreamName", limit=1
    )
    assert "nextToken" not in streams
    [stream] = [s["logStreamName"] for s in streams["logStreams"]]
    assert re.fullmatch(rf"{name}/algo-1-\d{{10}}", stream)
    events = logs.get_log_events(logGroupName=TRAINING_GROUP, logStreamName=stream, startFromHead=True)[
        "events"
    ]
    messages = [e["message"] for e in events]
    assert any(re.match(r"\[\d+\]#011train-", m) for m in messages), messages
    assert all("\t" not in m for m in messages)


def _raw_logs_call(server: Server, operation: str, params: dict[str, object]) -> tuple[int, dict[str, str]]:
    """A request boto3 would refuse to send (its own parameter checks), straight onto the wire."""
    response = server.send(
        "POST",
        "/",
        json.dumps(params).encode(),
        {"X-Amz-Target": f"Logs_20140328.{operation}", "Content-Type": "application/x-amz-json-1.1"},
        service="logs",
    )
    return response.status, json.loads(response.body)


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        (
            "PutLogEvents",
            {"logGroupName": GROUP, "logStreamName": "s", "logEvents": []},
            "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
        ),
        (
            "GetLogEvents",
            {"logGroupName": GROUP, "logStreamName": "a:b", "limit": 0},
            "2 validation errors detected: Value 'a:b' at 'logStreamName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [^:*]*; Value '0' at 'limit' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1",
        ),
        (
            "DescribeLogStreams",
            {"orderBy": "Size"},
            "2 validation errors detected: Value null at 'logGroupName' failed to satisfy constraint: Member "
            "must not be null; Value 'Size' at 'orderBy' failed to satisfy constraint: Member must satisfy "
            "enum value set: [LogStreamName, LastEventTime]",
        ),
    ],
)
def test_requests_are_checked_against_the_model(
    sagelocal_server: Server, operation: str, params: dict[str, object], message: str
) -> None:
    """CloudWatch Logs answers constraint violations with InvalidParameterException and SageMaker's text."""
    status, body = _raw_logs_call(sagelocal_server, operation, params)
    assert (status, body["__type"], body["message"]) == (400, "InvalidParameterException", message)


def test_a_wrongly_typed_member_is_a_serialization_exception(sagelocal_server: Server) -> None:
    status, body = _raw_logs_call(
        sagelocal_server, "GetLogEvents", {"logGroupName": GROUP, "logStreamName": "s", "limit": "ten"}
    )
    assert (status, body["__type"]) == (400, "SerializationException")
    assert body["message"] == "STRING_VALUE can not be converted to an Integer"
