"""The fit()-style progress printer: exact SDK v2 line formats (reference sagemaker-api §8).

A small scripted Backend stands in for a job here: each describe call returns the next scripted state, and log
events become visible at given polls. The end-to-end runs against the real local backend are in test_demo.py.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from support.builders import PHASES

from sagelocal.cli.watch import JobWatcher, seconds_lines, status_changed, status_message, utc_stamp

T0 = datetime(2020, 7, 11, 11, 34, 39, tzinfo=UTC)


def describe(n_transitions: int, modified: datetime, *, failed: bool = False, **extra: Any) -> dict[str, Any]:
    """A DescribeTrainingJob document after the first ``n_transitions`` phases."""
    phases = PHASES[:n_transitions]
    if failed:
        phases = [*PHASES[: n_transitions - 1], ("Failed", "Training job failed")]
    transitions = [
        {"Status": s, "StatusMessage": m, "StartTime": T0 + timedelta(seconds=10 * i)}
        for i, (s, m) in enumerate(phases)
    ]
    last = phases[-1][0]
    status = {"Completed": "Completed", "Failed": "Failed", "Stopped": "Stopped"}.get(last, "InProgress")
    doc = {
        "TrainingJobName": "xgb-1",
        "TrainingJobStatus": status,
        "SecondaryStatus": last,
        "ResourceConfig": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "CreationTime": T0,
        "LastModifiedTime": modified,
        "SecondaryStatusTransitions": transitions,
    }
    doc.update(extra)
    return doc


class ScriptedBackend:
    """Describe call ``i`` returns ``states[min(i, last)]``; log events appear once ``describes`` reaches
    their ``after`` count. ``get_log_events`` honours ``start_time`` inclusively, as CloudWatch does."""

    name = "local"
    poll_interval = 0.2
    describe_interval = 0.0

    def __init__(self, states: list[dict[str, Any]], events: list[tuple[int, int, str]]) -> None:
        self.states = states
        self.events = events  # (visible after this many describes, timestamp ms, message)
        self.describes = 0
        self.log_calls: list[int | None] = []

    def describe_training_job(self, name: str) -> dict[str, Any]:
        state = self.states[min(self.describes, len(self.states) - 1)]
        self.describes += 1
        return state

    def get_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        self.log_calls.append(start_time)
        return [
            {"logStreamName": "xgb-1/algo-1-1594467279", "timestamp": ts, "message": msg, "ingestionTime": ts}
            for after, ts, msg in self.events
            if self.describes >= after and (start_time is None or ts >= start_time)
        ]


def run(backend: ScriptedBackend) -> tuple[str, dict[str, Any]]:
    out = io.StringIO()
    final = JobWatcher(
        backend, "xgb-1", out=out, poll_interval=0.0, dot_interval=0.0, sleep=lambda s: None, color=False
    ).watch()
    return out.getvalue(), final


def stamp(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_sdk_transcript_with_logs() -> None:
    """The transcript of §8 (logs on), line for line."""
    backend = ScriptedBackend(
        [
            describe(1, stamp(0)),
            describe(2, stamp(10)),
            describe(3, stamp(20)),
            describe(4, stamp(30)),
            describe(5, stamp(40)),
            describe(6, stamp(50)),
            describe(7, stamp(60), TrainingTimeInSeconds=53, BillableTimeInSeconds=53),
        ],
        [(3, 1594467300000, "Arguments: train"), (3, 1594467300001, "[0]#011train-error:0.1")],
    )
    text, final = run(backend)
    assert text == (
        "2020-07-11 11:34:39 Starting - Starting the training job.\n"
        "2020-07-11 11:34:49 Starting - Preparing the instances for training.\n"
        # The SDK runs the first log line on ("…input dataArguments: train"); the CLI ends every line.
        "2020-07-11 11:34:59 Downloading - Downloading input data\n"
        "Arguments: train\n"
        "[0]#011train-error:0.1\n"
        "\n"
        "2020-07-11 11:35:09 Downloading - Downloading the training image\n"
        "2020-07-11 11:35:19 Training - Training image download completed. Training in progress.\n"
        "2020-07-11 11:35:29 Uploading - Uploading generated training model\n"
        "2020-07-11 11:35:39 Completed - Training job completed\n"
    )
    assert final["TrainingJobStatus"] == "Completed"
    assert seconds_lines(final) == ["Training seconds: 53", "Billable seconds: 53"]


def test_fast_job_prints_every_phase_with_the_batch_stamp() -> None:
    """A job that passes several phases between two describes: all new transitions, one LastModifiedTime, and
    its log after its Training line, before the phases that followed (as SageMaker's transcripts end)."""
    backend = ScriptedBackend(
        [describe(1, stamp(0)), describe(7, stamp(3), TrainingTimeInSeconds=2, BillableTimeInSeconds=2)],
        [(2, 1594467280000, "[0]#011train-error:0.1")],
    )
    text, _ = run(backend)
    lines = text.split("\n")
    assert lines[0] == "2020-07-11 11:34:39 Starting - Starting the training job."
    assert lines[1:5] == [f"2020-07-11 11:34:42 {s} - {m}" for s, m in PHASES[1:5]]
    assert lines[5:] == [
        "[0]#011train-error:0.1",
        "",
        *(f"2020-07-11 11:34:42 {s} - {m}" for s, m in PHASES[5:]),
        "",
    ]


def test_log_lines_are_not_repeated_across_polls() -> None:
    """Events at the same millisecond are resumed by (timestamp, skip), as the SDK does."""
    backend = ScriptedBackend(
        [describe(5, stamp(0)), describe(5, stamp(0)), describe(5, stamp(0)), describe(7, stamp(9))],
        [
            (0, 1000, "a"),
            (0, 1000, "b"),
            (2, 1000, "c"),  # same timestamp as already printed lines, arrives later
            (2, 2000, "d"),
            (3, 2000, "e"),
        ],
    )
    text, _ = run(backend)
    assert "Training in progress.\na\nb\nc\nd\ne\n\n2020-07-11 11:34:48 Uploading" in text
    assert [line for line in text.split("\n") if len(line) == 1] == ["a", "b", "c", "d", "e"]  # no repeats
    assert backend.log_calls[0] is None
    assert backend.log_calls[-1] == 2000


def test_failed_job_prints_its_last_logs_then_the_failed_line() -> None:
    """The algorithm's last lines (its error) were stored before the job failed: they come before the final
    transition, ``Failed - Training job failed``."""
    backend = ScriptedBackend(
        [describe(5, stamp(0)), describe(6, stamp(5), failed=True, FailureReason="AlgorithmError: boom")],
        [(2, 1594467280000, "ERROR: boom")],
    )
    text, final = run(backend)
    assert text == (
        "2020-07-11 11:34:39 Starting - Starting the training job\n"
        "2020-07-11 11:34:39 Starting - Preparing the instances for training\n"
        "2020-07-11 11:34:39 Downloading - Downloading input data\n"
        "2020-07-11 11:34:39 Downloading - Downloading the training image\n"
        "2020-07-11 11:34:39 Training - Training image download completed. Training in progress..\n"
        "ERROR: boom\n"
        "\n2020-07-11 11:34:44 Failed - Training job failed\n"
    )
    assert final["TrainingJobStatus"] == "Failed"


def test_status_message_formats() -> None:
    d1 = describe(1, stamp(0))
    d3 = describe(3, stamp(25))
    assert status_message(None, None) == ""
    assert status_message({"SecondaryStatusTransitions": []}, None) == ""
    assert status_message(d1, None) == "2020-07-11 11:34:39 Starting - Starting the training job"
    assert status_message(d3, d1) == (
        "2020-07-11 11:35:04 Starting - Preparing the instances for training\n"
        "2020-07-11 11:35:04 Downloading - Downloading input data"
    )
    # same number of transitions, changed message: only the last
    changed = describe(3, stamp(30))
    changed["SecondaryStatusTransitions"][-1]["StatusMessage"] = "Downloading input data (retry)"
    assert status_changed(changed, d3)
    assert status_message(changed, d3) == "2020-07-11 11:35:09 Downloading - Downloading input data (retry)"
    assert not status_changed(describe(3, stamp(40)), d3)


def test_utc_stamp_converts_zones_and_epochs() -> None:
    eastern = datetime(2020, 7, 11, 11, 34, 39, tzinfo=UTC).astimezone(timezone(timedelta(hours=-4)))
    assert eastern.hour == 7
    assert utc_stamp(eastern) == "2020-07-11 11:34:39"
    assert utc_stamp(1594467279.0) == "2020-07-11 11:34:39"
    assert utc_stamp(datetime(2020, 7, 11, 11, 34, 39)) == "2020-07-11 11:34:39"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {
                "ResourceConfig": {"InstanceCount": 2},
                "TrainingTimeInSeconds": 53,
                "BillableTimeInSeconds": 50,
            },
            ["Training seconds: 106", "Billable seconds: 100"],
        ),
        ({"ResourceConfig": {"InstanceCount": 1}}, []),
        (
            {
                "ResourceConfig": {"InstanceCount": 1},
                "TrainingTimeInSeconds": 100,
                "BillableTimeInSeconds": 40,
                "EnableManagedSpotTraining": True,
            },
            ["Training seconds: 100", "Billable seconds: 40", "Managed Spot Training savings: 60.0%"],
        ),
        (
            {
                "ResourceConfig": {"InstanceGroups": [{"InstanceCount": 2}, {"InstanceCount": 1}]},
                "TrainingTimeInSeconds": 10,
                "BillableTimeInSeconds": 10,
            },
            ["Training seconds: 30", "Billable seconds: 30"],
        ),
    ],
)
def test_seconds_lines(doc: dict[str, Any], expected: list[str]) -> None:
    assert seconds_lines(doc) == expected


