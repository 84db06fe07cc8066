"""Shared helpers for the reliability tests: tiny generated data sets, the console script as a subprocess,
request builders, and checks that a state directory is consistent after a test.

Everything here drives real processes (the ``sagelocal`` console script, the job supervisor, the algorithm)
over a real SQLite database and object store; nothing is mocked.
"""

from __future__ import annotations

import io
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.algorithms.xgboost.versions import image_uri_for

ROLE = config.DUMMY_ROLE_ARN
BUCKET = config.DEFAULT_BUCKET
REPO_ROOT = Path(__file__).resolve().parents[2]
TERMINAL = ("Completed", "Failed", "Stopped")

# --- data -------------------------------------------------------------------------------------------------


def csv_rows(rows: int = 40, seed: int = 1, features: int = 3, labels: Iterable[int] = (0, 1)) -> str:
    """Label-first CSV, no header: a learnable binary problem (labels drawn from ``labels``)."""
    rng = random.Random(seed)
    choices = list(labels)
    lines = []
    for i in range(rows):
        x = [rng.uniform(-1, 1) for _ in range(features)]
        label = choices[i % len(choices)] if len(choices) > 2 else (1 if x[0] + rng.gauss(0, 0.3) > 0 else 0)
        if len(choices) == 2 and set(choices) != {0, 1}:
            label = choices[label]
        lines.append(",".join([str(label), *(f"{v:.4f}" for v in x)]))
    return "\n".join(lines) + "\n"


def libsvm_rows(rows: int = 40, seed: int = 1) -> str:
    """LIBSVM with 0-based feature indices, as the built-in algorithm reads it."""
    rng = random.Random(seed)
    lines = []
    for _ in range(rows):
        x = [rng.uniform(-1, 1) for _ in range(3)]
        label = 1 if x[0] > 0 else 0
        lines.append(f"{label} " + " ".join(f"{i}:{v:.4f}" for i, v in enumerate(x)))
    return "\n".join(lines) + "\n"


def parquet_bytes(rows: int = 40, seed: int = 1) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    columns: dict[str, list[float]] = {"label": [], "f0": [], "f1": []}
    for _ in range(rows):
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        columns["label"].append(1.0 if a > 0 else 0.0)
        columns["f0"].append(a)
        columns["f1"].append(b)
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


# --- the console script -----------------------------------------------------------------------------------


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("sagelocal")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sagelocal.cli.app"]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SAGELOCAL_", "SAGEMAKER_")) and not k.lower().endswith("_proxy")
    }
    env["SAGELOCAL_HOME"] = str(home)
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_cli(
    home: Path, *args: str, timeout: float = 180, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(home),
        cwd=str(cwd) if cwd else None,
        stdin=subprocess.DEVNULL,
    )


def python_tracebacks(text: str) -> int:
    """How many Python tracebacks ``text`` holds that are not the emulated container's own
    ``framework error:`` log record (which SageMaker's CloudWatch log shows for the open-source images too, a
    chained exception's tracebacks included: they name the image's modules under /miniconda3)."""
    image = text.count('Traceback (most recent call last):\n  File "/miniconda3/')
    return text.count("Traceback (most recent call last)") - image


# --- requests ---------------------------------------------------------------------------------------------


def channel(name: str, uri: str, content_type: str | None = "text/csv", mode: str | None = None) -> dict:
    ch: dict[str, Any] = {"ChannelName": name}
    if content_type is not None:
        ch["ContentType"] = content_type
    ch["DataSource"] = {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    }
    if mode is not None:
        ch["InputMode"] = mode
    return ch


def request(
    name: str,
    channels: list[dict[str, Any]],
    hyperparameters: dict[str, str] | None = None,
    version: str = "3.0-5",
    max_runtime: int = 3600,
    output: str = f"s3://{BUCKET}/out",
) -> dict[str, Any]:
    hps = {"num_round": "3", "objective": "binary:logistic", "max_depth": "2"}
    if hyperparameters is not None:
        hps = hyperparameters
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": image_uri_for(version), "TrainingInputMode": "File"},
        "HyperParameters": hps,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": output},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
    }


def wait_terminal(describe: Any, name: str, timeout: float = 180, interval: float = 0.1) -> dict[str, Any]:
    """Poll ``describe(name)`` until the job is Completed, Failed or Stopped."""
    deadline = time.monotonic() + timeout
    while True:
        desc = describe(name)
        if desc["TrainingJobStatus"] in TERMINAL:
            return desc
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} still {desc['TrainingJobStatus']} after {timeout} s")
        time.sleep(interval)


# --- store consistency ------------------------------------------------------------------------------------


@dataclass
class StoreReport:
    integrity: str
    journal_mode: str
    statuses: dict[str, str]
    stray_files: list[str]


