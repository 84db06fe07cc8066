"""Turning every error into one clear line on stderr and an exit code; never a traceback.

Exit codes (documented in ``sagelocal --help``):

====  ==========================================================================================
0     success; for ``train``/``demo``/``jobs logs --follow``: the job Completed
1     the job Failed, or a request was rejected (ServiceError, BackendError, botocore errors)
2     usage error (bad option or argument), as click reports it
3     the job was Stopped (by ``jobs stop`` or MaxRuntimeInSeconds)
4     internal error in sagelocal (set ``SAGELOCAL_DEBUG=1`` to see the traceback)
130   interrupted with Ctrl-C (a job that was being watched keeps running)
====  ==========================================================================================
"""

from __future__ import annotations

import functools
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from typer.exceptions import TyperException

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 completed/success, 1 job failed or request rejected, 2 usage error, "
    "3 job stopped, 4 internal error, 130 interrupted."
)

P = ParamSpec("P")
R = TypeVar("R")


class CliFailure(Exception):
    """An expected failure the CLI reports as ``message`` on one line and exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def one_line(text: str) -> str:
    """``text`` on one line: newlines shown as ``\\n`` (as the SageMaker console shows FailureReason)."""
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


_EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*(?P<name>[A-Za-z_]\w*(?:Error|Exception|Interrupt|Exit)): (?P<text>.*)$"
)


def root_cause(reason: str, log_lines: Callable[[], Iterable[str]] = lambda: ()) -> str:
    """sagelocal's one readable line for a FailureReason holding an image's traceback (``framework error:
    \nTraceback …``): the exception it ends with, without the module path. SageMaker keeps 1,024 characters of
    the failure, so the exception is often past the cut; then it is read from the job's log, where the image
    logged the whole text. Empty for any other reason."""
    if "Traceback (most recent call last):" not in reason:
        return ""
    cut = len(reason) >= 1024  # what SageMaker keeps: an exception line there may be cut short
    found = None if cut else _last_exception(reason)
    if found is None:
        try:
            found = _last_exception("\n".join(log_lines()))
        except Exception:
            found = None
    if found is None:
        return (
            "sagelocal: the error is past the 1,024 characters SageMaker keeps; see the end of the job's log"
        )
    return f"sagelocal: the algorithm failed with {found}"


def _last_exception(text: str) -> str | None:
    if "Traceback (most recent call last):" not in text:
        return None
    lines = text.rsplit("Traceback (most recent call last):", 1)[1].split("\n")
    for index in range(len(lines) - 1, -1, -1):
        match = _EXCEPTION_LINE.match(lines[index])
        if match:
            # the exception's message runs to the blank line the failure text puts before str(e)
            rest = []
            for line in lines[index + 1 :]:
                if not line:
                    break
                rest.append(line)
            message = re.sub(r", exit code: \d+$", "", "\n".join([match.group("text"), *rest]))
            return f"{match.group('name')}: {one_line(message)}"
    return None


def err(message: str) -> None:
    """Print ``message`` on stderr as one line (not through rich, which would wrap it); red on a terminal."""
    color = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
    typer.secho(message, err=True, fg="red" if color else None)


@contextmanager
def operation(name: str) -> Iterator[None]:
    """Label ServiceErrors raised inside with the API operation, so they print as botocore prints them."""
    try:
        yield
    except Exception as error:
        if _is_service_error(error) and not getattr(error, "operation", None):
            error.operation = name  # type: ignore[attr-defined]
        raise


def _is_service_error(error: BaseException) -> bool:
    from sagelocal.aws.errors import ServiceError

    return isinstance(error, ServiceError)


#: The top-level modules of each optional extra of pyproject.toml (``pip install 'sagelocal[<extra>]'``).
EXTRA_MODULES = {
    "fastapi": "server",
    "jinja2": "server",
    "docker": "docker",
    "boto3": "aws",
    "sagemaker": "aws",
    "matplotlib": "plot",
    "optuna": "tuning",
}


def missing_extra(error: BaseException) -> str | None:
    """The extra that would install the module ``error`` (an ImportError) could not find, if any."""
    if isinstance(error, ImportError) and error.name:
        return EXTRA_MODULES.get(error.name.split(".")[0])
    return None


#: The top-level command being run (set by the app when it loads one), e.g. ``jobs``.
current_command: str | None = None


def _command_path() -> str:
    """``sagelocal serve``, ``sagelocal jobs list``: the command being run (``sagelocal`` outside one). A
    group's subcommand is read from the command line, when it is the command line being run."""
    if current_command is None:
        return "sagelocal"
    words = ["sagelocal", current_command]
    argv = sys.argv[1:3]
    if len(argv) == 2 and argv[0] == current_command and not argv[1].startswith("-"):
        words.append(argv[1])
    return " ".join(words)


