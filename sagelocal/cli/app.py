"""The ``sagelocal`` console script: a typer app of commands, each reporting errors on one line."""

from typing import Annotated, Any

import typer

from sagelocal.cli.demo import demo
from sagelocal.cli.errors import EXIT_CODES_HELP, EXIT_FAILED, err, run_main
from sagelocal.cli.jobs import jobs_app
from sagelocal.cli.s3 import s3_app
from sagelocal.cli.train import train

app = typer.Typer(
    name="sagelocal",
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


app.command("demo")(demo)
app.command("train")(train)
app.add_typer(jobs_app, name="jobs")
app.add_typer(s3_app, name="s3")


def _missing(command: str, module: str, error: BaseException) -> Any:
    """A stand-in for a command whose module is not available, saying so on one line."""

    def unavailable(
        args: Annotated[list[str] | None, typer.Argument(hidden=True)] = None,
    ) -> None:
        detail = f"{module}: {type(error).__name__}: {error}"
        err(f"sagelocal {command}: not available in this installation ({detail})")
        raise typer.Exit(EXIT_FAILED)

    unavailable.__doc__ = f"(unavailable: {module} could not be imported)"
    return unavailable


def _register_optional() -> None:
    """``serve`` (sagelocal.cli.serve) and ``image`` (sagelocal.cli.image), contributed by other parts."""
    try:
        from sagelocal.cli.serve import serve
    except Exception as error:  # missing module or a broken optional dependency
        app.command(
            "serve",
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        )(_missing("serve", "sagelocal.cli.serve", error))
    else:
        app.command("serve")(serve)
    try:
        from sagelocal.cli.image import image_app
    except Exception as error:
        app.command(
            "image",
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        )(_missing("image", "sagelocal.cli.image", error))
    else:
        app.add_typer(image_app, name="image")


_register_optional()


def main() -> int:
    """Console-script entry point: ``sagelocal = sagelocal.cli.app:main``."""
    return run_main(lambda: app(prog_name="sagelocal"))


if __name__ == "__main__":
    raise SystemExit(main())
