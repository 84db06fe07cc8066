"""The CloudWatch-style log store: groups, streams and events in the emulator's SQLite database.
(SKELETON: signatures only; being built.) Responses use the CloudWatch Logs JSON shapes (timestamps in ms)."""

from __future__ import annotations

from typing import Any

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def render_message(line: str) -> str:
    """A container output line as CloudWatch stores it: tabs become ``#011``, the trailing newline goes."""
    return line.rstrip("\r\n").replace("\t", "#011")


class LogStore:
    def __init__(self, db_path: Any) -> None: ...
    def create_log_stream(self, group: str, stream: str) -> None: ...
    def put_log_events(self, group: str, stream: str, events: list[tuple[int, str]]) -> None: ...
    def describe_log_streams(self, group: str, prefix: str | None = None, order_by: str = "LogStreamName",
                             descending: bool = False, limit: int = 50,
                             next_token: str | None = None) -> dict[str, Any]: ...
    def get_log_events(self, group: str, stream: str, start_time: int | None = None,
                       end_time: int | None = None, next_token: str | None = None,
                       start_from_head: bool = False, limit: int = 10000) -> dict[str, Any]: ...
    def filter_log_events(self, group: str, stream_names: list[str] | None = None,
                          stream_prefix: str | None = None, start_time: int | None = None,
                          end_time: int | None = None, filter_pattern: str | None = None,
                          next_token: str | None = None, limit: int = 10000) -> dict[str, Any]: ...