def store_report(home: Path) -> StoreReport:
    """What a consistent state directory must show after a test: SQLite's own integrity check, the job
    statuses (read with a fresh connection, i.e. what any other process sees), and files that must never be
    visible in a bucket listing (temp files, staging leftovers, half-written tarballs)."""
    conn = sqlite3.connect(str(home / "sagelocal.db"), timeout=30)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        statuses = dict(conn.execute("SELECT name, status FROM jobs").fetchall())
    finally:
        conn.close()
    stray: list[str] = []
    s3 = home / "s3"
    if s3.is_dir():
        for bucket in s3.iterdir():
            if bucket.name.startswith(".") or not bucket.is_dir():
                continue
            for path in bucket.rglob("*"):
                name = path.name
                if name.endswith((".tmp", ".part")) or name.startswith(("tmp-", ".tmp", ".model.tar.gz")):
                    stray.append(str(path.relative_to(s3)))
    return StoreReport(integrity, journal, statuses, stray)


def assert_store_consistent(home: Path) -> StoreReport:
    report = store_report(home)
    assert report.integrity == "ok", report.integrity
    assert report.journal_mode == "wal"
    stuck = {n: s for n, s in report.statuses.items() if s not in TERMINAL}
    assert stuck == {}, f"jobs not in a terminal state: {stuck}"
    assert report.stray_files == [], report.stray_files
    return report


def model_tarballs_complete(home: Path) -> list[str]:
    """Every ``model.tar.gz`` in the store is a complete, readable gzip'd tar; returns their paths."""
    import tarfile

    found = []
    for path in (home / "s3").rglob("model.tar.gz"):
        with tarfile.open(path, "r:gz") as tar:
            names = tar.getnames()
        assert names, f"{path} is empty"
        found.append(str(path))
    return found


# --- long-running jobs and their processes ----------------------------------------------------------------

#: Hyperparameters of a job that trains for minutes unless it is stopped or killed.
ENDLESS = {"num_round": "1000000", "objective": "binary:logistic", "max_depth": "3", "eta": "0.01"}

_ROUND = re.compile(r"\[\d+\]#011")


def rounds_logged(events: list[dict[str, Any]]) -> int:
    return sum(1 for e in events if _ROUND.match(e["message"]))


def wait_for_rounds(backend: Any, name: str, rounds: int = 3, timeout: float = 120) -> None:
    """Until the job is Training and its log shows ``rounds`` boosting rounds (the algorithm really runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = backend.describe_training_job(name)
        assert desc["TrainingJobStatus"] == "InProgress", desc.get("FailureReason")
        if desc["SecondaryStatus"] == "Training" and rounds_logged(backend.get_log_events(name)) >= rounds:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} did not log {rounds} rounds within {timeout} s")


def algorithm_pids(home: Path, name: str) -> list[int]:
    """Processes running the algorithm over this job's layouts (every host's): started cold (found by their
    command line) or forked by a warm worker (the worker's children)."""
    needles = [f"--ml-root\x00{home / 'jobs' / name}\x00".encode()]
    needles.append(f"--ml-root\x00{home / 'jobs' / name}.hosts/".encode())  # the job's other hosts
    found = []
    try:
        worker = supervisor_pid(home, name)
    except AssertionError:
        worker = None
    if worker is not None and alive(worker):
        found.extend(child_pids(worker))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(n in cmdline + b"\x00" for n in needles) and int(entry.name) not in found:
            found.append(int(entry.name))
    return found


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (e.g. the algorithm a worker forked or started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def supervisor_pid(home: Path, name: str) -> int:
    conn = sqlite3.connect(str(home / "sagelocal.db"), timeout=30)
    try:
        row = conn.execute("SELECT supervisor_pid FROM jobs WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()
    assert row is not None and row[0] is not None, f"{name} has no supervisor"
    return int(row[0])


def alive(pid: int) -> bool:
    from sagelocal.service.execution.procs import process_start_time

    return process_start_time(pid) is not None


def wait_gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def kill_leftover_workers(home: Path) -> None:
    """Test teardown: SIGKILL the supervisors (and algorithms) of this state directory's unfinished jobs, and
    its endpoints' supervisors and instances, so a failed test never leaves training or serving running. Only
    processes whose pid and start time match the record."""
    import signal

    from sagelocal.service.execution.procs import worker_alive
    from support.hosting import kill_leftover_endpoints
    from support.tuning import kill_leftover_tuners

    db = home / "sagelocal.db"
    if not db.exists():
        return
    kill_leftover_tuners(home)
    kill_leftover_endpoints(home)
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        rows = conn.execute("SELECT name, supervisor_pid, supervisor_start FROM jobs").fetchall()
    finally:
        conn.close()
    for name, pid, start in rows:
        targets = algorithm_pids(home, name)
        if pid is not None and worker_alive(pid, start):
            targets.append(pid)
        for target in targets:
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
