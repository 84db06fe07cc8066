"""Printing a training job's progress exactly as SageMaker Python SDK v2's ``Estimator.fit()`` does.

This mirrors ``sagemaker.session._logs_for_job`` (reference sagemaker-api §8), polling faster:

* first the status line(s) of the first DescribeTrainingJob, with no newline;
* on every poll the new log events (messages as stored, so tabs show as ``#011``), or a ``.`` while the job
  has written no log yet (no log stream exists), at most one a second;
* when the secondary status changed, ``\\n`` and then every transition added since the last print, each
  stamped ``YYYY-MM-DD HH:MM:SS`` with the description's ``LastModifiedTime`` in UTC;
* at a terminal status ``\\n``, one more pause and a last log flush;
* after completion ``Training seconds: N`` and ``Billable seconds: N`` (times the instance count).

Like the SDK, a blank line separates the last log line from the next status line. Unlike the SDK, whose
``dot`` flag never reaches its caller so that the first log line runs on after the dots or the status line
(``…Downloading input dataArguments: train``), every line here ends with a newline: the CLI's output is read
line by line (``grep``, ``head``, a log file).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from sagelocal.backends import TERMINAL_STATUSES, Backend

MIN_DOT_INTERVAL = 1.0
#: ``sagemaker.logs.ColorWrap`` colours, one per log stream, used when the output is a terminal.
STREAM_COLORS = (34, 35, 32, 36, 33)


def utc_stamp(value: Any) -> str:
    """``LastModifiedTime`` as the SDK prints it: ``%Y-%m-%d %H:%M:%S`` in UTC."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(float(value), tz=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def status_message(description: dict[str, Any] | None, previous: dict[str, Any] | None) -> str:
    """``sagemaker.utils.secondary_training_status_message``: the transitions to print, joined by newlines.

    All transitions added since ``previous`` (all of them when ``previous`` is None); only the last one when
    their number did not grow. Every line carries the same stamp, ``description["LastModifiedTime"]``.
    """
    transitions = (description or {}).get("SecondaryStatusTransitions") or []
    if not transitions:
        return ""
    assert description is not None
    before = len((previous or {}).get("SecondaryStatusTransitions") or [])
    to_print = transitions[-1:] if len(transitions) == before else transitions[before:]
    stamp = utc_stamp(description.get("LastModifiedTime") or description.get("CreationTime"))
    return "\n".join(f"{stamp} {t['Status']} - {t['StatusMessage']}" for t in to_print)


