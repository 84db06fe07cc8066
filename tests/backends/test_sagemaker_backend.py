"""The ``sagemaker`` backend without AWS: its clear one-line errors, its endpoint handling, and its AWS calls
against moto (S3, CloudWatch Logs, STS, SageMaker create/describe/list). The end-to-end run against
``sagelocal serve`` is in test_sagemaker_backend_e2e.py."""

from __future__ import annotations

import os
import tarfile
import time
from pathlib import Path

import pytest
from support.builders import TUTORIAL_IMAGE

from sagelocal import config
from sagelocal.aws import errors
from sagelocal.backends import BackendError, get_backend
from sagelocal.backends.sagemaker import (
    AWS_POLL_INTERVAL,
    LOG_GROUP,
    LOOPBACK_POLL_INTERVAL,
    NO_CREDENTIALS,
    NO_REGION,
    NO_ROLE,
    SageMakerBackend,
    image_uri,
    is_aws_url,
    is_loopback_url,
    service_error,
    split_s3_uri,
)

REAL_ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment with no AWS configuration at all: no AWS_* variables, no config or credentials files,
    no instance metadata lookups."""
    for var in list(os.environ):
        if var.startswith("AWS_") or var == "SAGELOCAL_ROLE_ARN":
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def dummy_aws(no_aws: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    no_aws.setenv("AWS_ACCESS_KEY_ID", "testing")
    no_aws.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    no_aws.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return no_aws


@pytest.fixture
def moto_aws(dummy_aws: pytest.MonkeyPatch):
    from moto import mock_aws

    with mock_aws():
        yield dummy_aws


def tutorial_request(name: str, role: str = REAL_ROLE, bucket: str = "bucket") -> dict:
    return {
        "TrainingJobName": name,
        "RoleArn": role,
        "AlgorithmSpecification": {"TrainingImage": TUTORIAL_IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {
            "max_depth": "5",
            "eta": "0.2",
            "num_round": "10",
            "objective": "binary:logistic",
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/train",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }


# --- the clear-error lines -------------------------------------------------------------------------------


def test_get_backend_gives_the_sagemaker_backend_without_io(no_aws: pytest.MonkeyPatch) -> None:
    backend = get_backend("sagemaker")
    assert isinstance(backend, SageMakerBackend)
    assert backend.name == "sagemaker"


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.check(),
        lambda b: b.describe_training_job("job"),
        lambda b: b.list_training_jobs(),
        lambda b: b.get_log_events("job"),
        lambda b: b.default_bucket(),
        lambda b: b.create_training_job(tutorial_request("job")),
    ],
)
def test_missing_credentials_is_one_clear_line(no_aws: pytest.MonkeyPatch, call) -> None:
    no_aws.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with pytest.raises(BackendError) as info:
        call(SageMakerBackend())
    assert str(info.value) == NO_CREDENTIALS
    assert str(info.value) == (
        "No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) "
        "to use --backend sagemaker."
    )


def test_missing_credentials_without_region_names_the_credentials_first(no_aws: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendError, match=r"^No AWS credentials found"):
        SageMakerBackend().check()


def test_missing_region_is_one_clear_line(no_aws: pytest.MonkeyPatch) -> None:
    no_aws.setenv("AWS_ACCESS_KEY_ID", "testing")
    no_aws.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(BackendError) as info:
        SageMakerBackend().describe_training_job("job")
    assert str(info.value) == NO_REGION
    assert str(info.value) == (
        "No AWS region configured: set AWS_DEFAULT_REGION (or AWS_REGION) to use --backend sagemaker."
    )


def test_region_from_aws_region_or_aws_default_region(dummy_aws: pytest.MonkeyPatch) -> None:
    assert SageMakerBackend().region == "us-east-1"
    dummy_aws.delenv("AWS_DEFAULT_REGION")
    dummy_aws.setenv("AWS_REGION", "eu-west-1")
    assert SageMakerBackend().region == "eu-west-1"
    dummy_aws.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert SageMakerBackend().region == "eu-west-1"  # AWS_REGION wins, as in sagelocal.config.region()


def test_credentials_and_region_from_a_profile(no_aws: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "credentials").write_text(
        "[work]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n"
    )
    (tmp_path / "config").write_text("[profile work]\nregion = eu-west-1\n")
    no_aws.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    no_aws.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    no_aws.setenv("AWS_PROFILE", "work")
    backend = SageMakerBackend()
    backend.check()
    assert backend.region == "eu-west-1"


def test_unknown_profile_is_one_line(no_aws: pytest.MonkeyPatch) -> None:
    no_aws.setenv("AWS_PROFILE", "nope")
    with pytest.raises(BackendError) as info:
        SageMakerBackend().check()
    assert str(info.value) == (
        "The config profile (nope) could not be found: set AWS_PROFILE to a profile in your AWS config "
        "(or unset it) to use --backend sagemaker."
    )


@pytest.mark.parametrize("role", [config.DUMMY_ROLE_ARN, None, ""])
def test_dummy_or_missing_role_is_refused_for_real_aws(dummy_aws: pytest.MonkeyPatch, role) -> None:
    request = tutorial_request("job", role=role)
    if role is None:
        del request["RoleArn"]
    with pytest.raises(BackendError) as info:
        SageMakerBackend().create_training_job(request)  # raised before any network call
    assert str(info.value) == NO_ROLE
    assert str(info.value) == (
        "No SageMaker execution role given: pass --role arn:aws:iam::<account>:role/<name> "
        "(or set SAGELOCAL_ROLE_ARN) to use --backend sagemaker."
    )


def test_dummy_role_is_fine_when_the_endpoint_is_redirected(dummy_aws: pytest.MonkeyPatch) -> None:
    dummy_aws.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:1")
    SageMakerBackend().check_role(config.DUMMY_ROLE_ARN)
    dummy_aws.delenv("AWS_ENDPOINT_URL_SAGEMAKER")
    dummy_aws.setenv("AWS_ENDPOINT_URL", "http://localhost:1")
    SageMakerBackend().check_role(config.DUMMY_ROLE_ARN)
    dummy_aws.delenv("AWS_ENDPOINT_URL")
    SageMakerBackend().check_role(REAL_ROLE)
    with pytest.raises(BackendError, match=r"^No SageMaker execution role given"):
        SageMakerBackend().check_role(config.DUMMY_ROLE_ARN)


def test_the_endpoint_variable_redirects_the_client(dummy_aws: pytest.MonkeyPatch) -> None:
    """No endpoint_url is passed: boto3's own resolution sends the call to AWS_ENDPOINT_URL_SAGEMAKER."""
    dummy_aws.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:9")  # nothing listens on port 9
    dummy_aws.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(BackendError) as info:
        SageMakerBackend().describe_training_job("job")
    assert str(info.value) == 'Could not connect to the endpoint URL: "http://127.0.0.1:9/"'


