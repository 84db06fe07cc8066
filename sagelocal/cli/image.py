"""``sagelocal image build|list``: sagelocal's XGBoost training images (see sagelocal/images.py)."""

from typing import Annotated

import typer

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
    from sagelocal.algorithms.xgboost.versions import UnknownImage, get_version
    from sagelocal.service import images

    try:
        names = (
            list(images.all_versions())
            if all_versions
            else [get_version(v).name for v in xgboost_version or []]
        )
    except UnknownImage as e:
        raise CliFailure(f"sagelocal image build: {e}", EXIT_USAGE) from None
    names = names or [images.DEFAULT_VERSION]
    log = (lambda _line: None) if quiet else (lambda line: typer.echo(line, err=True))
    try:
        client = images.docker_client()
        first = True
        for name in dict.fromkeys(names):
            # The first build does the work; the other versions re-tag it with their version env.
            tag = images.build_image(
                name,
                base_image=base_image if first else None,
                offline=offline,
                client=client,
                log=log,
                force=force and first,
            )
            first = False
            typer.echo(tag)
    except images.ImageError as e:
        raise CliFailure(str(e)) from None


@image_app.command("list")
@handle_errors
def list_images() -> None:
    """List sagelocal-xgboost images; CURRENT says whether one was built from this checkout's source."""
    from sagelocal.service import images

    try:
        rows = images.list_images()
    except images.ImageError as e:
        raise CliFailure(str(e)) from None
    header = {"tag": "TAG", "version": "VERSION", "current": "CURRENT", "id": "IMAGE ID", "size": "SIZE"}
    cols = list(header)
    widths = {c: max(len(header[c]), *(len(r[c]) for r in rows)) if rows else len(header[c]) for c in cols}
    for row in [header, *rows]:
        typer.echo("  ".join(row[c].ljust(widths[c]) for c in cols).rstrip())
