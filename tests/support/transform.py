"""Shared by the transform tests: CreateTransformJob requests, waiting for a job to end, reading its outputs and
data-log, and killing whatever a test left running."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT = 240.0


def transform_request(
    name: str,
    model: str,
    input_uri: str,
    output_uri: str,
    *,
    split_type: str | None = "Line",
    content_type: str | None = "text/csv",
    data_type: str = "S3Prefix",
    **members: Any,
) -> dict[str, Any]:
    """A CreateTransformJob request as the SDK's Transformer.transform() sends it; ``members`` adds or replaces
    top-level members (``AssembleWith`` goes into TransformOutput, as the SDK's ``assemble_with``)."""
    transform_input: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": input_uri}},
    }
    if content_type is not None:
        transform_input["ContentType"] = content_type
    if split_type is not None:
        transform_input["SplitType"] = split_type
    output: dict[str, Any] = {"S3OutputPath": output_uri}
    if "AssembleWith" in members:
        output["AssembleWith"] = members.pop("AssembleWith")
    return {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
        **members,
    }


def wait_ended(
    describe: Callable[[str], dict[str, Any]], name: str, timeout: float = TIMEOUT
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc = describe(name)
        if doc["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
            return doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.1)


def data_log(events: list[dict[str, Any]]) -> list[str]:
    """The data-log lines without their ``<ISO8601>:[sagemaker logs]: `` prefix."""
    marker = ":[sagemaker logs]: "
    return [e["message"].split(marker, 1)[1] for e in events if e["logStreamName"].endswith("/data-log")]


def kill_leftover_transforms(home: Path) -> None:
    """Test teardown: SIGKILL this home's transform supervisors still running (their serve processes die with
    them). Only processes whose pid and start time match the record."""
    from sagelocal.service.execution.procs import worker_alive

    db = home / "sagelocal.db"
    if not db.exists():
        return
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        rows = conn.execute("SELECT supervisor_pid, supervisor_start FROM transform_jobs").fetchall()
    except sqlite3.OperationalError:
        rows = []
    finally:
        conn.close()
    for pid, start in rows:
        if pid is not None and worker_alive(pid, start):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
