"""Shared by the hosting tests: a trained model.tar.gz per image version, the requests that deploy it, the
booster's own predictions to compare with, and clean-up of whatever endpoints a test left running."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sagelocal.algorithms.xgboost.versions import image_uri_for
from sagelocal.service.training.artifacts import make_tar_gz
from support.serving import booster_of, train

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
#: Three rows of the three features ``support.serving.train``'s model knows; they score differently.
ROWS = [[0.9, 0.1, 0.2], [0.1, 0.2, 0.3], [1.5, 0.75, 0.5]]
CSV = "\n".join(",".join(str(v) for v in row) for row in ROWS).encode()
ACCEPTED = (
    "is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, "
    "text/x-libsvm, application/x-parquet, application/x-recordio-protobuf."
)
DEPLOY_TIMEOUT = 180.0


def model_tarball(root: Path, version: str) -> tuple[Path, Path]:
    """Train ``support.serving``'s tiny model for ``version`` under ``root``; returns (model.tar.gz, model dir)."""
    model_dir = train(root / "ml", version)
    return make_tar_gz(model_dir, root / "model.tar.gz"), model_dir


def expected_scores(model_dir: Path, rows: list[list[float]] = ROWS) -> list[float]:
    import xgboost as xgb

    scores = booster_of(model_dir).predict(xgb.DMatrix(np.array(rows)), validate_features=False)
    return [float(v) for v in scores.tolist()]


def assert_scores(body: bytes, version: str, expected: list[float]) -> None:
    """The body is the image's CSV answer (one score per line from 1.2-2; comma-joined on 0.72 … 1.2-1) and
    its scores are the booster's within 1e-6."""
    text = body.decode()
    if version in ("1", "1.0-1"):
        assert not text.endswith("\n")
        values = [float(v) for v in text.split(",")]
    else:
        assert text.endswith("\n") and "," not in text
        values = [float(v) for v in text.splitlines()]
    assert len(values) == len(expected)
    assert np.allclose(values, expected, rtol=0, atol=1e-6), (values, expected)


def model_request(name: str, version: str, url: str, **container: Any) -> dict[str, Any]:
    return {
        "ModelName": name,
        "PrimaryContainer": {"Image": image_uri_for(version), "ModelDataUrl": url, **container},
        "ExecutionRoleArn": ROLE,
    }


def config_request(
    name: str, model: str, count: int = 1, instance_type: str = "ml.m4.xlarge"
) -> dict[str, Any]:
    """What SDK v2's ``deploy()`` sends (reference inference §7)."""
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialVariantWeight": 1,
                "InitialInstanceCount": count,
                "InstanceType": instance_type,
            }
        ],
    }


def wait_settled(
    describe: Callable[[str], dict[str, Any]], name: str, timeout: float = DEPLOY_TIMEOUT
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc = describe(name)
        if doc["EndpointStatus"] not in ("Creating", "Updating", "Deleting"):
            return doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.1)


def wait_gone(describe: Callable[[str], Any], name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            describe(name)
        except Exception as e:  # ValidationException (service) or ClientError (boto3)
            assert "Could not find endpoint" in str(e), e
            return
        assert time.monotonic() < deadline
        time.sleep(0.1)


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.connect(("127.0.0.1", port))
        except OSError:
            return True
    return False


def instance_rows(home: Path, endpoint: str) -> list[tuple[str, int, str | None]]:
    """``(instance_id, port, container)`` of the endpoint's instances, from the state database."""
    conn = sqlite3.connect(str(home / "sagelocal.db"), timeout=30)
    try:
        return conn.execute(
            "SELECT instance_id, port, container FROM endpoint_instances WHERE endpoint = ? ORDER BY rowid",
            (endpoint,),
        ).fetchall()
    finally:
        conn.close()


def serve_pids(home: Path) -> list[int]:
    """Pids of the ``serve`` processes running over this home's instance folders."""
    pids = []
    marker = str(home / "endpoints").encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"sagelocal.algorithms.xgboost\0serve" in cmdline and marker in cmdline:
            pids.append(int(entry.name))
    return pids


def kill_leftover_endpoints(home: Path) -> None:
    """Test teardown: SIGKILL this home's endpoint supervisors (their serve processes die with them) and any
    serve process left over, and remove the containers of its instances."""
    from sagelocal.service.execution.procs import worker_alive

    db = home / "sagelocal.db"
    if not db.exists():
        return
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        supervisors = conn.execute(
            "SELECT supervisor_pid, supervisor_start FROM endpoint_deployments"
        ).fetchall()
        containers = [
            r[0] for r in conn.execute("SELECT container FROM endpoint_instances WHERE container IS NOT NULL")
        ]
    except sqlite3.OperationalError:
        return
    finally:
        conn.close()
    for pid, start in supervisors:
        if pid is not None and worker_alive(pid, start):
            os.kill(pid, signal.SIGKILL)
    for pid in serve_pids(home):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if containers:
        from sagelocal.service.execution.hosting.container import remove_containers

        remove_containers(containers)
