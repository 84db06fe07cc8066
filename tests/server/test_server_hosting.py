"""Hosting through ``sagelocal serve`` with real boto3: the SageMaker operations for models, endpoint configs and
endpoints (JSON 1.1) and sagemaker-runtime InvokeEndpoint (REST-JSON), with SageMaker's error codes and texts
(reference inference §5, §6, §11)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support.hosting import (
    ACCEPTED,
    CSV,
    assert_scores,
    config_request,
    expected_scores,
    instance_rows,
    kill_leftover_endpoints,
    model_request,
    model_tarball,
    port_free,
    wait_gone,
    wait_settled,
)
from support.server_fixture import Server

BUCKET = "hosting-wire"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
LOGS = "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group="


def unique(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", autouse=True)
def no_leftovers(sagelocal_server: Server) -> Iterator[None]:
    """Endpoints outlive the server that made them: a failed test must not leave any running."""
    yield
    kill_leftover_endpoints(sagelocal_server.home)


@pytest.fixture(scope="module")
def model(sagelocal_server: Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A 3.0-5 model.tar.gz in the server's S3: (its URI, the model folder it came from)."""
    tarball, model_dir = model_tarball(tmp_path_factory.mktemp("wire-model"), "3.0-5")
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(tarball), BUCKET, "model/model.tar.gz")
    return f"s3://{BUCKET}/model/model.tar.gz", model_dir


@pytest.fixture(scope="module")
def sm(sagelocal_server: Server) -> Any:
    return sagelocal_server.client("sagemaker")


@pytest.fixture(scope="module")
def runtime(sagelocal_server: Server) -> Any:
    return sagelocal_server.client("sagemaker-runtime", config=Config(max_pool_connections=32))


@pytest.fixture(scope="module")
def endpoint(sm: Any, model: tuple[str, Path], sagelocal_server: Server) -> Iterator[str]:
    """One InService endpoint (two instances) shared by the invocation tests."""
    name = unique("wire")
    sm.create_model(**model_request(name, "3.0-5", model[0]))
    sm.create_endpoint_config(**config_request(name, name, count=2))
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    doc = wait_settled(lambda n: sm.describe_endpoint(EndpointName=n), name)
    assert doc["EndpointStatus"] == "InService", doc
    yield name
    sm.delete_endpoint(EndpointName=name)
    wait_gone(lambda n: sm.describe_endpoint(EndpointName=n), name)


def error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def test_models_and_endpoint_configs(sm: Any, model: tuple[str, Path]) -> None:
    name = unique("Model")
    assert (
        sm.create_model(**model_request(name, "3.0-5", model[0]))["ModelArn"] == f"{ARN}:model/{name.lower()}"
    )
    doc = sm.describe_model(ModelName=name)
    assert doc["PrimaryContainer"] == {
        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
        "Mode": "SingleModel",
        "ModelDataUrl": model[0],
        "Environment": {},
    }
    assert doc["ExecutionRoleArn"] == "arn:aws:iam::123456789012:role/SageMakerRole"
    assert isinstance(doc["CreationTime"].timestamp(), float)
    with pytest.raises(ClientError) as info:
        sm.create_model(**model_request(name, "3.0-5", model[0]))
    assert error(info) == (
        "ValidationException",
        f'Cannot create already existing model "{ARN}:model/{name.lower()}".',
    )
    with pytest.raises(ClientError) as info:
        sm.create_model(**model_request(unique("m"), "3.0-5", f"s3://{BUCKET}/nothing/model.tar.gz"))
    assert error(info) == (
        "ValidationException",
        f"Could not find model data at s3://{BUCKET}/nothing/model.tar.gz.",
    )

    config = unique("Config")
    arn = sm.create_endpoint_config(**config_request(config, name))["EndpointConfigArn"]
    assert arn == f"{ARN}:endpoint-config/{config.lower()}"
    described = sm.describe_endpoint_config(EndpointConfigName=config)
    assert described["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": name,
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m4.xlarge",
            "InitialVariantWeight": 1.0,
        }
    ]
    with pytest.raises(ClientError) as info:
        sm.create_endpoint_config(**config_request(unique("c"), "no-such-model"))
    assert error(info) == ("ValidationException", f'Could not find model "{ARN}:model/no-such-model".')
    with pytest.raises(ClientError) as info:
        sm.create_endpoint_config(**config_request(unique("c"), name, instance_type="local"))
    code, message = error(info)
    assert code == "ValidationException"
    assert message.startswith(
        "1 validation error detected: Value 'local' at 'productionVariants.1.member.instanceType' failed to "
        "satisfy constraint: Member must satisfy enum value set: ["
    )

    models = sm.list_models(NameContains=name[-8:])["Models"]
    assert [m["ModelName"] for m in models] == [name]
    configs = sm.list_endpoint_configs(NameContains=config[-8:], SortBy="Name")["EndpointConfigs"]
    assert [(c["EndpointConfigName"], c["EndpointConfigArn"]) for c in configs] == [(config, arn)]

    sm.delete_endpoint_config(EndpointConfigName=config)
    sm.delete_model(ModelName=name)
    with pytest.raises(ClientError) as info:
        sm.describe_model(ModelName=name)
    assert error(info) == ("ValidationException", f'Could not find model "{ARN}:model/{name.lower()}".')
    with pytest.raises(ClientError) as info:
        sm.describe_endpoint_config(EndpointConfigName=config)
    assert error(info) == (
        "ValidationException",
        f'Could not find endpoint configuration "{ARN}:endpoint-config/{config.lower()}".',
    )
    with pytest.raises(ClientError) as info:
        sm.create_endpoint(EndpointName=unique("e"), EndpointConfigName=config)
    assert (
        error(info)[1] == f'Could not find endpoint configuration "{ARN}:endpoint-config/{config.lower()}".'
    )


