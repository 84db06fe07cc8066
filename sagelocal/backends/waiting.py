"""The one way to wait for a resource to settle, shared by every backend's ``wait`` and ``wait_endpoint``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sagelocal.aws.errors import ValidationException
from sagelocal.backends.base import ENDPOINT_TRANSITIONAL_STATUSES, TERMINAL_STATUSES, BackendError


def poll(
    describe: Callable[[str], dict[str, Any]],
    name: str,
    interval: float,
    timeout: float | None,
    settled: Callable[[dict[str, Any]], bool],
    still: Callable[[dict[str, Any]], str],
    what: str,
) -> dict[str, Any]:
    """Call ``describe(name)`` every ``interval`` seconds until ``settled(document)`` and return that document.
    With ``timeout``, give up (BackendError, one line naming ``what`` and ``still(document)``) rather than sleep
    past it."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        document = describe(name)
        if settled(document):
            return document
        if deadline is not None and time.monotonic() + interval > deadline:
            raise BackendError(
                f"Timed out after {timeout:g} s waiting for {what} {name}; it is still {still(document)}."
            )
        time.sleep(interval)


def wait_until_ended(
    describe: Callable[[str], dict[str, Any]], name: str, interval: float, timeout: float | None
) -> dict[str, Any]:
    """Until the training job is Completed, Failed or Stopped; returns that DescribeTrainingJob document."""
    return poll(
        describe,
        name,
        interval,
        timeout,
        lambda job: job.get("TrainingJobStatus") in TERMINAL_STATUSES,
        lambda job: f"{job.get('TrainingJobStatus')} ({job.get('SecondaryStatus')})",
        "training job",
    )


def wait_until_endpoint_settled(
    describe: Callable[[str], dict[str, Any]], name: str, interval: float, timeout: float | None
) -> dict[str, Any]:
    """Until the endpoint is no longer Creating, Updating, SystemUpdating, RollingBack or Deleting; returns that
    DescribeEndpoint document, or ``{}`` once there is no such endpoint (deleted: as botocore's EndpointDeleted
    waiter, the ValidationException is the success)."""

    def look(endpoint: str) -> dict[str, Any]:
        try:
            return describe(endpoint)
        except ValidationException:
            return {}

    return poll(
        look,
        name,
        interval,
        timeout,
        lambda doc: doc.get("EndpointStatus") not in ENDPOINT_TRANSITIONAL_STATUSES,
        lambda doc: str(doc.get("EndpointStatus")),
        "endpoint",
    )


def wait_until_transform_ended(
    describe: Callable[[str], dict[str, Any]], name: str, interval: float, timeout: float | None
) -> dict[str, Any]:
    """Until the transform job is Completed, Failed or Stopped; returns that DescribeTransformJob document."""
    return poll(
        describe,
        name,
        interval,
        timeout,
        lambda job: job.get("TransformJobStatus") in TERMINAL_STATUSES,
        lambda job: str(job.get("TransformJobStatus")),
        "transform job",
    )