def status_changed(description: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """``sagemaker.utils.secondary_training_status_changed`` (last message differs), or more transitions."""
    transitions = description.get("SecondaryStatusTransitions") or []
    if not transitions:
        return False
    before = (previous or {}).get("SecondaryStatusTransitions") or []
    last = before[-1]["StatusMessage"] if before else ""
    return transitions[-1]["StatusMessage"] != last or len(transitions) > len(before)


def through_training(description: dict[str, Any]) -> dict[str, Any] | None:
    """``description`` as it stood in its last Training phase (its transitions up to that one), or None."""
    transitions = description.get("SecondaryStatusTransitions") or []
    last = max((i for i, t in enumerate(transitions) if t["Status"] == "Training"), default=None)
    if last is None:
        return None
    return {**description, "SecondaryStatusTransitions": transitions[: last + 1]}


def instance_count(description: dict[str, Any]) -> int:
    """As ``_logs_init``: ``ResourceConfig.InstanceCount``, or the sum over ``InstanceGroups``."""
    resources = description.get("ResourceConfig") or {}
    if "InstanceCount" in resources:
        return int(resources["InstanceCount"])
    return sum(int(g.get("InstanceCount", 0)) for g in resources.get("InstanceGroups") or []) or 1


def seconds_lines(description: dict[str, Any]) -> list[str]:
    """The lines the SDK prints after a job that did not fail."""
    count = instance_count(description)
    lines = []
    training = description.get("TrainingTimeInSeconds")
    billable = description.get("BillableTimeInSeconds")
    if training is not None:
        lines.append(f"Training seconds: {training * count}")
    if billable is not None:
        lines.append(f"Billable seconds: {billable * count}")
        if description.get("EnableManagedSpotTraining") and training:
            lines.append(f"Managed Spot Training savings: {(1 - float(billable) / training) * 100:.1f}%")
    return lines


def _is_log_group_missing(error: Exception) -> bool:
    code = getattr(error, "code", None)
    if code is None:
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
    return code == "ResourceNotFoundException"


@dataclass
class JobWatcher:
    """Follows one job on ``backend`` and writes SDK-format progress to ``out`` (stdout when None).

    ``poll_interval`` defaults to ``backend.poll_interval``; DescribeTrainingJob is called at most every
    ``describe_interval`` seconds, by default ``backend.describe_interval`` (0: on every poll; the SDK polls
    every 10 s and describes every 30 s).
    """

    backend: Backend
    name: str
    out: TextIO | None = None
    poll_interval: float | None = None
    describe_interval: float | None = None
    dot_interval: float | None = None
    color: bool | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _position: tuple[int, int] = (0, 0)  # (timestamp of the last printed event, events printed at it)
    _seen_events: bool = False
    _streams: dict[str, int] = field(default_factory=dict)
    _line_open: bool = False  # the output does not end with a newline
    _last_dot: float | None = None
    #: Called with every DescribeTrainingJob document and with every new log event, once each (the live
    #: display of ``sagelocal train`` on a terminal reads phase, round and metrics from them).
    on_describe: Callable[[dict[str, Any]], None] | None = None
    on_event: Callable[[dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        if self.poll_interval is None:
            self.poll_interval = float(self.backend.poll_interval)
        if self.describe_interval is None:
            self.describe_interval = float(self.backend.describe_interval)
        if self.dot_interval is None:
            # The SDK prints a dot per 10 s poll; polling fast, a dot per poll would flood a long wait
            # (e.g. a Docker image build), so dots come at most once a second.
            self.dot_interval = max(self.poll_interval, MIN_DOT_INTERVAL)

    @property
    def stream(self) -> TextIO:
        return self.out if self.out is not None else sys.stdout

    def write(self, text: str) -> None:
        if text:
            self.stream.write(text)
            self.stream.flush()
            self._line_open = not text.endswith("\n")

    def _colorize(self) -> bool:
        if self.color is not None:
            return self.color
        if os.environ.get("NO_COLOR"):
            return False
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty()) or bool(os.environ.get("JPY_PARENT_PID"))

    def flush_logs(self, dot: bool = True) -> None:
        """Print the log events not printed yet, or (``dot``) a dot while the job has no log."""
        try:
            start = self._position[0] if self._seen_events else None
            events = self.backend.get_log_events(self.name, start_time=start)
        except Exception as error:
            if not _is_log_group_missing(error):
                raise
            events = []
        if not events and not self._seen_events:
            if not dot:
                return
            if self.dot_interval:
                now = self.clock()
                if self._last_dot is not None and now - self._last_dot < self.dot_interval:
                    return
                self._last_dot = now
            self.write(".")
            return
        self._seen_events = True
        timestamp, skip = self._position
        colorize = self._colorize()
        for event in events:
            ts = int(event["timestamp"])
            if ts < timestamp:
                continue
            if ts == timestamp and skip > 0:
                skip -= 1
                continue
            message = event["message"]
            if self.on_event is not None:
                self.on_event(event)
            if colorize:
                index = self._streams.setdefault(event.get("logStreamName", ""), len(self._streams))
                message = f"\x1b[{STREAM_COLORS[index % len(STREAM_COLORS)]}m{message}\x1b[0m"
            if self._line_open:
                self.write("\n")
            self.write(message + "\n")
            timestamp, count = self._position
            self._position = (ts, count + 1) if ts == timestamp else (ts, 1)
            timestamp, skip = self._position[0], 0

    def watch(self, wait: bool = True) -> dict[str, Any]:
        """Print progress until the job ends (or once, unless ``wait``); return the last description."""
        description = self.backend.describe_training_job(self.name)
        if self.on_describe is not None:
            self.on_describe(description)
        self.write(status_message(description, None))
        last_printed = description
        last_describe = self.clock()
        state = (
            "tailing" if wait and description["TrainingJobStatus"] not in TERMINAL_STATUSES else "complete"
        )
        while True:
            self.flush_logs()
            if state == "complete":
                break
            self.sleep(self.poll_interval or 0.0)
            if state == "job_complete":
                state = "complete"
            elif self.clock() - last_describe >= (self.describe_interval or 0.0):
                description = self.backend.describe_training_job(self.name)
                last_describe = self.clock()
                if self.on_describe is not None:
                    self.on_describe(description)
                if description["TrainingJobStatus"] in TERMINAL_STATUSES:
                    # A job's log lines are all stored before it ends: print them after its Training line and
                    # before the phases that followed, as SageMaker's transcripts end, however soon after its
                    # last line the job ended (the SDK's loop prints them last when the end falls between two
                    # of its polls).
                    training = through_training(description)
                    printed = len((last_printed or {}).get("SecondaryStatusTransitions") or [])
                    if training is not None and len(training["SecondaryStatusTransitions"]) > printed:
                        self.write("\n" + status_message(training, last_printed))
                        last_printed = training
                    self.flush_logs(dot=False)
                if status_changed(description, last_printed):
                    self.write("\n" + status_message(description, last_printed))
                    last_printed = description
                if description["TrainingJobStatus"] in TERMINAL_STATUSES:
                    self.write("\n")
                    state = "job_complete"
        if self._line_open:
            # Only when the job had already ended at the first describe (e.g. ``jobs logs --follow`` on an old
            # job): the SDK would run the seconds lines on, after a dot or the last status line.
            self.write("\n")
        return description
