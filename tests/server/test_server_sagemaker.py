"""The SageMaker JSON 1.1 API of ``sagelocal serve``, driven by real boto3: create/describe/list/stop, the AWS
error codes and texts, epoch-second timestamps on the wire, and the endpoint environment variables."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support import builders
from support.builders import ROLE
from support.builders import TUTORIAL_IMAGE as IMAGE
from support.server_fixture import Server, breast_cancer_csv

BUCKET = "sm-api"
TERMINAL = ("Completed", "Failed", "Stopped")
JOB_TIMEOUT = 240.0


@pytest.fixture(scope="module")
def sm(sagelocal_server: Server):
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="train/data.csv", Body=breast_cancer_csv(200))
    return sagelocal_server.client("sagemaker")


def unique(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


def tutorial_request(name: str, num_round: int = 5) -> dict[str, Any]:
    """What SDK v2 sends for the classic tutorial (reference §4), with DebugHookConfig and ProfilerConfig."""
    return builders.tutorial_request(
        name, {"train": f"s3://{BUCKET}/train"}, f"s3://{BUCKET}/out", num_round=str(num_round)
    )


def wait_terminal(sm, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        job = sm.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in TERMINAL or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_describe_and_artifacts(sm, sagelocal_server: Server) -> None:
    name = unique("xgboost-tutorial")
    created = sm.create_training_job(**tutorial_request(name))
    assert created["TrainingJobArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"

    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobName"] == name
    assert job["TrainingJobArn"] == created["TrainingJobArn"]
    assert job["TrainingJobStatus"] in ("InProgress", *TERMINAL)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["HyperParameters"]["num_round"] == "5"
    assert job["ResourceConfig"] == {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 30}
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 86400
    assert isinstance(job["CreationTime"], datetime) and job["CreationTime"].tzinfo is not None
    assert abs(job["CreationTime"] - datetime.now(UTC)) < timedelta(hours=1)

    job = wait_terminal(sm, name)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Completed", "Completed"), job.get(
        "FailureReason"
    )
    last = job["SecondaryStatusTransitions"][-1]
    assert (last["Status"], last["StatusMessage"]) == ("Completed", "Training job completed")
    artifact = f"s3://{BUCKET}/out/{name}/output/model.tar.gz"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == artifact
    assert isinstance(job["TrainingTimeInSeconds"], int) and isinstance(job["BillableTimeInSeconds"], int)
    head = sagelocal_server.client("s3").head_object(Bucket=BUCKET, Key=f"out/{name}/output/model.tar.gz")
    assert head["ContentLength"] > 0


def test_timestamps_are_epoch_seconds_on_the_wire(sm, sagelocal_server: Server) -> None:
    name = unique("wire")
    sm.create_training_job(**tutorial_request(name))
    response = sagelocal_server.send(
        "POST",
        "/",
        json.dumps({"TrainingJobName": name}).encode(),
        {"X-Amz-Target": "SageMaker.DescribeTrainingJob", "Content-Type": "application/x-amz-json-1.1"},
        service="sagemaker",
    )
    assert response.status == 200
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    document = json.loads(response.body)
    assert isinstance(document["CreationTime"], float | int) and not isinstance(
        document["CreationTime"], bool
    )
    assert abs(document["CreationTime"] - time.time()) < 3600
    assert all(
        isinstance(t["StartTime"], float | int) for t in document.get("SecondaryStatusTransitions", [])
    )


def test_duplicate_name_is_resource_in_use(sm) -> None:
    name = unique("dup")
    sm.create_training_job(**tutorial_request(name))
    with pytest.raises(ClientError) as excinfo:
        sm.create_training_job(**tutorial_request(name))
    assert error_of(excinfo) == (
        "ResourceInUse",
        "Training job names must be unique within an AWS account and region, and a training job with this "
        "name already exists",
    )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invalid_name_is_validation_exception(sm) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.create_training_job(**tutorial_request("bad_name"))
    assert error_of(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    )


def test_accepts_everything_the_sdk_sends(sm) -> None:
    name = unique("extras")
    request = tutorial_request(name)
    request["DebugHookConfig"]["HookParameters"] = {"save_interval": "10"}
    request["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] = 500
    request["ProfilerRuleConfigurations"] = [
        {"RuleConfigurationName": "ProfilerReport-1", "RuleEvaluatorImage": "x", "RuleParameters": {"a": "b"}}
    ]
    request["Tags"] = [{"Key": "project", "Value": "sagelocal"}]
    request["EnableNetworkIsolation"] = False
    request["Environment"] = {"MY_VAR": "1"}
    request["RetryStrategy"] = {"MaximumRetryAttempts": 1}
    assert sm.create_training_job(**request)["TrainingJobArn"].endswith(f"/{name}")


def test_describe_unknown_job(sm) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.describe_training_job(TrainingJobName="no-such-job")
    assert error_of(excinfo) == ("ValidationException", "Requested resource not found.")


def test_describe_and_stop_check_the_name_against_the_model(sm) -> None:
    for call in (sm.describe_training_job, sm.stop_training_job):
        with pytest.raises(ClientError) as excinfo:
            call(TrainingJobName="bad_name")
        assert error_of(excinfo) == (
            "ValidationException",
            "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        )


def test_list_checks_every_member_against_the_model(sagelocal_server: Server) -> None:
    response = sagelocal_server.send(
        "POST",
        "/",
        json.dumps({"MaxResults": 0, "SortOrder": "Up", "CreationTimeAfter": "yesterday"}).encode(),
        {"X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"},
        service="sagemaker",
    )
    assert response.status == 400
    assert json.loads(response.body) == {
        "__type": "ValidationException",
        "message": "3 validation errors detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1; Value 'yesterday' at 'creationTimeAfter' failed "
        "to satisfy constraint: Member must be a timestamp; Value 'Up' at 'sortOrder' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Ascending, Descending]",
    }


def test_stop_unknown_job(sm) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.stop_training_job(TrainingJobName="no-such-job")
    assert error_of(excinfo)[0] == "ValidationException"


def test_stop_a_running_job(sm) -> None:
    name = unique("stopme")
    sm.create_training_job(**tutorial_request(name, num_round=10_000_000))
    assert sm.stop_training_job(TrainingJobName=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("Stopping", "Stopped")
    job = wait_terminal(sm, name)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")


def test_list_filters_sort_and_pagination(sm) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [f"list-{tag}-b", f"list-{tag}-a", f"list-{tag}-c", f"other-{tag}-a"]
    for name in names:
        sm.create_training_job(**tutorial_request(name, num_round=2))
    for name in names:
        wait_terminal(sm, name)

    listed = sm.list_training_jobs(NameContains=f"list-{tag}", SortBy="Name", SortOrder="Ascending")
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == sorted(names[:3])
    summary = listed["TrainingJobSummaries"][0]
    assert summary["TrainingJobArn"].endswith(f"training-job/{summary['TrainingJobName']}")
    assert summary["TrainingJobStatus"] == "Completed"
    assert isinstance(summary["CreationTime"], datetime)

    pages = list(
        sm.get_paginator("list_training_jobs").paginate(
            NameContains=tag, SortBy="Name", SortOrder="Descending", PaginationConfig={"PageSize": 1}
        )
    )
    assert len(pages) == 4
    assert [s["TrainingJobName"] for p in pages for s in p["TrainingJobSummaries"]] == sorted(
        names, reverse=True
    )
    assert "NextToken" in pages[0] and "NextToken" not in pages[-1]

    first = sm.list_training_jobs(NameContains=tag, MaxResults=2, SortBy="Name", SortOrder="Ascending")
    second = sm.list_training_jobs(
        NameContains=tag, MaxResults=2, SortBy="Name", SortOrder="Ascending", NextToken=first["NextToken"]
    )
    assert [
        s["TrainingJobName"] for s in first["TrainingJobSummaries"] + second["TrainingJobSummaries"]
    ] == sorted(names)

    completed = sm.list_training_jobs(NameContains=tag, StatusEquals="Completed", MaxResults=100)
    assert len(completed["TrainingJobSummaries"]) == 4
    assert sm.list_training_jobs(NameContains=tag, StatusEquals="Failed")["TrainingJobSummaries"] == []
    future = datetime.now(UTC) + timedelta(days=1)
    assert sm.list_training_jobs(NameContains=tag, CreationTimeAfter=future)["TrainingJobSummaries"] == []
    past = datetime.now(UTC) - timedelta(days=1)
    assert len(sm.list_training_jobs(NameContains=tag, CreationTimeAfter=past)["TrainingJobSummaries"]) == 4

    with pytest.raises(ClientError) as excinfo:
        sm.list_training_jobs(SortBy="Size")
    assert error_of(excinfo)[0] == "ValidationException"


def test_unknown_operation(sm, sagelocal_server: Server) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.list_notebook_instances()
    code, message = error_of(excinfo)
    assert code == "UnknownOperationException"
    assert message.startswith(
        "Unknown operation SageMaker.ListNotebookInstances: sagelocal serves CreateTrainingJob,"
    )
    response = sagelocal_server.send(
        "POST", "/", b"{}", {"X-Amz-Target": "Kinesis_20131202.ListStreams"}, service="kinesis"
    )
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "UnknownOperationException"


def test_malformed_json_is_serialization_exception(sagelocal_server: Server) -> None:
    response = sagelocal_server.send(
        "POST", "/", b"{not json", {"X-Amz-Target": "SageMaker.DescribeTrainingJob"}, service="sagemaker"
    )
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "SerializationException"


def test_endpoint_variables_route_every_client(
    sm,
    sagelocal_server: Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With only the printed ``export`` lines set, plain ``boto3.client(...)`` calls reach the server."""
    for name in list(__import__("os").environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in sagelocal_server.env.items():
        monkeypatch.setenv(name, value)
    assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert BUCKET in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    assert "TrainingJobSummaries" in boto3.client("sagemaker").list_training_jobs()
    with pytest.raises(ClientError) as excinfo:
        boto3.client("logs").describe_log_streams(logGroupName="/no/such/group")
    assert error_of(excinfo) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_sts_get_caller_identity(sagelocal_server: Server) -> None:
    identity = sagelocal_server.client("sts").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:user/sagelocal"
    raw = sagelocal_server.send(
        "POST",
        "/",
        b"Action=GetCallerIdentity&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        service="sts",
    )
    assert raw.status == 200
    assert b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' in raw.body
    assert b"<Account>123456789012</Account>" in raw.body
    with pytest.raises(ClientError) as excinfo:
        sagelocal_server.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="session")
    assert error_of(excinfo)[0] == "InvalidAction"


def test_server_rejects_the_local_instance_type_as_sagemaker_does(sm) -> None:
    """`local` is an SDK local-mode value, not an ml.* instance type: the service stand-in refuses it."""
    request = tutorial_request(unique("local-instance"))
    request["ResourceConfig"]["InstanceType"] = "local"
    with pytest.raises(ClientError) as excinfo:
        sm.create_training_job(**request)
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert message.startswith(
        "1 validation error detected: Value 'local' at 'resourceConfig.instanceType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ml.m4.xlarge, "
    )