def needs_extra_message(command: str, extra: str) -> str:
    return f"{command} needs the '{extra}' extra: pip install 'sagelocal[{extra}]'"


def format_error(error: BaseException) -> tuple[str, int]:
    """The one line to print for ``error`` and the exit code."""
    if isinstance(error, CliFailure):
        return error.message, error.exit_code
    extra = missing_extra(error)
    if extra is not None:
        return needs_extra_message(_command_path(), extra), EXIT_FAILED
    if _is_service_error(error):
        code = getattr(error, "code", type(error).__name__)
        message = getattr(error, "message", str(error))
        op = getattr(error, "operation", None)
        if op:
            return one_line(
                f"An error occurred ({code}) when calling the {op} operation: {message}"
            ), EXIT_FAILED
        return one_line(f"{code}: {message}"), EXIT_FAILED
    from sagelocal.backends import BackendError

    if isinstance(error, BackendError):
        return one_line(str(error)), EXIT_FAILED
    module = type(error).__module__ or ""
    if module.startswith(("botocore", "boto3", "s3transfer")):
        # ClientError's str() is already "An error occurred (Code) when calling the Op operation: msg".
        return one_line(str(error)), EXIT_FAILED
    text = str(error)
    detail = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return (
        one_line(f"sagelocal: internal error: {detail} (run with SAGELOCAL_DEBUG=1 for the traceback)"),
        EXIT_INTERNAL,
    )


def debug_enabled() -> bool:
    return os.environ.get("SAGELOCAL_DEBUG", "") not in ("", "0", "false", "no")


def fail(error: BaseException) -> NoReturn:
    """Report ``error`` on one line and exit with its code."""
    if isinstance(error, KeyboardInterrupt):
        err("sagelocal: interrupted")
        raise typer.Exit(EXIT_INTERRUPTED)
    message, code = format_error(error)
    if debug_enabled() and code == EXIT_INTERNAL:
        traceback.print_exception(error, file=sys.stderr)
    err(message)
    raise typer.Exit(code)


def quiet_broken_pipe() -> NoReturn:
    """The reader of our output went away (``sagelocal jobs logs J | head -2``): stop writing, quietly, with
    exit code 0 as ``cat`` and ``grep`` do. stdout is pointed at /dev/null so that the interpreter's final
    flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (tests capture it)
        pass
    raise typer.Exit(EXIT_OK)


def quiet_libraries() -> None:
    """Keep library log records (botocore's ``Found credentials…``, the SageMaker SDK's INFO lines) off the
    CLI's stderr, unless SAGELOCAL_DEBUG is set. A root handler installed first makes the
    ``logging.basicConfig(level=INFO)`` that importing ``sagemaker`` runs (``sagemaker/experiments/_metrics.py``)
    a no-op; the root level decides the rest."""
    import logging

    level = logging.DEBUG if debug_enabled() else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s:%(name)s:%(message)s")
    logging.getLogger().setLevel(level)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so that no exception escapes as a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except BrokenPipeError:
            quiet_broken_pipe()
        except KeyboardInterrupt as error:
            fail(error)
        except Exception as error:
            fail(error)

    return wrapper


def run_main(call: Callable[[], Any]) -> int:
    """Top-level guard for the console script: anything that escapes the commands becomes one line."""
    quiet_libraries()
    try:
        try:
            call()
        except BrokenPipeError:
            quiet_broken_pipe()
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        err(str(code))
        return EXIT_FAILED
    except KeyboardInterrupt:
        err("sagelocal: interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:
        message, code = format_error(error)
        if debug_enabled():
            traceback.print_exception(error, file=sys.stderr)
        err(message)
        return code
    return 0


def exit_now(code: int) -> int:
    """End the process without the interpreter's module-by-module teardown, which costs a command that loaded
    the service 0.1-0.2 s after its last line. Only when no other Python thread is alive (``serve`` returns
    with its threads stopped; anything else falls back to a normal exit): atexit handlers run and the streams
    are flushed first, and SQLite's committed transactions are already in its files."""
    import atexit
    import threading

    if threading.active_count() > 1:
        return code
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