def test_poll_interval_is_short_only_for_a_loopback_endpoint(dummy_aws: pytest.MonkeyPatch) -> None:
    assert SageMakerBackend().poll_interval == AWS_POLL_INTERVAL == 5.0
    dummy_aws.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:8123")
    assert SageMakerBackend().poll_interval == LOOPBACK_POLL_INTERVAL == 0.5
    dummy_aws.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "https://sagemaker.example.com")
    assert SageMakerBackend().poll_interval == 5.0
    assert SageMakerBackend(poll_interval=0.01).poll_interval == 0.01
    backend = SageMakerBackend()
    backend.poll_interval = 2.0
    assert backend.poll_interval == 2.0


def test_poll_interval_without_configuration_does_not_raise(no_aws: pytest.MonkeyPatch) -> None:
    assert SageMakerBackend().poll_interval == 5.0


def test_logs_client_retries_like_the_sdk_only_against_aws(dummy_aws: pytest.MonkeyPatch) -> None:
    # Config(retries={"max_attempts": 15}) means 15 retries: 16 attempts in all
    assert SageMakerBackend()._client("logs").meta.config.retries["total_max_attempts"] == 16
    dummy_aws.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:8123")
    client = SageMakerBackend()._client("logs")
    assert client.meta.endpoint_url == "http://127.0.0.1:8123"
    assert (client.meta.config.retries or {}).get("total_max_attempts") != 16


