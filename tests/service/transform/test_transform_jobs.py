"""Batch transform jobs as real processes through the Emulator (runner ``process``): every object under the
prefix transformed into ``<name>.out`` with one score per record, in order, equal to the booster's; SplitType None;
MaxConcurrentTransforms=2 over several mini-batches; JoinSource=Input with filters; and the failures SageMaker
reports (no objects, a record over MaxPayloadInMB, a model that does not load, a wrong content type, a stop in the
middle, a supervisor killed with SIGKILL), none of which leaves an ``.out`` behind."""

from __future__ import annotations

import io
import os
import signal
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.hosting import ACCEPTED, expected_scores, model_request, model_tarball
from support.transform import data_log, kill_leftover_transforms, transform_request, wait_ended

from sagelocal.aws.errors import ResourceInUse, ValidationException
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.service import Emulator
from sagelocal.service.transform.service import Transforms

BUCKET = "bkt"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
CLIENT_ERROR = "ClientError: See job logs for more information"
ALGORITHM_ERROR = "AlgorithmError: See job logs for more information"


def rows(count: int, seed: int) -> np.ndarray:
    return np.round(np.random.default_rng(seed).uniform(0, 2, size=(count, 3)), 6)


def csv(data: np.ndarray, prefix: list[str] | None = None) -> bytes:
    lines = [
        ",".join(([prefix[i]] if prefix else []) + [repr(float(v)) for v in row])
        for i, row in enumerate(data)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, Path]]:
    """An Emulator with model ``m`` (1.7-1) and model ``broken`` (a model file XGBoost cannot load)."""
    root = tmp_path_factory.mktemp("transform")
    tarball, model_dir = model_tarball(root / "model", "1.7-1")
    home = root / "home"
    emulator = Emulator(home=home)
    emulator.objects.create_bucket(BUCKET)
    emulator.objects.put_object(BUCKET, "model/model.tar.gz", tarball)
    broken = io.BytesIO()
    with tarfile.open(fileobj=broken, mode="w:gz") as archive:
        info = tarfile.TarInfo("xgboost-model")
        info.size = 9
        archive.addfile(info, io.BytesIO(b"not a mod"))
    emulator.objects.put_object(BUCKET, "model/broken.tar.gz", broken.getvalue())
    emulator.hosting.create_model(model_request("m", "1.7-1", f"s3://{BUCKET}/model/model.tar.gz"))
    emulator.hosting.create_model(model_request("broken", "1.7-1", f"s3://{BUCKET}/model/broken.tar.gz"))
    yield emulator, model_dir
    kill_leftover_transforms(home)


def output(objects: ObjectStore, key: str) -> bytes:
    with objects.open_object(BUCKET, key) as f:
        return f.read()


def has_object(objects: ObjectStore, key: str) -> bool:
    return any(o.key == key for o in objects.iter_objects(BUCKET, key))


def scores(body: bytes) -> list[float]:
    text = body.decode()
    assert text.endswith("\n")
    return [float(v) for v in text.splitlines()]


def test_every_object_one_score_per_line_in_order_with_two_requests_in_flight(
    setup: tuple[Emulator, Path],
) -> None:
    emulator, model_dir = setup
    big, small = rows(100_000, 1), rows(3, 2)
    emulator.objects.put_object(BUCKET, "many/a.csv", csv(big))
    emulator.objects.put_object(BUCKET, "many/sub/b.csv", csv(small))
    transforms = emulator.transforms
    request = transform_request(
        "many",
        "m",
        f"s3://{BUCKET}/many",
        f"s3://{BUCKET}/many-out/",
        MaxConcurrentTransforms=2,
        MaxPayloadInMB=1,
    )
    arn = transforms.create_transform_job(request)["TransformJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:transform-job/many"
    first = transforms.describe_transform_job("many")
    assert first["TransformJobStatus"] == "InProgress"
    doc = wait_ended(transforms.describe_transform_job, "many")
    assert doc["TransformJobStatus"] == "Completed", doc
    assert "FailureReason" not in doc
    assert doc["MaxConcurrentTransforms"] == 2 and doc["MaxPayloadInMB"] == 1
    assert doc["CreationTime"] <= doc["TransformStartTime"] <= doc["TransformEndTime"]
    assert doc["DataProcessing"] == {"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"}

    got_big = scores(output(emulator.objects, "many-out/a.csv.out"))
    got_small = scores(output(emulator.objects, "many-out/sub/b.csv.out"))
    assert len(got_big) == 100_000 and len(got_small) == 3
    assert np.allclose(got_big, expected_scores(model_dir, big.tolist()), rtol=0, atol=1e-6)
    assert np.allclose(got_small, expected_scores(model_dir, small.tolist()), rtol=0, atol=1e-6)

    events = transforms.log_events("many")
    assert data_log(events) == ["MaxConcurrentTransforms=2, MaxPayloadInMB=1, BatchStrategy=MULTI_RECORD"]
    posts = [e for e in events if '"POST /invocations HTTP/1.1" 200' in e["message"]]
    assert len(posts) == 4  # 2.6 MB in three requests of at most 1 MiB, and the small file's one
    streams = {e["logStreamName"] for e in events}
    assert len(streams) == 2 and all(s.startswith("many/i-0") for s in streams)

    listed = transforms.list_transform_jobs(NameContains="many")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in listed] == ["many"]
    assert listed[0]["TransformJobStatus"] == "Completed"


