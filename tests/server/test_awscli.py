"""The aws cli (v1, from PyPI: the ``dev`` extra installs it) as a client of ``sagelocal serve``.

It runs as a user runs it: a subprocess configured only by the environment ``sagelocal serve`` prints (the
endpoint variables, dummy credentials, the region). S3: ``mb``, ``cp`` (a 20 MB file goes up and down in
multipart parts), ``sync``, ``ls``, ``presign``, ``rm``. CloudWatch Logs: the operations a user reads a training
job's log with (``describe-log-groups``, ``describe-log-streams``, ``get-log-events``, ``filter-log-events``;
the last is what aws cli v2's ``aws logs tail /aws/sagemaker/TrainingJobs --follow`` polls: v1 has no ``tail``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.server_fixture import Server

pytest.importorskip("awscli", reason="the aws cli v1 comes with the dev extra: pip install -e '.[dev]'")

AWS = [sys.executable, "-m", "awscli"]
GROUP = "/aws/sagemaker/TrainingJobs"


def aws(
    server: Server, *args: str, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*AWS, *args], env=server.subprocess_env(), capture_output=True, text=True, timeout=300, cwd=cwd
    )
    if check:
        assert result.returncode == 0, (
            f"aws {' '.join(args)}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def aws_json(server: Server, *args: str) -> Any:
    return json.loads(aws(server, *args, "--output", "json").stdout)


def test_s3_commands(sagelocal_server: Server, tmp_path: Path) -> None:
    assert aws(sagelocal_server, "s3", "mb", "s3://cli-bucket").stdout == "make_bucket: cli-bucket\n"

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    out = aws(sagelocal_server, "s3", "cp", str(big), "s3://cli-bucket/big/big.bin", "--only-show-errors")
    assert out.stdout == "" and out.stderr == ""
    head = sagelocal_server.client("s3").head_object(Bucket="cli-bucket", Key="big/big.bin")
    assert head["ContentLength"] == 20 * 1024 * 1024
    assert head["ETag"].endswith('-3"'), head["ETag"]  # 8 MB parts (the cli's default chunk size): multipart
    back = tmp_path / "back.bin"
    aws(sagelocal_server, "s3", "cp", "s3://cli-bucket/big/big.bin", str(back), "--only-show-errors")
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.csv").write_text("1,2\n")
    (tree / "sub" / "b.csv").write_text("3,4\n")
    sync = ("s3", "sync", "--no-progress", "tree", "s3://cli-bucket/data/")
    synced = aws(sagelocal_server, *sync, cwd=tmp_path).stdout
    assert sorted(synced.splitlines()) == [
        "upload: tree/a.csv to s3://cli-bucket/data/a.csv",
        "upload: tree/sub/b.csv to s3://cli-bucket/data/sub/b.csv",
    ]
    assert aws(sagelocal_server, *sync, cwd=tmp_path).stdout == ""  # already up to date

    listing = aws(sagelocal_server, "s3", "ls", "s3://cli-bucket/data/").stdout.splitlines()
    assert [line.split()[-1] for line in listing] == ["sub/", "a.csv"]
    recursive = aws(sagelocal_server, "s3", "ls", "--recursive", "s3://cli-bucket/").stdout.splitlines()
    assert [line.split()[-1] for line in recursive] == ["big/big.bin", "data/a.csv", "data/sub/b.csv"]
    assert "cli-bucket" in aws(sagelocal_server, "s3", "ls").stdout

    url = aws(sagelocal_server, "s3", "presign", "s3://cli-bucket/data/a.csv", "--expires-in", "60").stdout
    assert url.startswith(f"{sagelocal_server.url}/cli-bucket/data/a.csv?")
    assert "&Signature=" in url  # cli v1 presigns S3 with SigV2
    with urllib.request.urlopen(url.strip(), timeout=30) as response:
        assert response.read() == b"1,2\n"

    removed = aws(sagelocal_server, "s3", "rm", "--recursive", "s3://cli-bucket/data/").stdout
    assert sorted(removed.splitlines()) == [
        "delete: s3://cli-bucket/data/a.csv",
        "delete: s3://cli-bucket/data/sub/b.csv",
    ]
    assert aws(sagelocal_server, "s3", "ls", "s3://cli-bucket/data/", check=False).returncode == 1


@pytest.fixture(scope="module")
def job_logs(sagelocal_server: Server) -> dict[str, list[tuple[int, str]]]:
    """Two jobs' streams in the training-job group, as the supervisor writes them (tabs as ``#011``)."""
    logs = sagelocal_server.client("logs")
    streams = {
        "cli-job-a/algo-1-1700000000": [
            (1_700_000_000_000, "Arguments: train"),
            (1_700_000_001_000, "[0]#011train-logloss:0.5"),
        ],
        "cli-job-b/algo-1-1700000005": [
            (1_700_000_005_000, "Arguments: train"),
            (1_700_000_006_000, "[0]#011train-logloss:0.4"),
        ],
    }
    for stream, events in streams.items():
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": ts, "message": message} for ts, message in events],
        )
    return streams


