"""The one shape of the ``list`` commands (``jobs``, ``transforms``, ``endpoints``, ``models``): the List*
request built from the common options, then the response as JSON, a ``No ….`` line, or a table with one row per
summary; and the UTC time format every command prints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sagelocal.cli.output import console
from sagelocal.cli.train import dump_json


def when(value: Any) -> str:
    """A datetime as ``YYYY-MM-DD HH:MM:SS`` in UTC (naive ones are UTC); anything else as text, None as ''."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if value is None:
        return ""
    return str(value)


def list_params(
    max_results: int, status: str | None = None, name_contains: str | None = None
) -> dict[str, Any]:
    """A List* request: newest first, at most ``max_results``, filtered by status and name when given."""
    params: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": max_results}
    if status:
        params["StatusEquals"] = status
    if name_contains:
        params["NameContains"] = name_contains
    return params


def print_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A borderless table on stdout, its cells never wrapped."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console().print(table)


def print_listing(
    response: dict[str, Any],
    key: str,
    empty: str,
    columns: Sequence[str],
    row: Callable[[dict[str, Any]], Sequence[str]],
    as_json: bool,
) -> None:
    """The List* ``response``: as JSON, or ``empty`` when ``response[key]`` has no summary, or their table."""
    if as_json:
        print(dump_json(response))
        return
    summaries = response.get(key, [])
    if not summaries:
        print(empty)
        return
    print_table(columns, [row(summary) for summary in summaries])
