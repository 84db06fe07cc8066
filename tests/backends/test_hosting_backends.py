"""The hosting members of the Backend protocol behave alike on ``local`` (the emulator in this process) and
``sagemaker`` (boto3's sagemaker and sagemaker-runtime clients, here aimed at ``sagelocal serve``); on
``docker`` an endpoint answers with the same bytes as on ``local``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.hosting import (
    ACCEPTED,
    CSV,
    assert_scores,
    config_request,
    expected_scores,
    kill_leftover_endpoints,
    model_request,
    model_tarball,
)
from support.server_fixture import Server

from sagelocal.aws import errors
from sagelocal.backends import Backend, BackendError
from sagelocal.backends.local import LocalBackend
from sagelocal.backends.sagemaker import SageMakerBackend


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return model_tarball(tmp_path_factory.mktemp("backend-model"), "3.0-5")


@pytest.fixture
def aws_env(sagelocal_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """This process's environment as a notebook pointed at the server sees it."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "SAGEMAKER_")) or name == "SAGELOCAL_ROLE_ARN":
            monkeypatch.delenv(name)
    for name, value in sagelocal_server.env.items():
        monkeypatch.setenv(name, value)
    yield sagelocal_server
    kill_leftover_endpoints(sagelocal_server.home)


@pytest.fixture(params=["local", "sagemaker"])
def backend(request: pytest.FixtureRequest, home: Path) -> Backend:
    if request.param == "local":
        return LocalBackend(home=home)
    request.getfixturevalue("aws_env")
    return SageMakerBackend()


def test_hosting_members_behave_alike(backend: Backend, tarball: tuple[Path, Path], tmp_path: Path) -> None:
    name = f"backend-{backend.name}"
    backend.make_bucket("hosting-backend")
    url = backend.upload_input(tarball[0], f"s3://hosting-backend/{name}")
    assert url == f"s3://hosting-backend/{name}/model.tar.gz"
    arn = "arn:aws:sagemaker:us-east-1:123456789012"
    assert backend.create_model(model_request(name, "3.0-5", url)) == {"ModelArn": f"{arn}:model/{name}"}
    assert backend.describe_model(name)["PrimaryContainer"]["ModelDataUrl"] == url
    assert [m["ModelName"] for m in backend.list_models(NameContains=name)["Models"]] == [name]
    assert backend.create_endpoint_config(config_request(name, name)) == {
        "EndpointConfigArn": f"{arn}:endpoint-config/{name}"
    }
    assert backend.describe_endpoint_config(name)["ProductionVariants"][0]["ModelName"] == name
    assert len(backend.list_endpoint_configs(NameContains=name)["EndpointConfigs"]) == 1
    assert backend.create_endpoint({"EndpointName": name, "EndpointConfigName": name}) == {
        "EndpointArn": f"{arn}:endpoint/{name}"
    }
    doc = backend.wait_endpoint(name, poll_interval=0.1, timeout=180)
    assert doc["EndpointStatus"] == "InService", doc
    assert [e["EndpointStatus"] for e in backend.list_endpoints(NameContains=name)["Endpoints"]] == [
        "InService"
    ]

    answer = backend.invoke_endpoint(name, CSV, "text/csv")
    assert answer["ContentType"] == "text/csv; charset=utf-8"
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert_scores(answer["Body"], "3.0-5", expected_scores(tarball[1]))
    as_json = backend.invoke_endpoint(name, CSV, "text/csv", accept="application/json")
    assert as_json["Body"].startswith(b'{"predictions": [{"score": ')

    with pytest.raises(errors.ModelError) as model_error:
        backend.invoke_endpoint(name, b"{}", "application/json")
    assert model_error.value.original_status == 415
    assert model_error.value.original_message == f"application/json {ACCEPTED}"
    assert model_error.value.log_stream_arn.endswith(f":log-group:/aws/sagemaker/Endpoints/{name}")
    assert model_error.value.message.startswith('Received client error (415) from primary with message "')
    with pytest.raises(errors.RuntimeValidationError) as missing:
        backend.invoke_endpoint("no-such-endpoint", CSV, "text/csv")
    assert missing.value.message == "Endpoint no-such-endpoint of account 123456789012 not found."
    with pytest.raises(errors.ValidationException) as unknown:
        backend.describe_endpoint("no-such-endpoint")
    assert unknown.value.message == f'Could not find endpoint "{arn}:endpoint/no-such-endpoint".'

    backend.delete_endpoint(name)
    assert backend.wait_endpoint(name, poll_interval=0.1, timeout=60) == {}
    with pytest.raises(errors.ValidationException):
        backend.describe_endpoint(name)
    backend.delete_endpoint_config(name)
    backend.delete_model(name)
    with pytest.raises(errors.ValidationException) as gone:
        backend.describe_model(name)
    assert gone.value.message == f'Could not find model "{arn}:model/{name}".'