def test_split_none_sends_each_file_as_one_record(setup: tuple[Emulator, Path]) -> None:
    emulator, model_dir = setup
    data = rows(3, 3)
    for i, row in enumerate(data):
        emulator.objects.put_object(BUCKET, f"single/part-{i}.csv", csv(row[None, :]))
    request = transform_request(
        "single", "m", f"s3://{BUCKET}/single/", f"s3://{BUCKET}/single-out", split_type=None
    )
    emulator.transforms.create_transform_job(request)
    doc = wait_ended(emulator.transforms.describe_transform_job, "single")
    assert doc["TransformJobStatus"] == "Completed", doc
    assert doc["TransformInput"]["SplitType"] == "None" and doc["TransformInput"]["CompressionType"] == "None"
    expected = expected_scores(model_dir, data.tolist())
    for i in range(3):
        body = output(emulator.objects, f"single-out/part-{i}.csv.out")
        assert body == f"{expected[i]!r}\n".encode()


def test_join_source_input_with_filters(setup: tuple[Emulator, Path]) -> None:
    emulator, model_dir = setup
    data = rows(5, 4)
    ids = [f"id{i}" for i in range(5)]
    emulator.objects.put_object(BUCKET, "joined/rows.csv", csv(data, ids))
    request = transform_request(
        "joined",
        "m",
        f"s3://{BUCKET}/joined/rows.csv",
        f"s3://{BUCKET}/joined-out",
        AssembleWith="Line",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    emulator.transforms.create_transform_job(request)
    doc = wait_ended(emulator.transforms.describe_transform_job, "joined")
    assert doc["TransformJobStatus"] == "Completed", doc
    assert doc["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    expected = expected_scores(model_dir, data.tolist())
    lines = output(emulator.objects, "joined-out/rows.csv.out").decode().splitlines()
    assert [line.split(",")[0] for line in lines] == ids
    assert np.allclose([float(line.split(",")[1]) for line in lines], expected, rtol=0, atol=1e-6)

    # Without the output filter, the whole input row comes first, then the score.
    del request["DataProcessing"]["OutputFilter"]
    request["TransformJobName"] = "joined-all"
    request["TransformOutput"]["S3OutputPath"] = f"s3://{BUCKET}/joined-all"
    emulator.transforms.create_transform_job(request)
    assert (
        wait_ended(emulator.transforms.describe_transform_job, "joined-all")["TransformJobStatus"]
        == "Completed"
    )
    first = output(emulator.objects, "joined-all/rows.csv.out").decode().splitlines()[0]
    assert first == csv(data[:1], ids[:1]).decode().strip() + f",{expected[0]!r}"


def test_bad_input_fails_with_the_real_errors_and_no_output(setup: tuple[Emulator, Path]) -> None:
    emulator, _ = setup
    transforms = emulator.transforms
    emulator.objects.put_object(BUCKET, "big/big.csv", b"0.5," * 300_000 + b"0.5\n")
    emulator.objects.put_object(BUCKET, "plain/a.csv", csv(rows(10, 5)))
    jobs = {
        "empty": transform_request("empty", "m", f"s3://{BUCKET}/nothing/", f"s3://{BUCKET}/o/empty"),
        "toolarge": transform_request(
            "toolarge", "m", f"s3://{BUCKET}/big", f"s3://{BUCKET}/o/big", MaxPayloadInMB=1
        ),
        "noload": transform_request("noload", "broken", f"s3://{BUCKET}/plain", f"s3://{BUCKET}/o/noload"),
        "json": transform_request(
            "json", "m", f"s3://{BUCKET}/plain", f"s3://{BUCKET}/o/json", content_type="application/json"
        ),
    }
    for request in jobs.values():
        transforms.create_transform_job(request)
    docs = {name: wait_ended(transforms.describe_transform_job, name) for name in jobs}
    assert {name: d["TransformJobStatus"] for name, d in docs.items()} == dict.fromkeys(jobs, "Failed")
    assert docs["empty"]["FailureReason"] == (
        f'ClientError: No S3 objects found under S3 URL "s3://{BUCKET}/nothing/" given in input data source. '
        "Please ensure that the bucket exists in the selected region (us-east-1), that objects exist under that "
        f'S3 prefix, and that the role "{ROLE}" has "s3:ListBucket" permissions on bucket "{BUCKET}".'
    )
    assert "TransformStartTime" not in docs["empty"]  # no instance was started
    assert docs["toolarge"]["FailureReason"] == CLIENT_ERROR
    assert f"{BUCKET}/big/big.csv: Too much data for max payload size" in data_log(
        transforms.log_events("toolarge")
    )
    assert docs["noload"]["FailureReason"] == ALGORITHM_ERROR
    noload = transforms.log_events("noload")
    assert "Unable to get response from algorithm" in data_log(noload)
    assert any("cannot be loaded" in e["message"] for e in noload)  # the container's own error line
    assert docs["json"]["FailureReason"] == CLIENT_ERROR
    assert data_log(transforms.log_events("json"))[1:] == [
        f"{BUCKET}/plain/a.csv: ClientError: 415",
        f"{BUCKET}/plain/a.csv: Message:",
        f"{BUCKET}/plain/a.csv: application/json {ACCEPTED}",
    ]
    assert not list(emulator.objects.iter_objects(BUCKET, "o/"))


def _serve_pids(home: Path, name: str) -> list[int]:
    marker = str(home / "transforms" / name).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _long_job(emulator: Emulator, name: str) -> dict[str, Any]:
    """A job of 200,000 single-record requests, once its instance is answering them."""
    if not has_object(emulator.objects, "long/rows.csv"):
        emulator.objects.put_object(BUCKET, "long/rows.csv", csv(rows(200_000, 6)))
    request = transform_request(
        name,
        "m",
        f"s3://{BUCKET}/long",
        f"s3://{BUCKET}/o/{name}",
        BatchStrategy="SingleRecord",
        MaxConcurrentTransforms=1,
    )
    emulator.transforms.create_transform_job(request)
    deadline = time.monotonic() + 120
    while not any("POST /invocations" in e["message"] for e in emulator.transforms.log_events(name)):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return emulator.transforms.describe_transform_job(name)


def test_stop_in_the_middle(setup: tuple[Emulator, Path]) -> None:
    emulator, _ = setup
    running = _long_job(emulator, "stopme")
    assert running["TransformJobStatus"] == "InProgress"
    emulator.transforms.stop_transform_job("stopme")
    assert emulator.transforms.describe_transform_job("stopme")["TransformJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    doc = wait_ended(emulator.transforms.describe_transform_job, "stopme", timeout=60)
    assert doc["TransformJobStatus"] == "Stopped" and "FailureReason" not in doc
    assert not has_object(emulator.objects, "o/stopme/rows.csv.out")
    assert _serve_pids(emulator.home, "stopme") == []
    emulator.transforms.stop_transform_job("stopme")  # a job that has ended: nothing changes
    assert emulator.transforms.describe_transform_job("stopme")["TransformJobStatus"] == "Stopped"


def test_killed_supervisor_fails_the_job(setup: tuple[Emulator, Path]) -> None:
    emulator, _ = setup
    _long_job(emulator, "killme")
    pid = emulator.transforms.store.require("killme").supervisor_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # A new Emulator over the same state (another process, a restart) sees the same.
    later = Emulator(home=emulator.home)
    deadline = time.monotonic() + 30
    while (doc := later.transforms.describe_transform_job("killme"))["TransformJobStatus"] == "InProgress":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert doc["TransformJobStatus"] == "Failed"
    assert doc["FailureReason"] == (
        f"InternalServerError: sagelocal: the job's worker process (pid {pid}) exited unexpectedly; "
        "the job cannot continue."
    )
    assert not has_object(emulator.objects, "o/killme/rows.csv.out")
    deadline = time.monotonic() + 10
    while _serve_pids(emulator.home, "killme"):  # the serve process dies with its supervisor
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_requests_the_service_refuses(setup: tuple[Emulator, Path]) -> None:
    transforms: Transforms = setup[0].transforms
    good = transform_request("refused", "m", f"s3://{BUCKET}/plain", f"s3://{BUCKET}/o/refused")
    with pytest.raises(ValidationException) as missing:
        transforms.create_transform_job({**good, "ModelName": "nope"})
    assert (
        str(missing.value)
        == 'ValidationException: Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/nope".'
    )
    with pytest.raises(ValidationException) as product:
        transforms.create_transform_job({**good, "MaxConcurrentTransforms": 20, "MaxPayloadInMB": 6})
    assert "cannot exceed 100 MB" in str(product.value)
    with pytest.raises(ValidationException) as payload:
        transforms.create_transform_job({**good, "MaxPayloadInMB": 101})
    assert "Member must have value less than or equal to 100" in str(payload.value)
    with pytest.raises(ValidationException) as split:
        transforms.create_transform_job(
            {**good, "TransformInput": {**good["TransformInput"], "SplitType": "Words"}}
        )
    assert "Member must satisfy enum value set: [None, Line, RecordIO, TFRecord]" in str(split.value)
    with pytest.raises(ValidationException) as unknown:
        transforms.describe_transform_job("never-made")
    assert str(unknown.value) == 'ValidationException: Could not find requested job with name "never-made"'
    assert transforms.store.get("refused") is None  # nothing refused was recorded
    transforms.create_transform_job(good)
    with pytest.raises(ResourceInUse):
        transforms.create_transform_job(good)
    wait_ended(transforms.describe_transform_job, "refused")