def test_url_helpers() -> None:
    assert is_loopback_url("http://127.0.0.1:5000")
    assert is_loopback_url("http://localhost:5000")
    assert is_loopback_url("http://[::1]:5000")
    assert not is_loopback_url("https://api.sagemaker.us-east-1.amazonaws.com")
    assert is_aws_url("https://api.sagemaker.us-east-1.amazonaws.com")
    assert is_aws_url("https://api.sagemaker.cn-north-1.amazonaws.com.cn")
    assert not is_aws_url("http://127.0.0.1:5000")
    assert split_s3_uri("s3://bucket/a/b.csv") == ("bucket", "a/b.csv")
    assert split_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(BackendError):
        split_s3_uri("s3:///key")


# --- image URIs (from the SageMaker SDK) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "region", "expected"),
    [
        ("latest", "us-east-1", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"),
        ("1", "us-east-1", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"),
        ("latest", "us-west-2", "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:latest"),
        ("latest", "eu-west-1", "685385470294.dkr.ecr.eu-west-1.amazonaws.com/xgboost:latest"),
        (
            "0.90-1",
            "us-east-1",
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3",
        ),
        ("1.7-1", "us-east-1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
        ("3.0-5", "us-east-2", "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-xgboost:3.0-5"),
    ],
)
def test_image_uri(version: str, region: str, expected: str) -> None:
    assert image_uri(version, region) == expected


def test_image_uri_defaults_to_the_configured_region(dummy_aws: pytest.MonkeyPatch) -> None:
    dummy_aws.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert image_uri("latest") == "825641698319.dkr.ecr.us-east-2.amazonaws.com/xgboost:latest"
    assert SageMakerBackend().image_uri("1.7-1") == (
        "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-xgboost:1.7-1"
    )


def test_image_uri_unknown_version_is_a_backend_error() -> None:
    with pytest.raises(BackendError) as info:
        image_uri("9.9-9", "us-east-1")
    assert "\n" not in str(info.value)
    assert "9.9-9" in str(info.value)


# --- error mapping -----------------------------------------------------------------------------------------


def _client_error(code: str, message: str, status: int = 400):
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "CreateTrainingJob",
    )


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("ValidationException", errors.ValidationException),
        ("ResourceInUse", errors.ResourceInUse),
        ("ResourceNotFound", errors.ResourceNotFound),
        ("ResourceNotFoundException", errors.ResourceNotFoundException),
        ("NoSuchBucket", errors.NoSuchBucket),
    ],
)
def test_client_errors_become_the_matching_service_error(code: str, cls: type) -> None:
    error = service_error(_client_error(code, "Training job names must be unique"))
    assert type(error) is cls
    assert str(error) == f"{code}: Training job names must be unique"


def test_other_client_errors_keep_their_code() -> None:
    error = service_error(_client_error("ResourceLimitExceeded", "The account-level service limit", 400))
    assert isinstance(error, errors.ServiceError)
    assert str(error) == "ResourceLimitExceeded: The account-level service limit"
    assert error.code == "ResourceLimitExceeded"
    assert errors.ServiceError.code == "ServiceError"  # the class is untouched


# --- AWS calls against moto ------------------------------------------------------------------------------


