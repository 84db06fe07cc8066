"""The seam between the job supervisor and whatever executes ``train`` over the job's container layout."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from sagelocal.aws.errors import JobFailure
from sagelocal.contract import FIRST_HOST

#: Seconds between SIGTERM and SIGKILL when a job is stopped or exceeds MaxRuntimeInSeconds.
STOP_GRACE_SECONDS = 3.0


class RunnerError(JobFailure):
    """The runner could not start the algorithm (image missing, engine down…)."""


@dataclass
class AlgorithmRun:
    ml_root: Path  # host path of the job's container layout (``sagelocal.contract``)
    image_uri: str  # the request's TrainingImage
    image_version: str | None  # sagelocal's XGBoost version for that image, if it is one
    environment: dict[str, str] = field(default_factory=dict)  # request Environment
    on_line: Callable[[str], None] = print  # called with each output line (no trailing newline), as it comes
    job: str = ""  # the training job's name (default: the layout folder's name)
    host: str = FIRST_HOST  # the training host this run is (its container's hostname)
    #: sagelocal's own variables for the algorithm (``Cluster.environment``), applied after the request's
    platform_env: dict[str, str] = field(default_factory=dict)
    network: str | None = None  # the job's container network (docker, several hosts)


@dataclass
class Cluster:
    """How a job's hosts reach each other: the container network they share (docker), and the variables of
    sagelocal's own every host's algorithm gets (local: the host-name -> loopback map and tracker port,
    ``contract.HOST_ADDRESSES_ENV``)."""

    network: str | None = None
    environment: dict[str, str] = field(default_factory=dict)


@dataclass
class RunOutcome:
    exit_code: int
    ended_by: Literal["exit", "stop", "max_runtime"] = "exit"


class Runner(Protocol):
    def prepare_image(self, image_uri: str, image_version: str | None) -> None:
        """The "Downloading the training image" phase: make the image runnable (pull or build it).
        Raises RunnerError."""
        ...

    def open_cluster(self, job: str, hosts: list[str]) -> Cluster:
        """Before the hosts of a job with several start: what lets them reach each other by name. Raises
        RunnerError."""
        ...

    def close_cluster(self, cluster: Cluster) -> None:
        """After every host ended: remove what :meth:`open_cluster` made."""
        ...

    def run(self, run: AlgorithmRun, stop: threading.Event, deadline: float | None) -> RunOutcome:
        """Run ``train`` to completion. When ``stop`` is set, or ``time.monotonic()`` passes ``deadline``, send
        SIGTERM, wait STOP_GRACE_SECONDS, then kill; report why in ``ended_by``. Raises RunnerError."""
        ...


class StopWatch:
    """Ends a run when it is stopped or passes its deadline. From a thread, it watches ``stop`` and ``deadline``;
    when either fires it calls ``terminate`` (SIGTERM) and, if the run has not ended STOP_GRACE_SECONDS later,
    ``kill``. Use it as a context manager around reading the algorithm's output; ``ended_by`` says why it ended."""

    def __init__(
        self,
        stop: threading.Event,
        deadline: float | None,
        terminate: Callable[[], None],
        kill: Callable[[], None],
    ) -> None:
        self._stop, self._deadline = stop, deadline
        self._terminate, self._kill = terminate, kill
        self._done = threading.Event()
        self._reason: Literal["exit", "stop", "max_runtime"] = "exit"
        self._thread = threading.Thread(target=self._watch, name="sagelocal-stop-watch", daemon=True)

    @property
    def ended_by(self) -> Literal["exit", "stop", "max_runtime"]:
        return self._reason

    def __enter__(self) -> StopWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.is_set():
            timeout = 0.05
            if self._deadline is not None:
                timeout = max(0.0, min(timeout, self._deadline - time.monotonic()))
            if self._stop.wait(timeout):
                self._reason = "stop"
            elif self._deadline is not None and time.monotonic() >= self._deadline:
                self._reason = "max_runtime"
            else:
                continue
            self._terminate()
            if not self._done.wait(STOP_GRACE_SECONDS):
                self._kill()
            return
