"""Nothing of ``sagelocal serve`` outlives it or lands outside SAGELOCAL_HOME (issue 11, item 9): after kill -9
of the server its fork server and multiprocessing's resource tracker exit even while a job it started runs on;
the fork server's socket folder lives under the state folder and the next server removes a killed one's; S3
request bodies are spooled under the state folder."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

from support.builders import write_files
from support.raw_aws import signed_headers
from support.reliability_cases import (
    ENDLESS,
    alive,
    channel,
    csv_rows,
    request,
    supervisor_pid,
    wait_for_rounds,
    wait_gone,
)
from support.server_fixture import Server, running_server

from sagelocal.backends.local import LocalBackend

FORK_SERVER = "from multiprocessing.forkserver import main"
RESOURCE_TRACKER = "from multiprocessing.resource_tracker import main"


def _children(pid: int) -> dict[int, str]:
    """pid -> command line of ``pid``'s child processes."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def _helpers(server: Server) -> tuple[int, int]:
    children = _children(server.process.pid)
    forkservers = [pid for pid, cmd in children.items() if FORK_SERVER in cmd]
    trackers = [pid for pid, cmd in children.items() if RESOURCE_TRACKER in cmd]
    assert len(forkservers) == 1 and len(trackers) == 1, children
    return forkservers[0], trackers[0]


def _listener_folder(fork_server: int) -> Path:
    """The folder of the fork server's listening socket: the path /proc/net/unix gives the socket inode the
    fork server holds."""
    inodes = set()
    for fd in Path(f"/proc/{fork_server}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[6] in inodes and "/listener-" in fields[7]:
            return Path(fields[7]).parent
    raise AssertionError(f"no listening socket found for the fork server {fork_server}")


def _dead_pid() -> int:
    pid = 4_000_000
    while alive(pid):
        pid += 1
    return pid


def test_kill_9_of_serve_takes_its_fork_server_and_tracker_along(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = write_files(tmp_path / "data", {"train.csv": csv_rows(rows=300, features=5)})
    job = request(
        "leftover-job", [channel("train", "s3://leftover/train")], ENDLESS, output="s3://leftover/out"
    )
    with running_server(home) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="leftover")
        s3.upload_file(str(data / "train.csv"), "leftover", "train/train.csv")
        server.client("sagemaker").create_training_job(**job)
        wait_for_rounds(LocalBackend(home=home), "leftover-job", rounds=1)
        fork_server, tracker = _helpers(server)
        worker = supervisor_pid(home, "leftover-job")
        serve_pid = server.process.pid
        temp = _listener_folder(fork_server)
        # Under the state folder, unless its path is too long for a socket (108 bytes on Linux): then in the
        # system's temp folder, still removed by the fork server as it exits.
        if len(str(home / "tmp" / f"mp-{serve_pid}" / "listener-12345678")) <= 107:
            assert temp == home / "tmp" / f"mp-{serve_pid}"

        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        assert wait_gone(fork_server, timeout=120), "the fork server outlived serve"
        assert wait_gone(tracker, timeout=120), "the resource tracker outlived serve"
        assert alive(worker), "the job must survive its server"
        assert not temp.exists(), "the fork server removes its socket folder as it exits"

    # A folder whose server and fork server were both killed is removed by the next server.
    stale = home / "tmp" / f"mp-{_dead_pid()}"
    stale.mkdir()
    (stale / "listener-abcdefgh").touch()
    with running_server(home) as again:
        assert not stale.exists()
        sm = again.client("sagemaker")
        assert sm.describe_training_job(TrainingJobName="leftover-job")["TrainingJobStatus"] == "InProgress"
        sm.stop_training_job(TrainingJobName="leftover-job")
        assert wait_gone(worker, timeout=60)
        fork_server, tracker = _helpers(again)
        temp = _listener_folder(fork_server)
    # A server stopped normally (SIGTERM) takes its helpers and its folder along too. (Generous timeouts: the
    # machine may be busy; what matters is that they go, not how fast.)
    assert wait_gone(fork_server, timeout=120), "the fork server outlived a stopped serve"
    assert wait_gone(tracker, timeout=120), "the resource tracker outlived a stopped serve"
    assert not temp.exists()


def _open_files(pid: int) -> list[str]:
    targets = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue
    return targets


def test_request_bodies_spool_under_the_state_folder(sagelocal_server: Server) -> None:
    """An upload larger than the in-memory spool is written to a file under SAGELOCAL_HOME while it arrives."""
    server = sagelocal_server
    server.client("s3").create_bucket(Bucket="spool")
    size = 3 * 1024 * 1024
    # Signed as botocore signs it; the body is then sent slowly over a raw socket.
    headers = signed_headers(server, "PUT", "/spool/big.bin", {"Content-Length": str(size)})
    head = f"PUT /spool/big.bin HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "host")
    spool = server.home / "tmp" / "requests"
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(head.encode() + b"\r\n")
        conn.sendall(b"x" * (2 * 1024 * 1024))
        deadline = time.monotonic() + 30
        while True:
            files = _open_files(server.process.pid)
            spooled = [f for f in files if f.startswith(str(spool))]
            if spooled or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert spooled, files
        assert not [f for f in files if f.startswith("/tmp/") and not f.startswith(str(server.home))]
        conn.sendall(b"x" * (size - 2 * 1024 * 1024))
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert server.client("s3").head_object(Bucket="spool", Key="big.bin")["ContentLength"] == size