def test_create_describe_list_map_to_boto3(moto_aws: pytest.MonkeyPatch) -> None:
    backend = SageMakerBackend()
    response = backend.create_training_job(tutorial_request("xgb-moto-1"))
    assert response == {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/xgb-moto-1"}
    job = backend.describe_training_job("xgb-moto-1")
    assert "ResponseMetadata" not in job
    assert job["TrainingJobName"] == "xgb-moto-1"
    assert job["RoleArn"] == REAL_ROLE
    assert job["CreationTime"].tzinfo is not None
    final = backend.wait("xgb-moto-1", poll_interval=0)
    assert final["TrainingJobStatus"] == "Completed"
    listed = backend.list_training_jobs(NameContains="moto", MaxResults=None)
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == ["xgb-moto-1"]


def test_describe_unknown_job_is_a_validation_exception(moto_aws: pytest.MonkeyPatch) -> None:
    with pytest.raises(errors.ValidationException) as info:
        SageMakerBackend().describe_training_job("nope")
    assert str(info.value) == (
        "ValidationException: Could not find training job "
        "'arn:aws:sagemaker:us-east-1:123456789012:training-job/nope'."
    )


def test_client_side_parameter_errors_are_validation_exceptions(moto_aws: pytest.MonkeyPatch) -> None:
    request = tutorial_request("xgb-moto-2")
    del request["OutputDataConfig"]
    with pytest.raises(errors.ValidationException) as info:
        SageMakerBackend().create_training_job(request)
    assert str(info.value) == (
        "ValidationException: Parameter validation failed: "
        'Missing required parameter in input: "OutputDataConfig"'
    )


def test_wait_times_out_with_one_line(dummy_aws: pytest.MonkeyPatch) -> None:
    backend = SageMakerBackend()
    backend.describe_training_job = lambda name: {
        "TrainingJobName": name,
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Training",
    }
    with pytest.raises(BackendError) as info:
        backend.wait("slow", poll_interval=0.01, timeout=0.05)
    assert str(info.value) == (
        "Timed out after 0.05 s waiting for training job slow; it is still InProgress (Training)."
    )


def _put(logs, stream: str, events: list[tuple[int, str]]) -> None:
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": msg} for ts, msg in events],
    )


def test_log_events_before_the_group_exists_are_none(moto_aws: pytest.MonkeyPatch) -> None:
    assert SageMakerBackend().get_log_events("job") == []


def test_log_events_of_a_job_without_streams_are_none(moto_aws: pytest.MonkeyPatch) -> None:
    import boto3

    boto3.client("logs").create_log_group(logGroupName=LOG_GROUP)
    assert SageMakerBackend().get_log_events("job") == []


def test_log_events_merge_the_job_streams_by_timestamp(moto_aws: pytest.MonkeyPatch) -> None:
    import boto3

    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    base = (int(time.time()) - 3600) * 1000  # CloudWatch accepts only recent events
    _put(logs, "job/algo-1-1800000000", [(base, "Arguments: train"), (base + 20, "[0]#011train-error:0.1")])
    _put(logs, "job/algo-2-1800000000", [(base + 10, "algo-2 up"), (base + 20, "[0]#011train-error:0.2")])
    _put(logs, "job-other/algo-1-1800000000", [(base + 5, "not this job")])

    events = SageMakerBackend().get_log_events("job")
    assert [(e["logStreamName"], e["timestamp"], e["message"]) for e in events] == [
        ("job/algo-1-1800000000", base, "Arguments: train"),
        ("job/algo-2-1800000000", base + 10, "algo-2 up"),
        ("job/algo-1-1800000000", base + 20, "[0]#011train-error:0.1"),
        ("job/algo-2-1800000000", base + 20, "[0]#011train-error:0.2"),
    ]
    assert all(isinstance(e["ingestionTime"], int) for e in events)

    later = SageMakerBackend().get_log_events("job", start_time=base + 10)  # inclusive
    assert [e["message"] for e in later] == ["algo-2 up", "[0]#011train-error:0.1", "[0]#011train-error:0.2"]


def test_log_events_page_until_an_empty_page(moto_aws: pytest.MonkeyPatch) -> None:
    import boto3

    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    base = (int(time.time()) - 3600) * 1000  # CloudWatch accepts only recent events
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="big/algo-1-1")
    for chunk in range(2):  # moto returns at most 10000 events a page
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName="big/algo-1-1",
            logEvents=[{"timestamp": base + chunk * 6000 + i, "message": f"line {i}"} for i in range(6000)],
        )
    events = SageMakerBackend().get_log_events("big")
    assert len(events) == 12000
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_default_bucket_is_created_once(moto_aws: pytest.MonkeyPatch) -> None:
    import boto3

    backend = SageMakerBackend()
    assert backend.account_id() == "123456789012"
    assert backend.default_bucket() == "sagemaker-us-east-1-123456789012"
    names = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    assert names == ["sagemaker-us-east-1-123456789012"]
    assert SageMakerBackend().default_bucket() == "sagemaker-us-east-1-123456789012"  # exists: reused


