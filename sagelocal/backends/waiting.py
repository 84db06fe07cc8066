"""The one way to wait for a training job to end, shared by every backend's ``wait``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sagelocal.backends.base import TERMINAL_STATUSES, BackendError


def wait_until_ended(
    describe: Callable[[str], dict[str, Any]], name: str, interval: float, timeout: float | None
) -> dict[str, Any]:
    """Call ``describe(name)`` every ``interval`` seconds until the job is Completed, Failed or Stopped and
    return that document. With ``timeout``, give up (BackendError, one line) rather than sleep past it."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job = describe(name)
        status = job.get("TrainingJobStatus")
        if status in TERMINAL_STATUSES:
            return job
        if deadline is not None and time.monotonic() + interval > deadline:
            raise BackendError(
                f"Timed out after {timeout:g} s waiting for training job {name}; "
                f"it is still {status} ({job.get('SecondaryStatus')})."
            )
        time.sleep(interval)