def test_invoke(endpoint: str, runtime: Any, model: tuple[str, Path]) -> None:
    response = runtime.invoke_endpoint(EndpointName=endpoint, Body=CSV, ContentType="text/csv")
    assert response["ContentType"] == "text/csv; charset=utf-8"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert_scores(response["Body"].read(), "3.0-5", expected_scores(model[1]))
    as_json = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=CSV, ContentType="text/csv", Accept="application/json"
    )
    assert as_json["ContentType"] == "application/json"
    assert as_json["Body"].read().startswith(b'{"predictions": [{"score": ')
    # An empty body: the container answers 204, passed on as an empty 200.
    empty = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"", ContentType="text/csv")
    assert empty["Body"].read() == b""


@pytest.mark.parametrize(
    ("body", "content_type", "status", "original"),
    [
        (b'{"instances": [1, 2, 3]}', "application/json", 415, f"application/json {ACCEPTED}"),
        (
            b"age,job,balance\n1,2,3",
            "text/csv",
            415,
            "Loading csv data failed with Exception, please ensure data is in csv format:\n <class 'ValueError'>\n"
            " could not convert string to float: np.str_('age')",
        ),
    ],
)
def test_container_errors_are_model_errors(
    endpoint: str, runtime: Any, body: bytes, content_type: str, status: int, original: str
) -> None:
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type)
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == status
    assert response["OriginalMessage"] == original
    assert response["LogStreamArn"] == (
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/{endpoint}"
    )
    assert error(info) == (
        "ModelError",
        f'Received client error ({status}) from primary with message "{original}". See '
        f"{LOGS}/aws/sagemaker/Endpoints/{endpoint} in account 123456789012 for more information.",
    )


def test_too_many_features_is_the_boosters_400(endpoint: str, runtime: Any) -> None:
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"0.1,0.2,0.3,0.4", ContentType="text/csv")
    response = info.value.response
    assert response["OriginalStatusCode"] == 400
    assert response["OriginalMessage"].startswith("Unable to evaluate payload provided: [")
    assert "Number of columns does not match number of features in booster." in response["OriginalMessage"]
    assert error(info)[1].startswith(
        'Received client error (400) from primary with message "Unable to evaluate'
    )


def test_runtime_refusals(endpoint: str, runtime: Any) -> None:
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=CSV, ContentType="text/csv")
    assert error(info) == ("ValidationError", "Endpoint no-such-endpoint of account 123456789012 not found.")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1" * (6291456 + 1), ContentType="text/csv")
    assert error(info) == ("413", "HTTP content length exceeded 6291456 bytes.")
    # exactly the limit reaches the container
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"x" * 6291456, ContentType="text/csv")
    assert info.value.response["Error"]["Code"] == "ModelError"


def test_100_concurrent_invocations(endpoint: str, runtime: Any, model: tuple[str, Path]) -> None:
    expected = expected_scores(model[1])

    def call(_: int) -> bytes:
        return bytes(
            runtime.invoke_endpoint(EndpointName=endpoint, Body=CSV, ContentType="text/csv")["Body"].read()
        )

    with ThreadPoolExecutor(max_workers=25) as pool:
        bodies = list(pool.map(call, range(100)))
    assert len(bodies) == 100
    for body in bodies:
        assert_scores(body, "3.0-5", expected)
    assert len(set(bodies)) == 1


