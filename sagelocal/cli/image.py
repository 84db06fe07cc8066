"""``sagelocal image build|list``: sagelocal's XGBoost training images, made by the docker backend."""

from typing import Annotated

import typer

from sagelocal.backends import DEFAULT_VERSION, VERSIONS, BackendError, UnknownImage, get_backend, get_version
from sagelocal.cli.errors import EXIT_USAGE, CliFailure, handle_errors

image_app = typer.Typer(
    name="image",
    help="Build and list sagelocal's XGBoost training images (sagelocal-xgboost:<version>) "
    "for --backend docker.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@image_app.command("build")
@handle_errors
def build(
    xgboost_version: Annotated[
        list[str] | None,
        typer.Option(
            "--xgboost-version",
            metavar="VERSION",
            help="Image version to tag, e.g. 1.7-1 or 1 (= :latest); repeatable. Default: 3.0-5.",
        ),
    ] = None,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Tag every known version.")] = False,
    base_image: Annotated[
        str | None,
        typer.Option(
            "--base-image",
            metavar="IMAGE",
            help="Base image (Python 3 on Debian/glibc). Default: python:3.11-slim, or the local Debian base "
            "sagelocal-base:bookworm when no registry can be reached.",
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Pull nothing: build FROM sagelocal-base:bookworm "
            "(made with debootstrap if missing; needs root).",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if an up-to-date image exists.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the tags built.")] = False,
) -> None:
    """Build sagelocal-xgboost:<version> from this checkout: Python, the pinned xgboost, sagelocal's
    algorithm, a `train` command and the SageMaker /opt/ml layout."""
    try:
        names = list(VERSIONS) if all_versions else [get_version(v).name for v in xgboost_version or []]
    except UnknownImage as e:
        raise CliFailure(f"sagelocal image build: {e}", EXIT_USAGE) from None
    names = names or [DEFAULT_VERSION]
    log = (lambda _line: None) if quiet else (lambda line: typer.echo(line, err=True))
    try:
        tags = get_backend("docker").build_images(
            names, base_image=base_image, offline=offline, force=force, log=log
        )
        for tag in tags:
            typer.echo(tag)
    except BackendError as e:
        raise CliFailure(str(e)) from None


@image_app.command("list")
@handle_errors
def list_images() -> None:
    """List sagelocal-xgboost images; CURRENT says whether one was built from this checkout's source."""
    try:
        rows = get_backend("docker").list_images()
    except BackendError as e:
        raise CliFailure(str(e)) from None
    header = {"tag": "TAG", "version": "VERSION", "current": "CURRENT", "id": "IMAGE ID", "size": "SIZE"}
    cols = list(header)
    widths = {c: max(len(header[c]), *(len(r[c]) for r in rows)) if rows else len(header[c]) for c in cols}
    for row in [header, *rows]:
        typer.echo("  ".join(row[c].ljust(widths[c]) for c in cols).rstrip())
