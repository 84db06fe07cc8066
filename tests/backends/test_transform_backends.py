"""The transform members of the Backend protocol behave alike on ``local`` (the emulator in this process) and
``sagemaker`` (boto3's sagemaker and logs clients, here aimed at ``sagelocal serve``): create, describe, list,
the log events of both streams, a failure's reason, and a stop."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.hosting import ROWS, expected_scores, model_request, model_tarball
from support.server_fixture import Server
from support.transform import kill_leftover_transforms, transform_request

from sagelocal.aws import errors
from sagelocal.backends import Backend
from sagelocal.backends.local import LocalBackend
from sagelocal.backends.sagemaker import SageMakerBackend

BUCKET = "transform-backend"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return model_tarball(tmp_path_factory.mktemp("transform-model"), "3.0-5")


@pytest.fixture
def aws_env(sagelocal_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """This process's environment as a notebook pointed at the server sees it."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "SAGEMAKER_")) or name == "SAGELOCAL_ROLE_ARN":
            monkeypatch.delenv(name)
    for name, value in sagelocal_server.env.items():
        monkeypatch.setenv(name, value)
    yield sagelocal_server
    kill_leftover_transforms(sagelocal_server.home)


@pytest.fixture(params=["local", "sagemaker"])
def backend(request: pytest.FixtureRequest, home: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield LocalBackend(home=home)
        kill_leftover_transforms(home)
        return
    request.getfixturevalue("aws_env")
    yield SageMakerBackend()


@pytest.mark.timeout(600)
def test_transform_members_behave_alike(backend: Backend, tarball: tuple[Path, Path], tmp_path: Path) -> None:
    name = f"transform-{backend.name}"
    backend.make_bucket(BUCKET)
    url = backend.upload_input(tarball[0], f"s3://{BUCKET}/{name}")
    backend.create_model(model_request(name, "3.0-5", url))
    data = tmp_path / "in"
    data.mkdir()
    (data / "rows.csv").write_text("\n".join(",".join(map(str, r)) for r in ROWS) + "\n")
    (data / "many.csv").write_text("0.5,0.5,0.5\n" * 50_000)
    backend.upload_input(data, f"s3://{BUCKET}/{name}/in")

    request = transform_request(name, name, f"s3://{BUCKET}/{name}/in/rows.csv", f"s3://{BUCKET}/{name}/out")
    assert backend.create_transform_job(request) == {"TransformJobArn": f"{ARN}:transform-job/{name}"}
    doc = backend.wait_transform(name, poll_interval=0.1, timeout=240)
    assert doc["TransformJobStatus"] == "Completed", doc
    assert doc["TransformOutput"] == {"S3OutputPath": f"s3://{BUCKET}/{name}/out"}
    out = tmp_path / "rows.csv.out"
    backend.get_object(BUCKET, f"{name}/out/rows.csv.out", out)
    assert np.allclose(
        [float(v) for v in out.read_text().splitlines()], expected_scores(tarball[1]), atol=1e-6
    )
    events = backend.transform_log_events(name)
    streams = sorted({e["logStreamName"] for e in events})
    assert len(streams) == 2 and streams[1] == streams[0] + "/data-log"
    assert any(e["message"].endswith("BatchStrategy=MULTI_RECORD") for e in events)
    summaries = backend.list_transform_jobs(NameContains=name)["TransformJobSummaries"]
    assert [(s["TransformJobName"], s["TransformJobStatus"]) for s in summaries] == [(name, "Completed")]

    failing = {**request, "TransformJobName": f"{name}-json"}
    failing["TransformInput"] = {**request["TransformInput"], "ContentType": "application/json"}
    backend.create_transform_job(failing)
    failed = backend.wait_transform(f"{name}-json", poll_interval=0.1, timeout=240)
    assert failed["TransformJobStatus"] == "Failed"
    assert failed["FailureReason"] == "ClientError: See job logs for more information"
    assert (
        backend.list_transform_jobs(StatusEquals="Failed", NameContains=name)["TransformJobSummaries"][0][
            "FailureReason"
        ]
        == "ClientError: See job logs for more information"
    )

    slow = {**request, "TransformJobName": f"{name}-stop", "BatchStrategy": "SingleRecord"}
    slow["TransformInput"] = {**request["TransformInput"]}
    slow["TransformInput"]["DataSource"] = {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/in/many.csv"}
    }
    backend.create_transform_job(slow)
    deadline = time.monotonic() + 120
    while not any("POST /invocations" in e["message"] for e in backend.transform_log_events(f"{name}-stop")):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    backend.stop_transform_job(f"{name}-stop")
    stopped = backend.wait_transform(f"{name}-stop", poll_interval=0.1, timeout=60)
    assert stopped["TransformJobStatus"] == "Stopped"

    with pytest.raises(errors.ValidationException) as missing:
        backend.describe_transform_job("no-such-transform")
    assert missing.value.message == 'Could not find requested job with name "no-such-transform"'
    with pytest.raises(errors.ValidationException) as no_model:
        backend.create_transform_job({**request, "TransformJobName": "x", "ModelName": "no-such-model"})
    assert no_model.value.message == f'Could not find model "{ARN}:model/no-such-model".'


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_docker_transform_writes_what_the_local_one_writes(
    own_images: dict[str, str], home: Path, tarball: tuple[Path, Path], tmp_path: Path
) -> None:
    """The records go to ``serve`` in a container; the outputs are byte for byte the local backend's. A docker
    job whose supervisor is killed with SIGKILL ends Failed and its container is removed."""
    import signal

    import docker
    from sagelocal.backends.docker import DockerBackend

    data = tmp_path / "rows.csv"
    data.write_text("\n".join(",".join(map(str, r)) for r in ROWS * 1000) + "\n")
    outputs: dict[str, bytes] = {}
    try:
        for backend in (LocalBackend(home=home), DockerBackend(home=home)):
            name = f"equal-{backend.name}"
            url = backend.upload_input(tarball[0], f"s3://{BUCKET}/{name}")
            backend.create_model(model_request(name, "3.0-5", url))
            source = backend.upload_input(data, f"s3://{BUCKET}/{name}/in")
            request = transform_request(
                name,
                name,
                source,
                f"s3://{BUCKET}/{name}/out",
                MaxConcurrentTransforms=2,
                AssembleWith="Line",
            )
            backend.create_transform_job(request)
            doc = backend.wait_transform(name, poll_interval=0.2, timeout=600)
            assert doc["TransformJobStatus"] == "Completed", doc
            backend.get_object(BUCKET, f"{name}/out/rows.csv.out", tmp_path / name)
            outputs[backend.name] = (tmp_path / name).read_bytes()
        assert outputs["docker"] == outputs["local"]
        assert len(outputs["docker"].splitlines()) == 3000

        docker_backend = DockerBackend(home=home)
        request = transform_request(
            "killed", "equal-docker", source, f"s3://{BUCKET}/killed", BatchStrategy="SingleRecord"
        )
        docker_backend.create_transform_job(request)
        deadline = time.monotonic() + 300
        while not any(
            "POST /invocations" in e["message"] for e in docker_backend.transform_log_events("killed")
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        record = docker_backend.emulator.transforms.store.require("killed")
        assert record.supervisor_pid is not None
        os.kill(record.supervisor_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (doc := docker_backend.describe_transform_job("killed"))["TransformJobStatus"] == "InProgress":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert doc["TransformJobStatus"] == "Failed"
        assert doc["FailureReason"].startswith(
            "InternalServerError: sagelocal: the job's worker process (pid "
        )
        client = docker.from_env()
        left = client.containers.list(all=True, filters={"label": "org.sagelocal.transform-job=killed"})
        assert [c for c in left if c.labels.get("org.sagelocal.home") == str(home)] == []
    finally:
        kill_leftover_transforms(home)
