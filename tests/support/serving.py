"""Shared by the serving tests: a tiny trained model per image version, and a ``serve`` subprocess."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sagelocal.algorithms.xgboost import main

#: 3 features, label first (the tutorial's layout); rows that make both classes likely.
TRAIN_ROWS = "\n".join(
    f"{(i * 7) % 2},{((i * 7) % 11) / 10 + (i * 7) % 2:.1f},{(i % 5) / 4:.2f},{i / 60:.3f}" for i in range(60)
)


def train(root: Path, version: str, hyperparameters: Mapping[str, str] | None = None) -> Path:
    """Train with the algorithm's own ``train`` over a fresh layout at ``root``; returns the model directory."""
    import json

    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    params = {"num_round": "4", "objective": "binary:logistic", "max_depth": "2", **(hyperparameters or {})}
    (config / "hyperparameters.json").write_text(json.dumps(params))
    channel = {
        "ContentType": "text/csv",
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
    }
    (config / "inputdataconfig.json").write_text(json.dumps({"train": channel}))
    data = root / "input" / "data" / "train"
    data.mkdir(parents=True, exist_ok=True)
    (data / "train.csv").write_text(TRAIN_ROWS + "\n")
    assert main(["train", "--ml-root", str(root), "--image-version", version]) == 0
    return root / "model"


def booster_of(model_dir: Path):  # type: ignore[no-untyped-def]
    """The trained booster as the test's own reference (pickles are this test's own files)."""
    import pickle

    import xgboost as xgb

    path = model_dir / "xgboost-model"
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception:
        booster = xgb.Booster()
        booster.load_model(str(path))
        return booster


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, port: int, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.process = process

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def invoke(self, body: bytes, content_type: str | None = "text/csv", accept: str | None = None):  # type: ignore[no-untyped-def]
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        return self.request("POST", "/invocations", body, headers)


@contextmanager
def serving(
    ml_root: Path, version: str, env: Mapping[str, str] | None = None, use_port_flag: bool = True
) -> Iterator[Server]:
    """``python -m sagelocal.algorithms.xgboost serve`` as a real subprocess, stopped (SIGTERM) afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "sagelocal.algorithms.xgboost", "serve", "--ml-root", str(ml_root)]
    command += ["--image-version", version]
    environ = {**os.environ, **(env or {})}
    if use_port_flag:
        command += ["--port", str(port)]
    else:
        environ["SAGEMAKER_BIND_TO_PORT"] = str(port)
    process = subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = Server(port, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"serve exited: {process.stdout.read().decode() if process.stdout else ''}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