def test_logs_describe_log_groups(sagelocal_server: Server, job_logs: dict) -> None:
    groups = aws_json(sagelocal_server, "logs", "describe-log-groups")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [GROUP]
    assert groups[0]["arn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}:*"
    assert groups[0]["logGroupArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}"
    by_prefix = aws_json(
        sagelocal_server, "logs", "describe-log-groups", "--log-group-name-prefix", "/aws/sage"
    )
    assert [g["logGroupName"] for g in by_prefix["logGroups"]] == [GROUP]
    by_pattern = aws_json(
        sagelocal_server, "logs", "describe-log-groups", "--log-group-name-pattern", "trainingjobs"
    )
    assert [g["logGroupName"] for g in by_pattern["logGroups"]] == [GROUP]
    none = aws_json(sagelocal_server, "logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda")
    assert none["logGroups"] == []
    both = aws(
        sagelocal_server,
        "logs",
        "describe-log-groups",
        "--log-group-name-prefix",
        "/a",
        "--log-group-name-pattern",
        "b",
        check=False,
    )
    assert both.returncode == 255
    assert both.stderr.strip() == (
        "An error occurred (InvalidParameterException) when calling the DescribeLogGroups operation: "
        "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
    )


def test_logs_describe_log_streams_and_get_log_events(sagelocal_server: Server, job_logs: dict) -> None:
    streams = aws_json(
        sagelocal_server,
        "logs",
        "describe-log-streams",
        "--log-group-name",
        GROUP,
        "--log-stream-name-prefix",
        "cli-job-a/",
    )["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["cli-job-a/algo-1-1700000000"]
    assert streams[0]["firstEventTimestamp"] == 1_700_000_000_000
    events = aws_json(
        sagelocal_server,
        "logs",
        "get-log-events",
        "--log-group-name",
        GROUP,
        "--log-stream-name",
        "cli-job-a/algo-1-1700000000",
        "--start-from-head",
    )["events"]
    assert [(e["timestamp"], e["message"]) for e in events] == job_logs["cli-job-a/algo-1-1700000000"]
    text = aws(
        sagelocal_server,
        "logs",
        "get-log-events",
        "--log-group-name",
        GROUP,
        "--log-stream-name",
        "cli-job-a/algo-1-1700000000",
        "--start-from-head",
        "--query",
        "events[].message",
        "--output",
        "text",
    ).stdout
    assert text == "Arguments: train\t[0]#011train-logloss:0.5\n"
    missing = aws(
        sagelocal_server,
        "logs",
        "describe-log-streams",
        "--log-group-name",
        "/aws/sagemaker/Endpoints",
        check=False,
    )
    assert missing.returncode == 255
    assert missing.stderr.strip() == (
        "An error occurred (ResourceNotFoundException) when calling the DescribeLogStreams operation: "
        "The specified log group does not exist."
    )


def test_logs_filter_log_events_as_tail_polls(sagelocal_server: Server, job_logs: dict) -> None:
    """``aws logs tail GROUP --follow`` (cli v2) polls FilterLogEvents with a startTime and prints each event
    as ``<timestamp> <stream> <message>``: the same calls, through cli v1."""
    merged = aws_json(sagelocal_server, "logs", "filter-log-events", "--log-group-name", GROUP)["events"]
    assert [(e["logStreamName"], e["message"]) for e in merged] == [
        ("cli-job-a/algo-1-1700000000", "Arguments: train"),
        ("cli-job-a/algo-1-1700000000", "[0]#011train-logloss:0.5"),
        ("cli-job-b/algo-1-1700000005", "Arguments: train"),
        ("cli-job-b/algo-1-1700000005", "[0]#011train-logloss:0.4"),
    ]
    since = aws_json(
        sagelocal_server,
        "logs",
        "filter-log-events",
        "--log-group-name",
        GROUP,
        "--start-time",
        "1700000005000",
        "--filter-pattern",
        "logloss",
    )["events"]
    assert [(e["timestamp"], e["message"]) for e in since] == [
        (1_700_000_006_000, "[0]#011train-logloss:0.4")
    ]
    one_job = aws_json(
        sagelocal_server,
        "logs",
        "filter-log-events",
        "--log-group-name",
        GROUP,
        "--log-stream-name-prefix",
        "cli-job-b/",
    )["events"]
    assert {e["logStreamName"] for e in one_job} == {"cli-job-b/algo-1-1700000005"}
