"""Warm starts (``Emulator(warm_start=True)``, what ``sagelocal serve`` uses): supervisors come from a fork server
that preloaded the algorithm, and the algorithm is forked rather than started cold. It must not change a job."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

from support.builders import HAPPY_PATH, make_request, transitions, write_csv

from sagelocal.service.service import Emulator


def run_to_end(emulator: Emulator, name: str, inputs: dict[str, str], **hps: str) -> dict:
    emulator.create_training_job(make_request(name, inputs, **hps))
    deadline = time.monotonic() + 120
    while (desc := emulator.describe_training_job(name))["TrainingJobStatus"] in ("InProgress", "Stopping"):
        assert time.monotonic() < deadline, f"{name} did not finish"
        time.sleep(0.05)
    return desc


def model_bytes(emulator: Emulator, desc: dict) -> bytes:
    key = desc["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://bucket/")
    with tarfile.open(emulator.objects.object_path("bucket", key)) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        return io.BytesIO(member.read()).getvalue()


def test_warm_and_cold_jobs_are_the_same_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cold, hot = Emulator(home=home), Emulator(home=home, warm_start=True)
    write_csv(tmp_path / "train.csv", 300, seed=3)
    cold.objects.create_bucket("bucket")
    cold.objects.put_object("bucket", "xgb/train/train.csv", tmp_path / "train.csv")
    inputs = {"train": "s3://bucket/xgb/train"}

    a = run_to_end(cold, "cold-job", inputs, num_round="20")
    b = run_to_end(hot, "warm-job", inputs, num_round="20")

    assert (a["TrainingJobStatus"], b["TrainingJobStatus"]) == ("Completed", "Completed"), (
        a.get("FailureReason"),
        b.get("FailureReason"),
    )
    assert transitions(a) == transitions(b) == HAPPY_PATH
    assert model_bytes(cold, a) == model_bytes(hot, b)
    cold_lines = [e["message"] for e in cold.job_log_events("cold-job") if e["message"].startswith("[")]
    warm_lines = [e["message"] for e in hot.job_log_events("warm-job") if e["message"].startswith("[")]
    assert [m for m in cold_lines if m[1].isdigit() and "]#011" in m] == [
        m for m in warm_lines if m[1].isdigit() and "]#011" in m
    ]


def test_a_warm_job_stops_and_keeps_its_model(tmp_path: Path) -> None:
    hot = Emulator(home=tmp_path / "home", warm_start=True)
    write_csv(tmp_path / "train.csv", 20000, seed=4)
    hot.objects.create_bucket("bucket")
    hot.objects.put_object("bucket", "xgb/train/train.csv", tmp_path / "train.csv")
    name = "warm-stop"
    hot.create_training_job(
        make_request(
            name, {"train": "s3://bucket/xgb/train"}, num_round="100000", save_model_on_termination="true"
        )
    )
    deadline = time.monotonic() + 60
    while not any(e["message"].startswith("[3]") for e in hot.job_log_events(name)):
        assert time.monotonic() < deadline, "the warm job never trained"
        time.sleep(0.05)
    hot.stop_training_job(name)
    stopped_by = time.monotonic() + 5
    while (desc := hot.describe_training_job(name))["TrainingJobStatus"] != "Stopped":
        assert time.monotonic() < stopped_by, (desc["TrainingJobStatus"], desc.get("FailureReason"))
        time.sleep(0.05)
    assert transitions(desc)[-2:] == [
        "Stopping - Stopping the training job",
        "Stopped - Training job stopped",
    ]
    assert len(model_bytes(hot, desc)) > 0
