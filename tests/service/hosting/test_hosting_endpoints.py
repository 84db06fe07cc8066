"""Endpoints as real processes through the Emulator: Creating → InService, predictions equal to the booster's,
output in ``/aws/sagemaker/Endpoints/<name>``, the model's Environment applied, UpdateEndpoint, DeleteEndpoint
freeing everything, a missing / corrupt / unloadable model failing the endpoint with SageMaker's reasons and
nothing left running, an instance killed with SIGKILL replaced, and a restart (a new Emulator over the same
state) finding live endpoints and failing those whose supervisor died."""

from __future__ import annotations

import io
import os
import signal
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hosting import (
    CSV,
    ROWS,
    assert_scores,
    config_request,
    expected_scores,
    instance_rows,
    model_request,
    model_tarball,
    port_free,
    serve_pids,
    wait_gone,
    wait_settled,
)

from sagelocal.aws.errors import ValidationException
from sagelocal.service.hosting.service import Hosting
from sagelocal.service.service import Emulator

BUCKET = "models"


@pytest.fixture(scope="module")
def tarballs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """A model.tar.gz (and its model folder) per image version, trained once."""
    return {v: model_tarball(tmp_path_factory.mktemp(f"model-{v}"), v) for v in ("1", "3.0-5")}


@pytest.fixture
def hosting(home: Path) -> Iterator[Hosting]:
    emulator = Emulator(home=home)
    emulator.objects.create_bucket(BUCKET)
    yield emulator.hosting


def put(hosting: Hosting, key: str, source: Path | bytes) -> str:
    if isinstance(source, bytes):
        hosting.objects.put_object(BUCKET, key, source)
    else:
        hosting.objects.put_object(BUCKET, key, source)
    return f"s3://{BUCKET}/{key}"


def deploy(hosting: Hosting, name: str, version: str, url: str, count: int = 1, **container: object) -> dict:
    hosting.create_model(model_request(name, version, url, **container))
    hosting.create_endpoint_config(config_request(name, name, count))
    hosting.create_endpoint({"EndpointName": name, "EndpointConfigName": name})
    return wait_settled(hosting.describe_endpoint, name)


@pytest.mark.parametrize("version", ["1", "3.0-5"])
def test_deploy_predict_and_delete(
    hosting: Hosting, home: Path, tarballs: dict[str, tuple[Path, Path]], version: str
) -> None:
    tarball, model_dir = tarballs[version]
    url = put(hosting, f"{version}/model.tar.gz", tarball)
    hosting.create_model(model_request("ep", version, url))
    hosting.create_endpoint_config(config_request("ep", "ep", count=2))
    assert hosting.create_endpoint({"EndpointName": "ep", "EndpointConfigName": "ep"}) == {
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
    }
    assert hosting.describe_endpoint("ep")["EndpointStatus"] == "Creating"
    doc = wait_settled(hosting.describe_endpoint, "ep")
    assert doc["EndpointStatus"] == "InService", doc
    assert doc["ProductionVariants"][0]["CurrentInstanceCount"] == 2

    answers = [hosting.invoke_endpoint("ep", CSV, "text/csv") for _ in range(4)]
    for answer in answers:
        assert_scores(answer.body, version, expected_scores(model_dir, ROWS))
        assert answer.content_type == "text/csv; charset=utf-8"
        assert answer.invoked_variant == "AllTraffic"

    rows = instance_rows(home, "ep")
    assert len(rows) == 2
    streams = hosting.store.db.conn().execute(
        "SELECT name FROM log_streams WHERE grp = '/aws/sagemaker/Endpoints/ep' ORDER BY name"
    )
    assert sorted(r[0] for r in streams) == sorted(f"AllTraffic/{r[0]}" for r in rows)
    # the health checker's pings and round-robin invocations on both instances: access-log lines reach the
    # log store in batches, so wait for them
    deadline = time.monotonic() + 10
    while True:
        events = hosting.store.db.conn().execute(
            "SELECT stream, message FROM log_events WHERE grp = '/aws/sagemaker/Endpoints/ep'"
        ).fetchall()
        pinged = any('"GET /ping HTTP/1.1" 200 0 "-" "AHC/2.0"' in message for _, message in events)
        answered = {stream for stream, message in events if '"POST /invocations HTTP/1.1" 200' in message}
        if pinged and len(answered) == 2:
            break
        assert time.monotonic() < deadline, events
        time.sleep(0.1)

    hosting.delete_endpoint("ep")
    wait_gone(hosting.describe_endpoint, "ep")
    assert all(port_free(port) for _, port, _ in rows)
    assert serve_pids(home) == []
    assert not (home / "endpoints" / "ep").exists()
    assert hosting.describe_model("ep")["ModelName"] == "ep"  # deleting an endpoint leaves its model


