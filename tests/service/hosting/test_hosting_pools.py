"""The runtime's kept-alive connections to endpoint instances do not outlive the instances: an instance killed
and replaced behind the runtime's back, or an endpoint deleted, leaves no socket open in the process that
invoked it (a long-running ``sagelocal serve`` would otherwise collect one per replaced instance)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hosting import (
    CSV,
    assert_scores,
    config_request,
    expected_scores,
    instance_rows,
    kill_leftover_endpoints,
    model_request,
    model_tarball,
    serve_pids,
    wait_gone,
    wait_settled,
)

from sagelocal.service.hosting.service import Hosting
from sagelocal.service.service import Emulator

BUCKET = "models"


def sockets_to(port: int) -> list[str]:
    """The TCP states (hex, as /proc/net/tcp shows them) of this process's sockets connected to loopback
    ``port``: ``01`` established, ``08`` close-wait (the peer is gone, the socket kept open here)."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    states = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[9] in inodes:
                states.append(fields[3])
    return states


@pytest.fixture
def hosting(home: Path) -> Iterator[Hosting]:
    emulator = Emulator(home=home)
    emulator.objects.create_bucket(BUCKET)
    yield emulator.hosting
    kill_leftover_endpoints(home)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the socket table of Linux's /proc")
def test_connections_to_a_replaced_or_deleted_instance_are_closed(
    hosting: Hosting, home: Path, tmp_path: Path
) -> None:
    tarball, model_dir = model_tarball(tmp_path, "3.0-5")
    hosting.objects.put_object(BUCKET, "pool/model.tar.gz", tarball)
    hosting.create_model(model_request("pool", "3.0-5", f"s3://{BUCKET}/pool/model.tar.gz"))
    hosting.create_endpoint_config(config_request("pool", "pool"))
    hosting.create_endpoint({"EndpointName": "pool", "EndpointConfigName": "pool"})
    assert wait_settled(hosting.describe_endpoint, "pool")["EndpointStatus"] == "InService"
    expected = expected_scores(model_dir)

    assert_scores(hosting.invoke_endpoint("pool", CSV, "text/csv").body, "3.0-5", expected)
    [(old_id, old_port, _)] = instance_rows(home, "pool")
    assert sockets_to(old_port) == ["01"]  # one idle kept-alive connection

    [pid] = serve_pids(home)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while not (rows := instance_rows(home, "pool")) or rows[0][0] == old_id:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    [(_, new_port, _)] = rows
    while hosting.describe_endpoint("pool")["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert_scores(hosting.invoke_endpoint("pool", CSV, "text/csv").body, "3.0-5", expected)
    # the killed instance's connection (close-wait since its peer died) is closed, not kept
    assert sockets_to(old_port) == [] or new_port == old_port
    assert sockets_to(new_port) == ["01"]

    hosting.delete_endpoint("pool")
    wait_gone(hosting.describe_endpoint, "pool")
    assert sockets_to(new_port) == []
