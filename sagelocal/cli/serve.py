"""``sagelocal serve``: the SageMaker, S3, CloudWatch Logs and STS APIs on one local HTTP endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from sagelocal.cli.errors import handle_errors


@handle_errors
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback unless --allow-remote).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 9090,
    backend: Annotated[
        str, typer.Option(help="Where jobs run: local (a child process) or docker (a container).")
    ] = "local",
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote", help="Allow a non-loopback address (requests are signed, not encrypted)."
        ),
    ] = False,
) -> None:
    """Serve the SageMaker, S3, CloudWatch Logs and STS APIs so unchanged SageMaker notebooks run offline.

    Prints the `export AWS_ENDPOINT_URL_...` lines, with the credentials every request must be signed with, to
    paste into the notebook's environment.
    """
    from sagelocal.server.run import ServeError
    from sagelocal.server.run import serve as run_server

    try:
        run_server(host=host, port=port, backend=backend, allow_remote=allow_remote)
    except ServeError as exc:
        typer.echo(f"sagelocal serve: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        pass
