"""The console the table-printing commands (``jobs list``, ``jobs metrics``) print through."""

from __future__ import annotations

from typing import Any


def console() -> Any:
    """A rich console for tables on stdout: plain and 200 columns wide when stdout is not a terminal; a closed
    pipe (``| head``) raises BrokenPipeError, which the CLI treats as a quiet end."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich exits with 1; a closed pipe is no error (``| head``)
            self.quiet = True
            raise BrokenPipeError

    console = _Console()
    if not console.is_terminal:
        console = _Console(width=200)
    return console