def test_wait_endpoint_times_out_with_one_line(home: Path) -> None:
    backend = LocalBackend(home=home)
    backend.describe_endpoint = lambda name: {  # type: ignore[method-assign]
        "EndpointName": name,
        "EndpointStatus": "Creating",
    }
    with pytest.raises(BackendError) as info:
        backend.wait_endpoint("slow", poll_interval=0.01, timeout=0.05)
    assert str(info.value) == "Timed out after 0.05 s waiting for endpoint slow; it is still Creating."


def test_wait_endpoint_returns_nothing_for_an_endpoint_that_is_gone(home: Path) -> None:
    assert LocalBackend(home=home).wait_endpoint("never", poll_interval=0.01, timeout=1) == {}


@pytest.mark.docker
def test_docker_endpoint_answers_as_the_local_one(
    own_images: dict[str, str], home: Path, tarball: tuple[Path, Path]
) -> None:
    from sagelocal.backends.docker import DockerBackend

    answers: dict[str, list[Any]] = {}
    for backend in (LocalBackend(home=home), DockerBackend(home=home)):
        name = f"equal-{backend.name}"
        url = backend.upload_input(tarball[0], f"s3://equal/{name}")
        backend.create_model(model_request(name, "3.0-5", url))
        backend.create_endpoint_config(config_request(name, name))
        backend.create_endpoint({"EndpointName": name, "EndpointConfigName": name})
        assert backend.wait_endpoint(name, poll_interval=0.2, timeout=600)["EndpointStatus"] == "InService"
        results: list[Any] = []
        for body, content_type, accept in (
            (CSV, "text/csv", None),
            (CSV, "text/csv", "application/json"),
            (b"0.5", "text/csv", None),
            (b"1:0.5 2:0.25", "text/libsvm", None),
            (b"", "text/csv", None),  # the container's 204, passed on as an empty 200
        ):
            answer = backend.invoke_endpoint(name, body, content_type, accept)
            results.append((answer["Body"], answer["ContentType"]))
        for body, content_type in ((b"{}", "application/json"), (b"a,b,c", "text/csv")):
            with pytest.raises(errors.ModelError) as info:
                backend.invoke_endpoint(name, body, content_type)
            results.append((info.value.original_status, info.value.original_message))
        # More features than the model: the booster's 400, whose text carries a time and a native stack trace
        # (addresses, library paths) that differ from one process to the next, so only its gist is compared.
        with pytest.raises(errors.ModelError) as info:
            backend.invoke_endpoint(name, b"0.1,0.2,0.3,0.4", "text/csv")
        assert info.value.original_status == 400
        assert (
            "Number of columns does not match number of features in booster." in info.value.original_message
        )
        answers[backend.name] = results
        backend.delete_endpoint(name)
        assert backend.wait_endpoint(name, poll_interval=0.2, timeout=120) == {}
    assert answers["docker"] == answers["local"]
    assert_scores(answers["docker"][0][0], "3.0-5", expected_scores(tarball[1]))