def test_dots_only_while_no_log_exists_and_log_group_missing_is_a_dot() -> None:
    class NoGroupYet(ScriptedBackend):
        def get_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
            if self.describes < 3:
                error = Exception("The specified log group does not exist.")
                error.code = "ResourceNotFoundException"  # type: ignore[attr-defined]
                raise error
            return super().get_log_events(name, start_time)

    backend = NoGroupYet(
        [
            describe(1, stamp(0)),
            describe(1, stamp(0)),
            describe(1, stamp(0)),
            describe(1, stamp(0)),
            describe(7, stamp(9)),
        ],
        [(3, 5, "hello")],
    )
    text, _ = run(backend)
    assert text.startswith(
        "2020-07-11 11:34:39 Starting - Starting the training job..\nhello\n\n2020-07-11 11:34:48"
    )


def test_other_log_errors_propagate() -> None:
    class Broken(ScriptedBackend):
        def get_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        run(Broken([describe(1, stamp(0))], []))


def test_colour_per_stream_on_a_terminal() -> None:
    backend = ScriptedBackend([describe(5, stamp(0)), describe(7, stamp(1))], [(0, 1, "x")])
    out = io.StringIO()
    JobWatcher(backend, "xgb-1", out=out, poll_interval=0.0, sleep=lambda s: None, color=True).watch()
    assert "\x1b[34mx\x1b[0m\n" in out.getvalue()


