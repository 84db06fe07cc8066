"""The ``sagelocal`` console script: a typer app of commands, each reporting errors on one line.

Commands live in their own modules and are imported only when invoked (``sagelocal --help`` lists them from
the table below), so start-up costs little more than importing typer. ``serve`` and ``image`` come from other
parts of sagelocal; if their module cannot be imported the command says so on one line.
"""

import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sagelocal.cli import errors
from sagelocal.cli.errors import (
    EXIT_CODES_HELP,
    EXIT_FAILED,
    err,
    exit_now,
    missing_extra,
    needs_extra_message,
    run_main,
)

#: name -> (module, attribute, kind, one-line help). ``kind`` is "command" (a function) or "group" (a Typer).
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "demo": (
        "sagelocal.cli.demo",
        "demo",
        "command",
        "Run the SageMaker XGBoost tutorial's training step on scikit-learn's breast-cancer data.",
    ),
    "train": (
        "sagelocal.cli.train",
        "train",
        "command",
        "Run one training job like Estimator.fit() and print its progress as the SageMaker SDK does.",
    ),
    "jobs": ("sagelocal.cli.jobs", "jobs_app", "group", "List, describe, follow and stop training jobs."),
    "s3": (
        "sagelocal.cli.s3",
        "s3_app",
        "group",
        "Make buckets, copy and list objects in the local object store.",
    ),
    "serve": (
        "sagelocal.cli.serve",
        "serve",
        "command",
        "Serve the SageMaker, S3, CloudWatch Logs and STS APIs for unchanged SageMaker notebooks.",
    ),
    "image": (
        "sagelocal.cli.image",
        "image_app",
        "group",
        "Build and list sagelocal's XGBoost training images.",
    ),
    "evaluate": (
        "sagelocal.cli.evaluate",
        "evaluate",
        "command",
        "Predict a labelled test set and print the tutorial's classification table, metrics and plots.",
    ),
    "deploy": (
        "sagelocal.cli.deploy",
        "deploy",
        "command",
        "Deploy a trained model to an endpoint like Estimator.deploy() and print the SDK's progress.",
    ),
    "endpoints": (
        "sagelocal.cli.endpoints",
        "endpoints_app",
        "group",
        "List, describe and delete endpoints.",
    ),
    "models": ("sagelocal.cli.endpoints", "models_app", "group", "List and delete models."),
    "invoke": (
        "sagelocal.cli.invoke",
        "invoke",
        "command",
        "Send a payload to an endpoint (InvokeEndpoint) and print the response body.",
    ),
    "tune": (
        "sagelocal.cli.tune",
        "tune",
        "command",
        "Run a hyperparameter tuning job like HyperparameterTuner.fit(), with a live table of its training jobs.",
    ),
    "tuning": (
        "sagelocal.cli.tuning",
        "tuning_app",
        "group",
        "List, describe and stop hyperparameter tuning jobs, and list their training jobs.",
    ),
    "transform": (
        "sagelocal.cli.transform",
        "transform",
        "command",
        "Run a batch transform job with a training job's model (or a model), as transformer.transform().",
    ),
    "transforms": (
        "sagelocal.cli.transform",
        "transforms_app",
        "group",
        "List, describe and stop batch transform jobs.",
    ),
}


def _unavailable(name: str, module: str, error: BaseException) -> Any:
    """A stand-in for a command whose module cannot be imported, saying so on one line."""
    stub = typer.Typer(add_completion=False, rich_markup_mode=None)

    @stub.command(
        name,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )
    def unavailable(args: Annotated[list[str] | None, typer.Argument(hidden=True)] = None) -> None:
        extra = missing_extra(error)
        if extra is not None:
            err(needs_extra_message(f"sagelocal {name}", extra))
        else:
            detail = f"{module}: {type(error).__name__}: {error}"
            err(f"sagelocal {name}: not available in this installation ({detail})")
        raise typer.Exit(EXIT_FAILED)

    return typer.main.get_command(stub)


def load_command(name: str) -> Any:
    """The click command for ``name``, importing its module now."""
    module_name, attribute, kind, _ = COMMANDS[name]
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:  # a missing module, or an optional dependency it could not import
        return _unavailable(name, module_name, error)
    if kind == "group":
        command = typer.main.get_command(target)
    else:
        holder = typer.Typer(add_completion=False, rich_markup_mode=None)
        holder.command(name)(target)
        command = typer.main.get_command(holder)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """Lists the commands from ``COMMANDS`` and imports one only when it is invoked."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS:
            errors.current_command = cmd_name
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, spec[3]) for name, spec in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="sagelocal",
    cls=LazyGroup,
    help="Run Amazon SageMaker built-in XGBoost training jobs offline: same API, artifacts and logs.\n\n"
    "Start with: sagelocal demo\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from sagelocal import __version__

        typer.echo(f"sagelocal {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Run Amazon SageMaker built-in XGBoost training jobs offline."""


def main() -> int:
    """Console-script entry point: ``sagelocal = sagelocal.cli.app:main``. Ends the process as soon as the
    command has (:func:`exit_now`)."""
    return exit_now(run_main(lambda: app(prog_name="sagelocal")))


if __name__ == "__main__":
    raise SystemExit(main())
