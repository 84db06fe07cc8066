"""Crash safety: ``kill -9`` of a job's worker, of the algorithm, of a waiting CLI and of the server mid-job.
Afterwards no job stays InProgress (a job whose worker died is Failed with a reason that says so; a job
whose CLI or server died finishes normally), nothing half-written is ever visible in the object store, and
the SQLite files run in WAL mode with busy timeouts so concurrent writers wait instead of failing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
from support.builders import write_files
from support.reliability_cases import (
    BUCKET,
    ENDLESS,
    algorithm_pids,
    alive,
    assert_store_consistent,
    channel,
    child_pids,
    cli_command,
    cli_env,
    csv_rows,
    kill_leftover_workers,
    request,
    supervisor_pid,
    wait_for_rounds,
    wait_gone,
    wait_terminal,
)
from support.server_fixture import running_server

from sagelocal.backends.local import LocalBackend
from sagelocal.service import db
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training import artifacts
from sagelocal.service.training.store import JobStore

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def train_uri(backend: LocalBackend, tmp_path: Path) -> str:
    data = write_files(tmp_path / "data", {"train.csv": csv_rows(rows=300, features=5)})
    backend.default_bucket()
    return backend.upload_input(data, f"s3://{BUCKET}/crash/train")


def worker_died_reason(pid: int) -> str:
    return f"sagelocal: the job's worker process (pid {pid}) exited unexpectedly; the job cannot continue."


# --- a dead worker ----------------------------------------------------------------------------------------


def test_kill_9_of_the_job_worker_fails_the_job(home: Path, backend: LocalBackend, train_uri: str) -> None:
    backend.create_training_job(request("crash-worker", [channel("train", train_uri)], ENDLESS))
    wait_for_rounds(backend, "crash-worker")
    pid = supervisor_pid(home, "crash-worker")
    algorithms = algorithm_pids(home, "crash-worker")
    assert len(algorithms) == 1

    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    # The algorithm does not outlive its worker (it would keep training with no one to record it).
    assert wait_gone(algorithms[0])

    desc = backend.describe_training_job("crash-worker")
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["SecondaryStatus"] == "Failed"
    assert desc["FailureReason"] == worker_died_reason(pid)
    assert desc["SecondaryStatusTransitions"][-1]["StatusMessage"] == "Training job failed"
    # The failure is recorded, not just computed: a fresh reader sees it too.
    assert JobStore(db.Database(home / "sagelocal.db")).require("crash-worker").status == "Failed"
    assert not (home / "s3" / BUCKET / "out" / "crash-worker").exists()
    assert_store_consistent(home)


def test_kill_9_of_the_algorithm_fails_the_job(home: Path, backend: LocalBackend, train_uri: str) -> None:
    backend.create_training_job(request("crash-algo", [channel("train", train_uri)], ENDLESS))
    wait_for_rounds(backend, "crash-algo")
    (pid,) = algorithm_pids(home, "crash-algo")
    os.kill(pid, signal.SIGKILL)

    desc = wait_terminal(backend.describe_training_job, "crash-algo", timeout=60)
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"] == (
        "AlgorithmError: The algorithm process was killed by signal 9 (SIGKILL) and wrote no failure reason, "
        "exit code: 137"
    )
    assert_store_consistent(home)


def test_a_job_whose_worker_never_started_is_failed(
    home: Path, backend: LocalBackend, train_uri: str
) -> None:
    """A creator that died between recording the job and starting its worker leaves a record with no pid;
    after the grace period it is Failed rather than InProgress forever."""
    store = JobStore(db.Database(home / "sagelocal.db"))
    store.insert("crash-orphan", "process", request("crash-orphan", [channel("train", train_uri)]))
    with store.db.write() as conn:  # as if it had been created a minute ago
        conn.execute("UPDATE jobs SET creation_time = creation_time - 60 WHERE name = 'crash-orphan'")
    desc = backend.describe_training_job("crash-orphan")
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"] == (
        "sagelocal: the job's worker process was never started; the job cannot continue."
    )
    listed = backend.list_training_jobs(StatusEquals="InProgress")
    assert listed["TrainingJobSummaries"] == []


# --- a dead client ----------------------------------------------------------------------------------------


def test_kill_9_of_a_waiting_cli_leaves_the_job_running_to_completion(
    home: Path, backend: LocalBackend, train_uri: str
) -> None:
    cli = subprocess.Popen(
        [*cli_command(), "train", "--job-name", "crash-cli", "--train", train_uri, "--content-type", "csv",
         "-H", "num_round=6000", "-H", "max_depth=2", "-H", "objective=binary:logistic"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=cli_env(home),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                wait_for_rounds(backend, "crash-cli", rounds=1, timeout=0.5)
                break
            except Exception:
                time.sleep(0.1)
        assert cli.poll() is None, "the CLI should still be waiting for the job"
        cli.send_signal(signal.SIGKILL)
        cli.wait(timeout=10)
    finally:
        if cli.poll() is None:
            cli.kill()
    desc = wait_terminal(backend.describe_training_job, "crash-cli", timeout=180)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    with tarfile.open(home / "s3" / BUCKET / "crash-cli" / "output" / "model.tar.gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
    # Another CLI picks the job up where the dead one left it.
    follow = subprocess.run(
        [*cli_command(), "jobs", "logs", "crash-cli", "--follow"],
        capture_output=True, text=True, timeout=60, env=cli_env(home),
    )  # fmt: skip
    assert follow.returncode == 0, follow.stderr
    assert "Completed - Training job completed" in follow.stdout
    assert_store_consistent(home)


def _kill_server(server: object) -> None:
    process = server.process  # type: ignore[attr-defined]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_kill_9_of_the_server_mid_job(tmp_path: Path) -> None:
    """Jobs run in their own sessions: a server killed mid-job loses nothing. The job whose worker is still
    alive completes; the job whose worker was killed while no server was up is Failed as soon as a restarted
    server looks at it."""
    home = tmp_path / "home"
    data = write_files(tmp_path / "data", {"train.csv": csv_rows(rows=300, features=5)})
    try:
        with running_server(home) as server:
            s3 = server.client("s3")
            s3.create_bucket(Bucket="crash")
            s3.upload_file(str(data / "train.csv"), "crash", "train/train.csv")
            sm = server.client("sagemaker")
            survivor = request(
                "crash-server-survives", [channel("train", "s3://crash/train")], output="s3://crash/out"
            )
            survivor["HyperParameters"] = {
                "num_round": "3000",
                "max_depth": "2",
                "objective": "binary:logistic",
            }
            victim = request(
                "crash-server-victim",
                [channel("train", "s3://crash/train")],
                ENDLESS,
                output="s3://crash/out",
            )
            sm.create_training_job(**survivor)
            sm.create_training_job(**victim)
            backend = LocalBackend(home=home)
            wait_for_rounds(backend, "crash-server-survives", rounds=1)
            wait_for_rounds(backend, "crash-server-victim", rounds=1)
            _kill_server(server)

        worker = supervisor_pid(home, "crash-server-victim")
        assert alive(worker), "a job's worker must not die with the server"
        algorithms = child_pids(worker)
        assert algorithms, "the victim's algorithm should be running under its worker"
        assert alive(supervisor_pid(home, "crash-server-survives")) or (
            LocalBackend(home=home).describe_training_job("crash-server-survives")["TrainingJobStatus"]
            == "Completed"
        )
        os.kill(worker, signal.SIGKILL)
        assert wait_gone(worker)
        assert all(wait_gone(pid) for pid in algorithms)  # the algorithm does not outlive its worker

        with running_server(home) as server:
            sm = server.client("sagemaker")
            desc = sm.describe_training_job(TrainingJobName="crash-server-victim")
            assert desc["TrainingJobStatus"] == "Failed"
            assert desc["FailureReason"] == worker_died_reason(worker)
            deadline = time.monotonic() + 180
            while True:
                desc = sm.describe_training_job(TrainingJobName="crash-server-survives")
                if desc["TrainingJobStatus"] != "InProgress" or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
            head = server.client("s3").head_object(
                Bucket="crash", Key="out/crash-server-survives/output/model.tar.gz"
            )
            assert head["ContentLength"] > 0
            in_progress = sm.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"]
            assert in_progress == []
    finally:
        kill_leftover_workers(home)
    assert_store_consistent(home)


# --- nothing half-written is ever visible -----------------------------------------------------------------

_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sagelocal.service.objectstore import ObjectStore
    from sagelocal.service.training import artifacts

    class Slow:
        def __init__(self):
            self.sent = 0
        def read(self, n=-1):
            if self.sent == 0:
                print("writing", flush=True)
            time.sleep(0.01)
            self.sent += 1
            return b"x" * 65536

    what, root = sys.argv[1], Path(sys.argv[2])
    if what == "object":
        ObjectStore(root).put_object("bucket", "data/big.bin", Slow())
    else:
        import tarfile
        original = tarfile.TarFile.addfile
        def slow_addfile(self, info, fileobj=None):
            print("writing", flush=True)
            time.sleep(60)
        tarfile.TarFile.addfile = slow_addfile
        artifacts.make_tar_gz(root / "model", root / "out" / "model.tar.gz")
    """
)