def test_poll_interval_comes_from_the_backend() -> None:
    class Slow(ScriptedBackend):
        poll_interval = 10.0
        describe_interval = 30.0

    watcher = JobWatcher(Slow([describe(7, stamp(0))], []), "xgb-1")
    assert (watcher.poll_interval, watcher.describe_interval) == (10.0, 30.0)
    assert JobWatcher(ScriptedBackend([describe(7, stamp(0))], []), "x").poll_interval == 0.2


def test_describe_interval_limits_describes() -> None:
    clock = iter(range(0, 10_000, 10))  # each clock() call advances 10 s
    backend = ScriptedBackend([describe(1, stamp(0)), describe(7, stamp(60))], [])
    watcher = JobWatcher(
        backend,
        "xgb-1",
        out=io.StringIO(),
        poll_interval=10.0,
        describe_interval=30.0,
        dot_interval=0.0,
        sleep=lambda s: None,
        clock=lambda: float(next(clock)),
        color=False,
    )
    watcher.watch()
    text = watcher.out.getvalue()  # type: ignore[union-attr]
    # a describe only once 30 s passed: three polls print three dots before the next status line
    assert text.startswith("2020-07-11 11:34:39 Starting - Starting the training job...\n2020-07-11 11:35:39")
    assert backend.describes == 2


def test_dots_are_rate_limited_while_polling_fast() -> None:
    """Polling every 0.2 s, a dot comes at most once a second (the SDK's come once per 10 s poll)."""
    now_ms = [0]

    def sleep(seconds: float) -> None:
        now_ms[0] += round(seconds * 1000)

    backend = ScriptedBackend([describe(1, stamp(0))] * 11 + [describe(7, stamp(9))], [(12, 1, "log")])
    watcher = JobWatcher(
        backend,
        "xgb-1",
        out=io.StringIO(),
        poll_interval=0.2,
        sleep=sleep,
        clock=lambda: now_ms[0] / 1000,
        color=False,
    )
    assert watcher.dot_interval == 1.0
    watcher.watch()
    first = watcher.out.getvalue().splitlines()[0]  # type: ignore[union-attr]
    # 11 polls without a log, at 0.0, 0.2, …, 2.0 s: dots at 0, 1 and 2 s
    assert first == "2020-07-11 11:34:39 Starting - Starting the training job..."


def test_last_log_lines_of_a_job_that_ends_between_two_polls_come_before_its_last_phases() -> None:
    """The supervisor stores every log line before it ends the job; a watcher that sees the end in one poll
    still prints those lines first, then Uploading and Completed."""
    backend = ScriptedBackend(
        [describe(5, stamp(0)), describe(5, stamp(0)), describe(7, stamp(9))],
        [(0, 1000, "[0]#011train-error:0.1"), (3, 2000, "[99]#011train-error:0.05")],
    )
    text, _ = run(backend)
    assert text.endswith(
        "Training in progress.\n"
        "[0]#011train-error:0.1\n"
        "[99]#011train-error:0.05\n"
        "\n"
        "2020-07-11 11:34:48 Uploading - Uploading generated training model\n"
        "2020-07-11 11:34:48 Completed - Training job completed\n"
    )
