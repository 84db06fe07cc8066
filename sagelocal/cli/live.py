"""``sagelocal train --wait`` on a terminal: a live panel under the job's log with the phase (SecondaryStatus),
round N/num_round, elapsed time, ETA and the latest value of every metric.

The log and status lines are the ones :class:`~sagelocal.cli.watch.JobWatcher` prints in SDK style; here they
scroll above the panel. The panel reads only what the watcher already fetched: each DescribeTrainingJob
document and each new log event, matched against the job's MetricDefinitions as the service matches them. Off
a terminal none of this runs and the SDK-style lines are printed exactly as before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO, cast

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from sagelocal.backends import Backend
from sagelocal.backends.metrics import log_metric_matcher
from sagelocal.cli.watch import JobWatcher

#: The round counter the built-in XGBoost prints first on each evaluation line: ``[12]#011train-…``.
_ROUND = re.compile(r"^\[(\d+)\]#011")


def duration(seconds: float) -> str:
    """``H:MM:SS``."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass
class LiveState:
    """What the panel shows, updated from descriptions and log events."""

    name: str
    clock: Callable[[], float] = time.time
    phase: str = ""
    status: str = ""
    created: float | None = None
    ended: float | None = None
    num_round: int | None = None
    rounds_done: int = 0
    first_round_at: float | None = None  # epoch seconds of the first round's log line
    last_round_at: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    _matcher: Callable[[str], list[tuple[str, float]]] | None = None

    def describe(self, description: dict[str, Any]) -> None:
        self.phase = description.get("SecondaryStatus") or self.phase
        self.status = description.get("TrainingJobStatus") or self.status
        created = description.get("CreationTime")
        if isinstance(created, datetime):
            self.created = created.timestamp()
        ended = description.get("TrainingEndTime")
        if isinstance(ended, datetime) and self.status in ("Completed", "Failed", "Stopped"):
            self.ended = ended.timestamp()
        if self.num_round is None:
            raw = (description.get("HyperParameters") or {}).get("num_round")
            self.num_round = int(raw) if raw and str(raw).isdigit() else None
        if self._matcher is None:
            self._matcher = log_metric_matcher(description)

    def event(self, event: dict[str, Any]) -> None:
        message = str(event.get("message", ""))
        at = float(event.get("timestamp", 0)) / 1000
        found = _ROUND.match(message)
        if found:
            self.rounds_done = max(self.rounds_done, int(found.group(1)) + 1)
            self.first_round_at = self.first_round_at if self.first_round_at is not None else at
            self.last_round_at = at
        if self._matcher is not None:
            self.metrics.update(self._matcher(message))

    def eta(self) -> str:
        """From the pace of the rounds so far (needs two of them and num_round)."""
        if self.status in ("Completed", "Failed", "Stopped"):
            return "0:00:00" if self.status == "Completed" else "-"
        if (
            not self.num_round
            or self.rounds_done < 2
            or self.first_round_at is None
            or self.last_round_at is None
        ):
            return "-"
        pace = (self.last_round_at - self.first_round_at) / (self.rounds_done - 1)
        return duration(pace * (self.num_round - self.rounds_done))

    def render(self) -> RenderableType:
        now = self.ended if self.ended is not None else self.clock()
        elapsed = duration(now - self.created) if self.created is not None else "-"
        rounds = f"{self.rounds_done}/{self.num_round}" if self.num_round else str(self.rounds_done)
        head = Table.grid(padding=(0, 2))
        for _ in range(4):
            head.add_column()
        head.add_row(
            Text.assemble(("Phase ", "dim"), (self.phase or "-", "bold")),
            Text.assemble(("Round ", "dim"), (rounds, "bold")),
            Text.assemble(("Elapsed ", "dim"), elapsed),
            Text.assemble(("ETA ", "dim"), self.eta()),
        )
        parts: list[RenderableType] = [Text(f"Training job {self.name}", style="bold"), head]
        if self.metrics:
            values = Table.grid(padding=(0, 2))
            values.add_column(style="dim")
            values.add_column(justify="right")
            for metric, value in self.metrics.items():
                values.add_row(metric, repr(value))
            parts.append(values)
        return Group(*parts)


class _ConsoleLines:
    """A text stream for the watcher that prints whole lines above the live panel. Dots (no log yet) are
    dropped: the panel shows the phase instead."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip("."):
                self._console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        return None

    def close_line(self) -> None:
        if self._pending.strip("."):
            self.write("\n")
        self._pending = ""


def watch_live(
    backend: Backend, name: str, console: Console, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """Follow the job as :meth:`JobWatcher.watch` does, with the live panel; return the last description."""
    state = LiveState(name, clock=clock)
    lines = _ConsoleLines(console)
    watcher = JobWatcher(
        backend,
        name,
        out=cast(TextIO, lines),  # the watcher only writes and flushes
        color=False,
        on_describe=state.describe,
        on_event=state.event,
    )
    with Live(get_renderable=state.render, console=console, refresh_per_second=4, transient=False):
        description = watcher.watch(wait=True)
        lines.close_line()
        state.describe(description)
    return description
