"""The CloudWatch-style log store over a real SQLite file: the semantics the SageMaker SDK and boto3
rely on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sagelocal.aws.errors import ResourceNotFoundException
from sagelocal.service.db import Database
from sagelocal.service.logstore import (
    TRAINING_LOG_GROUP,
    InvalidParameterException,
    LogStore,
    render_message,
)

G = TRAINING_LOG_GROUP


@pytest.fixture
def store(tmp_path: Path) -> LogStore:
    return LogStore(tmp_path / "sagelocal.db")


def test_render_message_tabs_and_newline() -> None:
    assert render_message("[0]\ttrain-logloss:0.5\tvalidation-logloss:0.6\n") == (
        "[0]#011train-logloss:0.5#011validation-logloss:0.6"
    )
    assert render_message("no tabs\r\n") == "no tabs"


def test_database_is_wal_with_busy_timeout(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    conn = db.conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_describe_log_streams_missing_group(store: LogStore) -> None:
    with pytest.raises(ResourceNotFoundException) as e:
        store.describe_log_streams(G, prefix="job/")
    assert e.value.message == "The specified log group does not exist."
    assert e.value.code == "ResourceNotFoundException"


def test_describe_log_streams_order_prefix_and_no_token_when_all_fit(store: LogStore) -> None:
    store.put_log_events(G, "job-b/algo-1-100", [(3000, "b")])
    store.put_log_events(G, "job-a/algo-1-200", [(1000, "a1"), (5000, "a2")])
    store.put_log_events(G, "other/algo-1-1", [(2000, "o")])

    result = store.describe_log_streams(G, prefix="job-a/", order_by="LogStreamName", limit=1)
    assert [s["logStreamName"] for s in result["logStreams"]] == ["job-a/algo-1-200"]
    assert "nextToken" not in result
    stream = result["logStreams"][0]
    assert stream["firstEventTimestamp"] == 1000
    assert stream["lastEventTimestamp"] == 5000

    names = [s["logStreamName"] for s in store.describe_log_streams(G)["logStreams"]]
    assert names == ["job-a/algo-1-200", "job-b/algo-1-100", "other/algo-1-1"]
    names = [s["logStreamName"] for s in store.describe_log_streams(G, descending=True)["logStreams"]]
    assert names == ["other/algo-1-1", "job-b/algo-1-100", "job-a/algo-1-200"]
    by_time = store.describe_log_streams(G, order_by="LastEventTime", descending=True)
    assert [s["logStreamName"] for s in by_time["logStreams"]] == [
        "job-a/algo-1-200",
        "job-b/algo-1-100",
        "other/algo-1-1",
    ]


def test_describe_log_streams_pagination(store: LogStore) -> None:
    for i in range(5):
        store.create_log_stream(G, f"job/algo-{i}-1")
    first = store.describe_log_streams(G, prefix="job/", limit=2)
    assert [s["logStreamName"] for s in first["logStreams"]] == ["job/algo-0-1", "job/algo-1-1"]
    second = store.describe_log_streams(G, prefix="job/", limit=2, next_token=first["nextToken"])
    third = store.describe_log_streams(G, prefix="job/", limit=2, next_token=second["nextToken"])
    assert [s["logStreamName"] for s in third["logStreams"]] == ["job/algo-4-1"]
    assert "nextToken" not in third


def test_describe_log_streams_rejects_last_event_time_with_prefix(store: LogStore) -> None:
    store.create_log_stream(G, "job/algo-1-1")
    with pytest.raises(InvalidParameterException) as e:
        store.describe_log_streams(G, prefix="job/", order_by="LastEventTime")
    assert e.value.message == "Cannot order by LastEventTime with a logStreamNamePrefix."


def test_get_log_events_start_time_inclusive_end_time_exclusive(store: LogStore) -> None:
    store.put_log_events(G, "s", [(1000, "one"), (2000, "two"), (2000, "two-b"), (3000, "three")])
    result = store.get_log_events(G, "s", start_time=2000, end_time=3000, start_from_head=True)
    assert [e["message"] for e in result["events"]] == ["two", "two-b"]
    assert all(set(e) == {"timestamp", "message", "ingestionTime"} for e in result["events"])


def test_get_log_events_paging_like_the_sdk(store: LogStore) -> None:
    """The SDK pages with nextForwardToken until a page has 0 events, then polls with the same token."""
    store.put_log_events(G, "s", [(i, f"line {i}") for i in range(1, 6)])
    page = store.get_log_events(G, "s", start_time=0, start_from_head=True, limit=2)
    seen = [e["message"] for e in page["events"]]
    while page["events"]:
        token = page["nextForwardToken"]
        page = store.get_log_events(G, "s", start_time=0, start_from_head=True, limit=2, next_token=token)
        seen += [e["message"] for e in page["events"]]
    assert seen == [f"line {i}" for i in range(1, 6)]
    # Past the end: 0 events and the same forward token.
    again = store.get_log_events(G, "s", start_time=0, start_from_head=True, next_token=token)
    assert again["events"] == []
    assert again["nextForwardToken"] == token
    # New events arrive: the same token picks up exactly those.
    store.put_log_events(G, "s", [(10, "late")])
    later = store.get_log_events(G, "s", start_time=0, start_from_head=True, next_token=token)
    assert [e["message"] for e in later["events"]] == ["late"]


def test_get_log_events_from_tail_and_backward(store: LogStore) -> None:
    store.put_log_events(G, "s", [(i, f"m{i}") for i in range(1, 8)])
    tail = store.get_log_events(G, "s", limit=3)
    assert [e["message"] for e in tail["events"]] == ["m5", "m6", "m7"]
    before = store.get_log_events(G, "s", limit=3, next_token=tail["nextBackwardToken"])
    assert [e["message"] for e in before["events"]] == ["m2", "m3", "m4"]


def test_get_log_events_empty_stream_and_missing_stream(store: LogStore) -> None:
    store.create_log_stream(G, "s")
    empty = store.get_log_events(G, "s", start_from_head=True)
    assert empty["events"] == []
    assert empty["nextForwardToken"] and empty["nextBackwardToken"]
    store.put_log_events(G, "s", [(5, "first")])
    after = store.get_log_events(G, "s", start_from_head=True, next_token=empty["nextForwardToken"])
    assert [e["message"] for e in after["events"]] == ["first"]
    with pytest.raises(ResourceNotFoundException) as e:
        store.get_log_events(G, "nope")
    assert e.value.message == "The specified log stream does not exist."


def test_filter_log_events(store: LogStore) -> None:
    store.put_log_events(G, "job/algo-1-1", [(1, "[0]#011train-error:0.5"), (3, "INFO done")])
    store.put_log_events(G, "job/algo-2-1", [(2, "[0]#011train-error:0.4"), (4, "ERROR bad thing")])
    store.put_log_events(G, "zzz/algo-1-1", [(2, "[0]#011train-error:0.9")])

    result = store.filter_log_events(G, stream_prefix="job/")
    assert [(e["logStreamName"], e["message"]) for e in result["events"]] == [
        ("job/algo-1-1", "[0]#011train-error:0.5"),
        ("job/algo-2-1", "[0]#011train-error:0.4"),
        ("job/algo-1-1", "INFO done"),
        ("job/algo-2-1", "ERROR bad thing"),
    ]
    assert len({e["eventId"] for e in result["events"]}) == 4
    assert "nextToken" not in result

    assert [e["message"] for e in store.filter_log_events(G, filter_pattern="train-error")["events"]] == [
        "[0]#011train-error:0.5",
        "[0]#011train-error:0.4",
        "[0]#011train-error:0.9",
    ]
    assert [e["message"] for e in store.filter_log_events(G, filter_pattern="?ERROR ?INFO")["events"]] == [
        "INFO done",
        "ERROR bad thing",
    ]
    assert [e["message"] for e in store.filter_log_events(G, filter_pattern='"bad thing"')["events"]] == [
        "ERROR bad thing"
    ]
    names = store.filter_log_events(G, stream_names=["zzz/algo-1-1"], start_time=2, end_time=3)
    assert [e["message"] for e in names["events"]] == ["[0]#011train-error:0.9"]
    assert (
        store.filter_log_events(G, stream_prefix="job/", start_time=2, end_time=4)["events"][-1]["timestamp"]
        == 3
    )


def test_filter_log_events_pagination(store: LogStore) -> None:
    store.put_log_events(G, "s", [(i, f"m{i}") for i in range(10)])
    page = store.filter_log_events(G, limit=4)
    got = [e["message"] for e in page["events"]]
    while "nextToken" in page:
        page = store.filter_log_events(G, limit=4, next_token=page["nextToken"])
        got += [e["message"] for e in page["events"]]
    assert got == [f"m{i}" for i in range(10)]


def test_filter_log_events_missing_group(store: LogStore) -> None:
    with pytest.raises(ResourceNotFoundException):
        store.filter_log_events("/aws/sagemaker/Nothing")


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    """Several connections write and read the same file at once (as supervisors and the server do)."""
    path = tmp_path / "sagelocal.db"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            own = LogStore(path)
            for i in range(50):
                own.put_log_events(G, f"job/algo-{n}-1", [(i, f"w{n}-{i}")])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    reader = LogStore(path)
    for t in threads:
        t.join()
    assert errors == []
    assert len(reader.filter_log_events(G)["events"]) == 200
    assert len(reader.merged_events(G, "job/")) == 200