def test_default_bucket_outside_us_east_1_names_its_region(moto_aws: pytest.MonkeyPatch) -> None:
    import boto3

    moto_aws.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert SageMakerBackend().default_bucket() == "sagemaker-eu-west-1-123456789012"
    location = boto3.client("s3").get_bucket_location(Bucket="sagemaker-eu-west-1-123456789012")
    assert location["LocationConstraint"] == "eu-west-1"


def test_upload_file_and_folder_as_the_sdk_does(moto_aws: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data")
    train = tmp_path / "train.csv"
    train.write_text("1,2,3\n")
    folder = tmp_path / "validation"
    (folder / "part").mkdir(parents=True)
    (folder / "a.csv").write_text("0,1\n")
    (folder / "part" / "b.csv").write_text("1,0\n")

    backend = SageMakerBackend()
    assert backend.upload_input(train, "s3://data/demo/train") == "s3://data/demo/train/train.csv"
    assert backend.upload_input(folder, "s3://data/demo/validation/") == "s3://data/demo/validation"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="data")["Contents"])
    assert keys == ["demo/train/train.csv", "demo/validation/a.csv", "demo/validation/part/b.csv"]
    assert s3.get_object(Bucket="data", Key="demo/train/train.csv")["Body"].read() == b"1,2,3\n"

    with pytest.raises(errors.NoSuchBucket):
        backend.upload_input(train, "s3://no-such-bucket/x")
    assert backend.upload_input(train, "s3://data") == "s3://data/train.csv"
    assert s3.get_object(Bucket="data", Key="train.csv")["Body"].read() == b"1,2,3\n"
    with pytest.raises(BackendError) as info:
        backend.upload_input(tmp_path / "missing.csv", "s3://data/x")
    assert str(info.value) == f"Cannot upload {tmp_path / 'missing.csv'}: no such file or folder."
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendError) as info:
        backend.upload_input(tmp_path / "empty", "s3://data/x")
    assert str(info.value) == f"Nothing to upload: folder {tmp_path / 'empty'} has no files."


def test_fetch_artifact_downloads_model_tar_gz(moto_aws: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import boto3

    model = tmp_path / "src" / "xgboost-model"
    model.parent.mkdir()
    model.write_bytes(b"model")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model, arcname="xgboost-model")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="out")
    s3.upload_file(str(archive), "out", "prefix/job/output/model.tar.gz")

    dest = tmp_path / "download" / "job"
    path = SageMakerBackend().fetch_artifact("s3://out/prefix/job/output/model.tar.gz", dest)
    assert path == dest / "model.tar.gz"
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["xgboost-model"]

    with pytest.raises(errors.NoSuchKey) as info:
        SageMakerBackend().fetch_artifact("s3://out/prefix/missing/output/model.tar.gz", dest)
    assert str(info.value) == (
        "NoSuchKey: The specified key does not exist: s3://out/prefix/missing/output/model.tar.gz"
    )


def test_cli_picks_the_sdk_image_uri_for_the_sagemaker_backend_in_any_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`sagelocal train --backend sagemaker --xgboost-version V` must name the real registry of the region, which
    only the SDK's image_uris knows for every region (sagelocal's own table covers the tutorial's four)."""
    from sagelocal.backends.sagemaker import SageMakerBackend

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from sagelocal.cli.train import choose_image

    backend = SageMakerBackend(region="ap-southeast-2")
    assert (
        choose_image(backend, None, "3.0-5")
        == "783357654285.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-xgboost:3.0-5"
    )
    assert choose_image(backend, "my/own:image", None) == "my/own:image"
