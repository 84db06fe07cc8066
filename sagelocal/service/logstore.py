"""The CloudWatch-style log store: groups, streams and events in the emulator's SQLite database.

Responses use the CloudWatch Logs JSON shapes (timestamps in epoch ms). A group exists once it has a stream.
Semantics follow CloudWatch where the SageMaker SDK depends on them (reference sagemaker-api §9):
``describe_log_streams`` never returns ``nextToken`` when everything fits; ``get_log_events`` honours
``startTime`` inclusively and ``endTime`` exclusively, and a page after the last event has 0 events and
returns the same forward token.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.aws.errors import InvalidParameterException, ResourceNotFoundException
from sagelocal.service.db import Database

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"

_NO_GROUP = "The specified log group does not exist."
_NO_STREAM = "The specified log stream does not exist."


def render_message(line: str) -> str:
    """A container output line as CloudWatch stores it: tabs become ``#011``, the trailing newline goes."""
    return line.rstrip("\r\n").replace("\t", "#011")


def now_ms() -> int:
    return int(time.time() * 1000)


def _encode(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except Exception:
        raise InvalidParameterException("The specified nextToken is invalid.") from None


def _parse_cursor(token: str) -> tuple[str, int, int]:
    """``f/<ts>:<id>`` or ``b/<ts>:<id>`` -> (direction, ts, id)."""
    try:
        direction, rest = token.split("/", 1)
        ts, eid = rest.split(":", 1)
        if direction not in ("f", "b"):
            raise ValueError
        return direction, int(ts), int(eid)
    except ValueError:
        raise InvalidParameterException("The specified nextToken is invalid.") from None


def _cursor(direction: str, ts: int, eid: int) -> str:
    return f"{direction}/{ts}:{eid}"


class _Pattern:
    """CloudWatch filter patterns for unstructured events, the term forms: ``a b`` (all), ``"a phrase"``,
    ``?a ?b`` (any), ``-a`` (none). An empty pattern matches everything."""

    def __init__(self, pattern: str | None) -> None:
        self.all: list[str] = []
        self.any: list[str] = []
        self.none: list[str] = []
        text = (pattern or "").strip()
        i = 0
        while i < len(text):
            if text[i].isspace():
                i += 1
                continue
            kind = "all"
            if text[i] in "?-" and i + 1 < len(text) and not text[i + 1].isspace():
                kind = "any" if text[i] == "?" else "none"
                i += 1
            if text[i] == '"':
                end = text.find('"', i + 1)
                end = len(text) if end == -1 else end
                term = text[i + 1 : end]
                i = end + 1
            else:
                end = i
                while end < len(text) and not text[end].isspace():
                    end += 1
                term = text[i:end]
                i = end
            if term:
                getattr(self, kind).append(term)

    def matches(self, message: str) -> bool:
        if any(t in message for t in self.none):
            return False
        if not all(t in message for t in self.all):
            return False
        return not self.any or any(t in message for t in self.any)


class LogStore:
    def __init__(self, db_path: Any) -> None:
        self.db = db_path if isinstance(db_path, Database) else Database(Path(db_path))

    # --- writing -----------------------------------------------------------------------------------------

    def create_log_stream(self, group: str, stream: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO log_streams (grp, name, creation_time) VALUES (?, ?, ?)",
                (group, stream, now_ms()),
            )

    def put_log_events(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        """Append ``(timestamp_ms, message)`` events to a stream (created if needed), in one transaction."""
        if not events:
            return
        ingestion = now_ms()
        rows = [(group, stream, int(ts), ingestion, msg) for ts, msg in events]
        first = min(r[2] for r in rows)
        last = max(r[2] for r in rows)
        size = sum(len(r[4].encode()) for r in rows)
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO log_streams (grp, name, creation_time) VALUES (?, ?, ?)",
                (group, stream, ingestion),
            )
            conn.executemany(
                "INSERT INTO log_events (grp, stream, ts, ingestion, message) VALUES (?, ?, ?, ?, ?)", rows
            )
            conn.execute(
                "UPDATE log_streams SET first_event = MIN(COALESCE(first_event, ?), ?),"
                " last_event = MAX(COALESCE(last_event, ?), ?), last_ingestion = ?,"
                " stored_bytes = stored_bytes + ? WHERE grp = ? AND name = ?",
                (first, first, last, last, ingestion, size, group, stream),
            )

    # --- reading -----------------------------------------------------------------------------------------

    def _group_exists(self, group: str) -> bool:
        row = self.db.conn().execute("SELECT 1 FROM log_streams WHERE grp = ? LIMIT 1", (group,)).fetchone()
        return row is not None

    def describe_log_groups(
        self,
        prefix: str | None = None,
        pattern: str | None = None,
        limit: int = 50,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """The groups (those with a stream: the store has no CreateLogGroup) in name order. ``prefix`` matches
        the start of the name, ``pattern`` any part of it, ignoring case, as CloudWatch Logs' DescribeLogGroups
        documents them; the two cannot be combined."""
        if prefix and pattern:
            raise InvalidParameterException(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
            )
        sql = "SELECT grp, MIN(creation_time) AS created FROM log_streams"
        args: list[Any] = []
        if prefix:
            sql += " WHERE substr(grp, 1, ?) = ?"
            args += [len(prefix), prefix]
        elif pattern:
            sql += " WHERE instr(lower(grp), ?) > 0"
            args.append(pattern.lower())
        rows = self.db.conn().execute(sql + " GROUP BY grp ORDER BY grp", args).fetchall()
        offset = int(_decode(next_token)["o"]) if next_token else 0
        page = rows[offset : offset + int(limit)]
        result: dict[str, Any] = {"logGroups": [self._group_doc(r["grp"], r["created"]) for r in page]}
        if offset + int(limit) < len(rows):
            result["nextToken"] = _encode({"o": offset + int(limit)})
        return result

    @staticmethod
    def _group_doc(group: str, created: int) -> dict[str, Any]:
        arn = f"arn:aws:logs:{config.region()}:{config.ACCOUNT_ID}:log-group:{group}"
        return {
            "logGroupName": group,
            "creationTime": created,
            "metricFilterCount": 0,
            "arn": f"{arn}:*",
            "storedBytes": 0,
            "logGroupClass": "STANDARD",
            "logGroupArn": arn,
        }

    def describe_log_streams(
        self,
        group: str,
        prefix: str | None = None,
        order_by: str = "LogStreamName",
        descending: bool = False,
        limit: int = 50,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """``order_by`` and ``limit`` are in the model's range (``LogStreamName``/``LastEventTime``, 1–50): the
        server checks every request against botocore's model before it gets here."""
        if order_by == "LastEventTime" and prefix:
            raise InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
        if not self._group_exists(group):
            raise ResourceNotFoundException(_NO_GROUP)
        sql = "SELECT * FROM log_streams WHERE grp = ?"
        args: list[Any] = [group]
        if prefix:
            sql += " AND substr(name, 1, ?) = ?"
            args += [len(prefix), prefix]
        direction = "DESC" if descending else "ASC"
        if order_by == "LogStreamName":
            sql += f" ORDER BY name {direction}"
        else:
            sql += f" ORDER BY COALESCE(last_event, 0) {direction}, name {direction}"
        rows = self.db.conn().execute(sql, args).fetchall()
        offset = int(_decode(next_token)["o"]) if next_token else 0
        page = rows[offset : offset + int(limit)]
        result: dict[str, Any] = {"logStreams": [self._stream_doc(r) for r in page]}
        if offset + int(limit) < len(rows):
            result["nextToken"] = _encode({"o": offset + int(limit)})
        return result

    @staticmethod
    def _stream_doc(row: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "logStreamName": row["name"],
            "creationTime": row["creation_time"],
        }
        if row["first_event"] is not None:
            doc["firstEventTimestamp"] = row["first_event"]
            doc["lastEventTimestamp"] = row["last_event"]
            doc["lastIngestionTime"] = row["last_ingestion"]
        doc["arn"] = (
            f"arn:aws:logs:{config.region()}:{config.ACCOUNT_ID}:log-group:{row['grp']}:log-stream:{row['name']}"
        )
        doc["storedBytes"] = 0  # CloudWatch has reported 0 here since 2019
        return doc

    def get_log_events(
        self,
        group: str,
        stream: str,
        start_time: int | None = None,
        end_time: int | None = None,
        next_token: str | None = None,
        start_from_head: bool = False,
        limit: int = 10000,
    ) -> dict[str, Any]:
        limit = max(1, min(int(limit), 10000))
        conn = self.db.conn()
        if not self._group_exists(group):
            raise ResourceNotFoundException(_NO_GROUP)
        if (
            conn.execute("SELECT 1 FROM log_streams WHERE grp = ? AND name = ?", (group, stream)).fetchone()
            is None
        ):
            raise ResourceNotFoundException(_NO_STREAM)
        where = "grp = ? AND stream = ?"
        args: list[Any] = [group, stream]
        if start_time is not None:
            where += " AND ts >= ?"
            args.append(int(start_time))
        if end_time is not None:
            where += " AND ts < ?"
            args.append(int(end_time))
        if next_token:
            direction, cts, cid = _parse_cursor(next_token)
        else:
            direction, cts, cid = ("f", -1, -1) if start_from_head else ("b", 2**62, 2**62)
        cols = "SELECT id, ts, ingestion, message FROM log_events"
        if direction == "f":
            rows = conn.execute(
                f"{cols} WHERE {where} AND (ts > ? OR (ts = ? AND id > ?)) ORDER BY ts, id LIMIT ?",
                [*args, cts, cts, cid, limit],
            ).fetchall()
        else:
            rows = conn.execute(
                f"{cols} WHERE {where} AND (ts < ? OR (ts = ? AND id < ?)) ORDER BY ts DESC, id DESC LIMIT ?",
                [*args, cts, cts, cid, limit],
            ).fetchall()
            rows = list(reversed(rows))
        events = [
            {"timestamp": r["ts"], "message": r["message"], "ingestionTime": r["ingestion"]} for r in rows
        ]
        if rows:
            forward = _cursor("f", rows[-1]["ts"], rows[-1]["id"])
            backward = _cursor("b", rows[0]["ts"], rows[0]["id"])
        elif next_token:
            # Past either end: the same tokens again, so a poller picks up later events from here.
            forward = _cursor("f", cts, cid) if direction == "f" else _cursor("f", -1, -1)
            backward = _cursor("b", cts, cid) if direction == "b" else _cursor("b", 0, 0)
        else:
            # Nothing in range yet: start from the beginning next time.
            forward, backward = _cursor("f", -1, -1), _cursor("b", 0, 0)
        return {"events": events, "nextForwardToken": forward, "nextBackwardToken": backward}

    def filter_log_events(
        self,
        group: str,
        stream_names: list[str] | None = None,
        stream_prefix: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        filter_pattern: str | None = None,
        next_token: str | None = None,
        limit: int = 10000,
    ) -> dict[str, Any]:
        if stream_names and stream_prefix:
            raise InvalidParameterException("logStreamNames and logStreamNamePrefix are mutually exclusive")
        limit = max(1, min(int(limit), 10000))
        if not self._group_exists(group):
            raise ResourceNotFoundException(_NO_GROUP)
        conn = self.db.conn()
        where = "grp = ?"
        args: list[Any] = [group]
        if stream_names:
            where += f" AND stream IN ({','.join('?' * len(stream_names))})"
            args += list(stream_names)
        if stream_prefix:
            where += " AND substr(stream, 1, ?) = ?"
            args += [len(stream_prefix), stream_prefix]
        if start_time is not None:
            where += " AND ts >= ?"
            args.append(int(start_time))
        if end_time is not None:
            where += " AND ts < ?"
            args.append(int(end_time))
        if next_token:
            pos = _decode(next_token)
            where += " AND (ts > ? OR (ts = ? AND id > ?))"
            args += [pos["t"], pos["t"], pos["i"]]
        pattern = _Pattern(filter_pattern)
        events: list[dict[str, Any]] = []
        more = False
        cursor = conn.execute(
            f"SELECT id, stream, ts, ingestion, message FROM log_events WHERE {where} ORDER BY ts, id", args
        )
        last: Any = None
        for row in cursor:
            if not pattern.matches(row["message"]):
                continue
            if len(events) == limit:
                more = True
                break
            last = row
            events.append(
                {
                    "logStreamName": row["stream"],
                    "timestamp": row["ts"],
                    "message": row["message"],
                    "ingestionTime": row["ingestion"],
                    "eventId": f"{row['ts']:020d}{row['id']:020d}",
                }
            )
        cursor.close()
        if stream_names:
            searched = list(stream_names)
        else:
            sql = "SELECT name FROM log_streams WHERE grp = ?"
            sargs: list[Any] = [group]
            if stream_prefix:
                sql += " AND substr(name, 1, ?) = ?"
                sargs += [len(stream_prefix), stream_prefix]
            searched = [r["name"] for r in conn.execute(sql + " ORDER BY name", sargs)]
        result: dict[str, Any] = {
            "events": events,
            "searchedLogStreams": [{"logStreamName": n, "searchedCompletely": not more} for n in searched],
        }
        if more and last is not None:
            result["nextToken"] = _encode({"t": last["ts"], "i": last["id"]})
        return result

    def stream_names(self, group: str, prefix: str) -> list[str]:
        """Names of the group's streams starting with ``prefix`` (no error when there are none)."""
        rows = (
            self.db.conn()
            .execute(
                "SELECT name FROM log_streams WHERE grp = ? AND substr(name, 1, ?) = ? ORDER BY name",
                (group, len(prefix), prefix),
            )
            .fetchall()
        )
        return [r["name"] for r in rows]

    def merged_events(self, group: str, prefix: str, start_time: int | None = None) -> list[dict[str, Any]]:
        """All events of the streams starting with ``prefix``, merged by timestamp (then arrival)."""
        sql = (
            "SELECT stream, ts, ingestion, message FROM log_events WHERE grp = ? AND substr(stream, 1, ?) = ?"
        )
        args: list[Any] = [group, len(prefix), prefix]
        if start_time is not None:
            sql += " AND ts >= ?"
            args.append(int(start_time))
        rows = self.db.conn().execute(sql + " ORDER BY ts, id", args).fetchall()
        return [
            {
                "logStreamName": r["stream"],
                "timestamp": r["ts"],
                "message": r["message"],
                "ingestionTime": r["ingestion"],
            }
            for r in rows
        ]