def test_the_models_environment_applies(hosting: Hosting, tarballs: dict[str, tuple[Path, Path]]) -> None:
    tarball, model_dir = tarballs["3.0-5"]
    url = put(hosting, "env/model.tar.gz", tarball)
    doc = deploy(
        hosting, "env", "3.0-5", url, Environment={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json"}
    )
    assert doc["EndpointStatus"] == "InService"
    answer = hosting.invoke_endpoint("env", CSV, "text/csv")
    assert answer.content_type == "application/json"
    import json

    scores = [p["score"] for p in json.loads(answer.body)["predictions"]]
    assert scores == pytest.approx(expected_scores(model_dir), abs=1e-6)
    hosting.delete_endpoint("env")


def test_model_data_missing_or_corrupt(hosting: Hosting, home: Path) -> None:
    with pytest.raises(ValidationException) as info:
        hosting.create_model(model_request("m", "3.0-5", f"s3://{BUCKET}/none/model.tar.gz"))
    assert info.value.message == f"Could not find model data at s3://{BUCKET}/none/model.tar.gz."

    url = put(hosting, "gone/model.tar.gz", b"soon gone")
    hosting.create_model(model_request("gone", "3.0-5", url))
    hosting.objects.delete_object(BUCKET, "gone/model.tar.gz")
    corrupt = put(hosting, "corrupt/model.tar.gz", b"this is not a tarball")
    hosting.create_model(model_request("corrupt", "3.0-5", corrupt))
    for name in ("gone", "corrupt"):
        hosting.create_endpoint_config(config_request(name, name))
        hosting.create_endpoint({"EndpointName": name, "EndpointConfigName": name})
    gone = wait_settled(hosting.describe_endpoint, "gone")
    assert (gone["EndpointStatus"], gone["FailureReason"]) == (
        "Failed",
        ' Failed to download model data for container "container_1" from URL: "s3://models/gone/model.tar.gz". '
        "Please ensure that there is an object located at the URL and that the role passed to CreateModel has "
        "permissions to download the object.",
    )
    assert "ProductionVariants" not in gone
    broken = wait_settled(hosting.describe_endpoint, "corrupt")
    assert (broken["EndpointStatus"], broken["FailureReason"]) == (
        "Failed",
        ' Failed to extract model data archive for container "container_1" from URL '
        '"s3://models/corrupt/model.tar.gz". Please ensure that the object located at the URL is a valid tar.gz '
        "archive.",
    )
    assert instance_rows(home, "gone") == [] and instance_rows(home, "corrupt") == []
    assert serve_pids(home) == []
    with pytest.raises(ValidationException) as update:
        hosting.update_endpoint({"EndpointName": "gone", "EndpointConfigName": "gone"})
    assert (
        update.value.message
        == 'Cannot update failed endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/gone".'
    )
    hosting.delete_endpoint("gone")  # a Failed endpoint is deleted at once
    with pytest.raises(ValidationException):
        hosting.describe_endpoint("gone")


def test_a_model_the_image_cannot_load_fails_the_ping_health_check(hosting: Hosting, home: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"not a booster"
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    url = put(hosting, "bad/model.tar.gz", buffer.getvalue())
    doc = deploy(hosting, "bad", "3.0-5", url)
    assert (doc["EndpointStatus"], doc["FailureReason"]) == (
        "Failed",
        "The primary container for production variant AllTraffic did not pass the ping health check. "
        "Please check CloudWatch logs for this endpoint.",
    )
    assert serve_pids(home) == []
    messages = [
        r[0]
        for r in hosting.store.db.conn().execute(
            "SELECT message FROM log_events WHERE grp = '/aws/sagemaker/Endpoints/bad'"
        )
    ]
    assert any("Unable to load model" in m or "cannot be loaded" in m for m in messages), messages


def test_a_killed_instance_is_replaced(
    hosting: Hosting, home: Path, tarballs: dict[str, tuple[Path, Path]]
) -> None:
    tarball, model_dir = tarballs["3.0-5"]
    url = put(hosting, "kill/model.tar.gz", tarball)
    assert deploy(hosting, "kill", "3.0-5", url)["EndpointStatus"] == "InService"
    [(old_id, old_port, _)] = instance_rows(home, "kill")
    [pid] = serve_pids(home)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while True:
        rows = instance_rows(home, "kill")
        if rows and rows[0][0] != old_id:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert hosting.describe_endpoint("kill")["EndpointStatus"] == "InService"
    assert_scores(hosting.invoke_endpoint("kill", CSV, "text/csv").body, "3.0-5", expected_scores(model_dir))
    streams = [
        r[0]
        for r in hosting.store.db.conn().execute(
            "SELECT name FROM log_streams WHERE grp = '/aws/sagemaker/Endpoints/kill' ORDER BY creation_time"
        )
    ]
    assert streams == [f"AllTraffic/{old_id}", f"AllTraffic/{rows[0][0]}"]
    hosting.delete_endpoint("kill")
    wait_gone(hosting.describe_endpoint, "kill")
    assert port_free(old_port) and port_free(rows[0][1])


def test_a_restart_finds_live_endpoints_and_fails_dead_ones(
    hosting: Hosting, home: Path, tarballs: dict[str, tuple[Path, Path]]
) -> None:
    tarball, model_dir = tarballs["3.0-5"]
    url = put(hosting, "restart/model.tar.gz", tarball)
    assert deploy(hosting, "live", "3.0-5", url)["EndpointStatus"] == "InService"
    assert deploy(hosting, "dies", "3.0-5", url)["EndpointStatus"] == "InService"

    restarted = Emulator(home=home).hosting  # another process's view, e.g. `sagelocal serve` started again
    assert_scores(
        restarted.invoke_endpoint("live", CSV, "text/csv").body, "3.0-5", expected_scores(model_dir)
    )

    [deployment] = restarted.store.deployments("dies")
    [(_, port, _)] = instance_rows(home, "dies")
    assert deployment.supervisor_pid is not None
    os.kill(deployment.supervisor_pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not port_free(port):  # its serve process dies with it
        assert time.monotonic() < deadline
        time.sleep(0.1)
    doc = restarted.describe_endpoint("dies")
    assert (doc["EndpointStatus"], doc["FailureReason"]) == (
        "Failed",
        f"sagelocal: the endpoint's worker process (pid {deployment.supervisor_pid}) exited unexpectedly; its "
        "instances are gone.",
    )
    assert instance_rows(home, "dies") == []
    assert {e["EndpointName"]: e["EndpointStatus"] for e in restarted.list_endpoints()["Endpoints"]} == {
        "live": "InService",
        "dies": "Failed",
    }
    restarted.delete_endpoint("live")
    restarted.delete_endpoint("dies")
    wait_gone(restarted.describe_endpoint, "live")
    assert serve_pids(home) == []


def test_update_endpoint_moves_traffic_to_the_new_config(
    hosting: Hosting, home: Path, tarballs: dict[str, tuple[Path, Path]]
) -> None:
    old_url = put(hosting, "v1/model.tar.gz", tarballs["1"][0])
    new_url = put(hosting, "v3/model.tar.gz", tarballs["3.0-5"][0])
    assert deploy(hosting, "upd", "1", old_url)["EndpointStatus"] == "InService"
    [(_, old_port, _)] = instance_rows(home, "upd")
    hosting.create_model(model_request("upd-2", "3.0-5", new_url))
    hosting.create_endpoint_config(config_request("upd-2", "upd-2", count=2))
    hosting.update_endpoint({"EndpointName": "upd", "EndpointConfigName": "upd-2"})
    assert hosting.describe_endpoint("upd")["EndpointStatus"] == "Updating"
    # traffic still goes to the old instances while the new ones start
    assert_scores(
        hosting.invoke_endpoint("upd", CSV, "text/csv").body, "1", expected_scores(tarballs["1"][1])
    )
    doc = wait_settled(hosting.describe_endpoint, "upd")
    assert (doc["EndpointStatus"], doc["EndpointConfigName"]) == ("InService", "upd-2")
    assert doc["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert_scores(
        hosting.invoke_endpoint("upd", CSV, "text/csv").body, "3.0-5", expected_scores(tarballs["3.0-5"][1])
    )
    deadline = time.monotonic() + 30
    while not port_free(old_port) or len(instance_rows(home, "upd")) != 2:  # the old deployment winds down
        assert time.monotonic() < deadline
        time.sleep(0.1)
    hosting.delete_endpoint("upd")
    wait_gone(hosting.describe_endpoint, "upd")
    assert serve_pids(home) == []