def _start_writer(what: str, root: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, what, str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    return process


def test_an_object_killed_mid_write_is_never_visible(tmp_path: Path) -> None:
    root = tmp_path / "s3"
    store = ObjectStore(root)
    store.create_bucket("bucket")
    store.put_object("bucket", "data/big.bin", b"old")
    writer = _start_writer("object", root)
    writer.kill()
    writer.wait(timeout=10)

    # Readers still see the complete old object, and the listing shows nothing else.
    with store.open_object("bucket", "data/big.bin") as f:
        assert f.read() == b"old"
    listing = store.list_objects("bucket", prefix="")
    assert [o.key for o in listing.contents] == ["data/big.bin"]
    assert sorted(p.name for p in (root / "bucket" / "data").iterdir()) == ["big.bin"]
    # The partial bytes exist only in the store's staging area.
    staged = [p for p in (root / ".staging").iterdir() if p.name.startswith("tmp-")]
    assert len(staged) == 1 and staged[0].stat().st_size > 0


def test_a_tarball_killed_mid_write_is_never_visible(tmp_path: Path) -> None:
    write_files(tmp_path / "model", {"xgboost-model": b"m" * 1000})
    writer = _start_writer("tar", tmp_path)
    writer.kill()
    writer.wait(timeout=10)
    out = tmp_path / "out"
    assert not (out / "model.tar.gz").exists()
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == []
    # A complete write publishes the whole archive under its name at once.
    artifacts.make_tar_gz(tmp_path / "model", out / "model.tar.gz")
    with tarfile.open(out / "model.tar.gz") as tar:
        assert tar.getnames() == ["xgboost-model"]


def test_readers_never_see_a_partial_object_while_it_is_rewritten(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s3")
    store.create_bucket("bucket")
    versions = [bytes([i]) * (256 * 1024 + i) for i in range(1, 6)]
    store.put_object("bucket", "model.tar.gz", versions[0])
    stop = threading.Event()
    seen: set[int] = set()
    bad: list[int] = []

    def read() -> None:
        while not stop.is_set():
            with store.open_object("bucket", "model.tar.gz") as f:
                body = f.read()
            if body not in versions:
                bad.append(len(body))
            seen.add(body[0])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(20):
            for body in versions:
                store.put_object("bucket", "model.tar.gz", body)
    finally:
        stop.set()
        reader.join()
    assert bad == []
    assert len(seen) > 1


# --- SQLite: WAL and busy timeouts ------------------------------------------------------------------------


def test_sqlite_runs_in_wal_mode_with_busy_timeouts(home: Path, backend: LocalBackend) -> None:
    conn = backend.emulator.db.conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS >= 5000
    meta = sqlite3.connect(str(home / "s3" / ".meta.db"))
    try:
        assert meta.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        meta.close()


def test_a_writer_waits_for_a_held_lock_instead_of_failing(home: Path, train_uri: str) -> None:
    """Another process holds the write lock for a second; a job insert waits for it and succeeds."""
    store = JobStore(db.Database(home / "sagelocal.db"))
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(
            """
            import sqlite3, sys, time
            conn = sqlite3.connect(sys.argv[1], isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            time.sleep(1.5)
            conn.execute("COMMIT")
            """
        ), str(home / "sagelocal.db")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    record = store.insert("crash-locked", "process", request("crash-locked", [channel("train", train_uri)]))
    assert holder.wait(timeout=30) == 0
    assert record.status == "InProgress"
    assert store.require("crash-locked").name == "crash-locked"