def test_endpoint_lifecycle(sm: Any, runtime: Any, model: tuple[str, Path], sagelocal_server: Server) -> None:
    name = unique("Life")
    sm.create_model(**model_request(name, "3.0-5", model[0]))
    sm.create_endpoint_config(**config_request(name, name))
    arn = sm.create_endpoint(EndpointName=name, EndpointConfigName=name)["EndpointArn"]
    assert arn == f"{ARN}:endpoint/{name.lower()}"
    first = sm.describe_endpoint(EndpointName=name)
    assert first["EndpointStatus"] == "Creating" and "ProductionVariants" not in first
    with pytest.raises(ClientError) as info:
        sm.create_endpoint(EndpointName=name.upper(), EndpointConfigName=name)
    assert error(info) == (
        "ValidationException",
        f'Cannot create already existing endpoint "{ARN}:endpoint/{name.lower()}".',
    )
    doc = wait_settled(lambda n: sm.describe_endpoint(EndpointName=n), name)
    assert doc["EndpointStatus"] == "InService"
    assert doc["LastModifiedTime"] >= doc["CreationTime"]
    listed = sm.list_endpoints(NameContains=name[-8:], StatusEquals="InService")["Endpoints"]
    assert [(e["EndpointName"], e["EndpointArn"], e["EndpointStatus"]) for e in listed] == [
        (name, arn, "InService")
    ]
    ports = [port for _, port, _ in instance_rows(sagelocal_server.home, name)]
    assert ports and not any(port_free(p) for p in ports)

    sm.delete_endpoint(EndpointName=name)
    wait_gone(lambda n: sm.describe_endpoint(EndpointName=n), name)
    with pytest.raises(ClientError) as info:
        sm.describe_endpoint(EndpointName=name)
    assert error(info) == ("ValidationException", f'Could not find endpoint "{ARN}:endpoint/{name.lower()}".')
    with pytest.raises(ClientError) as info:
        sm.delete_endpoint(EndpointName=name)
    assert error(info)[1] == f'Could not find endpoint "{ARN}:endpoint/{name.lower()}".'
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName=name, Body=CSV, ContentType="text/csv")
    assert error(info)[0] == "ValidationError"
    deadline = time.monotonic() + 10
    while not all(port_free(p) for p in ports):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # the model and the config outlive the endpoint
    assert sm.describe_model(ModelName=name)["ModelName"] == name
    assert sm.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigName"] == name


def test_tags_of_models_configs_and_endpoints(sm: Any, model: tuple[str, Path]) -> None:
    """Tags given to CreateModel / CreateEndpointConfig / CreateEndpoint are the resources' tags (ListTags,
    AddTags, DeleteTags on their ARNs), and go with the resource when it is deleted."""
    name = unique("Tagged")
    tags = [{"Key": "project", "Value": "bank"}, {"Key": "owner", "Value": "me"}]
    model_arn = sm.create_model(**model_request(name, "3.0-5", model[0]), Tags=tags)["ModelArn"]
    config_arn = sm.create_endpoint_config(**config_request(name, name), Tags=tags[:1])["EndpointConfigArn"]
    endpoint_arn = sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags[1:])[
        "EndpointArn"
    ]
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == tags
    assert sm.list_tags(ResourceArn=config_arn)["Tags"] == tags[:1]
    assert sm.list_tags(ResourceArn=endpoint_arn)["Tags"] == tags[1:]
    assert "Tags" not in sm.describe_model(ModelName=name)

    sm.add_tags(
        ResourceArn=endpoint_arn, Tags=[{"Key": "owner", "Value": "you"}, {"Key": "stage", "Value": "t"}]
    )
    assert sm.list_tags(ResourceArn=endpoint_arn)["Tags"] == [
        {"Key": "owner", "Value": "you"},
        {"Key": "stage", "Value": "t"},
    ]
    sm.delete_tags(ResourceArn=model_arn, TagKeys=["project"])
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == [{"Key": "owner", "Value": "me"}]

    sm.delete_endpoint(EndpointName=name)
    wait_gone(lambda n: sm.describe_endpoint(EndpointName=n), name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)
    for resource in (model_arn, config_arn, endpoint_arn):
        assert sm.list_tags(ResourceArn=resource)["Tags"] == []
    # a new model of the same name starts with its own tags only
    sm.create_model(**model_request(name, "3.0-5", model[0]))
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == []
    sm.delete_model(ModelName=name)
