"""The seam between the job supervisor and whatever executes ``train`` over the /opt/ml layout."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

#: Seconds between SIGTERM and SIGKILL when a job is stopped or exceeds MaxRuntimeInSeconds.
STOP_GRACE_SECONDS = 3.0


class RunnerError(Exception):
    """The runner could not start the algorithm (image missing, engine down…). ``str()`` is the FailureReason."""


@dataclass
class AlgorithmRun:
    ml_root: Path  # host path of the job's /opt/ml layout
    image_uri: str  # the request's TrainingImage
    image_version: str | None  # sagelocal's XGBoost version for that image, if it is one
    environment: dict[str, str] = field(default_factory=dict)  # request Environment
    on_line: Callable[[str], None] = print  # called with each output line (no trailing newline), as it comes


@dataclass
class RunOutcome:
    exit_code: int
    ended_by: Literal["exit", "stop", "max_runtime"] = "exit"


class Runner(Protocol):
    def prepare_image(self, image_uri: str, image_version: str | None) -> None:
        """The "Downloading the training image" phase: make the image runnable (pull or build it).
        Raises RunnerError."""
        ...

    def run(self, run: AlgorithmRun, stop: threading.Event, deadline: float | None) -> RunOutcome:
        """Run ``train`` to completion. When ``stop`` is set, or ``time.monotonic()`` passes ``deadline``, send
        SIGTERM, wait STOP_GRACE_SECONDS, then kill; report why in ``ended_by``. Raises RunnerError."""
        ...
