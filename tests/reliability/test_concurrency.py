"""Concurrency: 8 training jobs submitted at once through the server (boto3, one thread per job) all complete,
and every record is that job's own: its hyperparameters, its number of rounds in its own log stream, its
metrics, its model with exactly its rounds. The shared SQLite database and object store stay consistent."""

from __future__ import annotations

import re
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support.builders import HAPPY_PATH
from support.reliability_cases import (
    assert_store_consistent,
    channel,
    csv_rows,
    kill_leftover_workers,
    request,
)
from support.server_fixture import Server, running_server

JOBS = 8
ROUND = re.compile(r"^\[(\d+)\]#011train-logloss:(\S+)$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("concurrency") / "home"
    with running_server(home) as server:
        yield server
    kill_leftover_workers(home)


def job_name(i: int) -> str:
    return f"concurrent-{i}"


def submit(server: Server, i: int, start: threading.Barrier) -> dict[str, Any]:
    s3 = server.client("s3")
    sm = server.client("sagemaker")
    s3.put_object(Bucket="conc", Key=f"job-{i}/train.csv", Body=csv_rows(rows=60, seed=i).encode())
    hps = {"num_round": str(2 + i), "objective": "binary:logistic", "max_depth": "2", "seed": str(i)}
    body = request(job_name(i), [channel("train", f"s3://conc/job-{i}")], hps, output="s3://conc/out")
    start.wait(timeout=60)  # all eight CreateTrainingJob calls go out together
    return sm.create_training_job(**body)


def test_eight_jobs_submitted_at_once_all_complete_with_their_own_records(
    server: Server, tmp_path: Path
) -> None:
    server.client("s3").create_bucket(Bucket="conc")
    start = threading.Barrier(JOBS)
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        created = list(pool.map(lambda i: submit(server, i, start), range(JOBS)))
    assert [c["TrainingJobArn"] for c in created] == [
        f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job_name(i)}" for i in range(JOBS)
    ]

    sm = server.client("sagemaker")
    deadline = time.monotonic() + 240
    pending = {job_name(i) for i in range(JOBS)}
    descriptions: dict[str, dict[str, Any]] = {}
    while pending:
        assert time.monotonic() < deadline, f"still running: {sorted(pending)}"
        for name in sorted(pending):
            desc = sm.describe_training_job(TrainingJobName=name)
            if desc["TrainingJobStatus"] != "InProgress":
                descriptions[name] = desc
                pending.discard(name)
        time.sleep(0.25)

    logs = server.client("logs")
    s3 = server.client("s3")
    import xgboost as xgb

    for i in range(JOBS):
        name = job_name(i)
        desc = descriptions[name]
        assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
        assert [
            f"{t['Status']} - {t['StatusMessage']}" for t in desc["SecondaryStatusTransitions"]
        ] == HAPPY_PATH
        assert desc["HyperParameters"]["num_round"] == str(2 + i)
        assert desc["HyperParameters"]["seed"] == str(i)
        assert desc["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://conc/job-{i}"

        streams = logs.describe_log_streams(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
        )["logStreams"]
        assert len(streams) == 1 and streams[0]["logStreamName"].startswith(f"{name}/algo-1-")
        events = logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs",
            logStreamName=streams[0]["logStreamName"],
            startFromHead=True,
        )["events"]
        rounds = [m for e in events if (m := ROUND.match(e["message"]))]
        assert [int(m.group(1)) for m in rounds] == list(range(2 + i))
        metrics = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
        assert metrics["train:logloss"] == pytest.approx(float(rounds[-1].group(2)))
        assert "Train matrix has 60 rows and 3 columns" in "\n".join(e["message"] for e in events)

        key = f"out/{name}/output/model.tar.gz"
        assert desc["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://conc/{key}"
        archive = Path(server.home) / "s3" / "conc" / key
        with tarfile.open(archive) as tar:
            assert tar.getnames() == ["xgboost-model"]
            tar.extract("xgboost-model", path=tmp_path / name, filter="data")
        assert s3.head_object(Bucket="conc", Key=key)["ContentLength"] == archive.stat().st_size
        booster = xgb.Booster()
        booster.load_model(str(tmp_path / name / "xgboost-model"))
        assert booster.num_boosted_rounds() == 2 + i

    summaries = sm.list_training_jobs(NameContains="concurrent-", MaxResults=100)["TrainingJobSummaries"]
    assert sorted(s["TrainingJobName"] for s in summaries) == sorted(job_name(i) for i in range(JOBS))
    assert {s["TrainingJobStatus"] for s in summaries} == {"Completed"}
    report = assert_store_consistent(Path(server.home))
    assert report.statuses == {job_name(i): "Completed" for i in range(JOBS)}
