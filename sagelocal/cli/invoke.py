"""``sagelocal invoke``: InvokeEndpoint with a payload from the command line or a file; prints the response body.

InvokeEndpoint takes at most 6291456 bytes (botocore ``sagemaker-runtime`` ``BodyBlob``), so a ``text/csv`` file
larger than that is sent as the tutorials send a test set, in batches of whole rows (as
``np.array_split`` + ``predictor.predict`` per batch), and the answers are put together in row order:
bodies ending in a newline (one score per line, images 1.2-2 on) are concatenated, comma-joined ones (0.72 …
1.2-1) are joined with a comma, and JSON ``{"predictions": [...]}`` documents are merged into one. A ``--body``
is sent as given, so an oversized one gets the service's own 413.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sagelocal.backends import Backend, get_backend
from sagelocal.cli.errors import handle_errors, operation
from sagelocal.cli.train import BackendOption
from sagelocal.evaluation.testset import MAX_BODY_BYTES, pack_rows

#: InvokeEndpoint's payload limit (botocore ``sagemaker-runtime`` ``BodyBlob`` max length).
MAX_PAYLOAD_BYTES = MAX_BODY_BYTES


def csv_batches(data: bytes, limit: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """``data`` (CSV rows) as few bodies of whole rows as fit in ``limit`` bytes each, rows joined by ``\\n``
    without a trailing newline (as ``CSVSerializer`` writes them). A single row over the limit is a batch of its
    own (the service refuses it with its own error). A payload that fits is sent as it is."""
    if len(data) <= limit:
        return [data]
    rows = data.splitlines()
    while rows and not rows[-1].strip():
        rows.pop()
    return [b"\n".join(chunk) for chunk in pack_rows(rows, limit)] or [b""]


def join_bodies(bodies: list[bytes], content_type: str | None) -> bytes:
    """The answers of the batches as one body, as a single request for all rows would have been answered."""
    if len(bodies) == 1:
        return bodies[0]
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json":
        try:
            documents = [json.loads(body) for body in bodies]
            predictions = [p for document in documents for p in document["predictions"]]
        except (ValueError, KeyError, TypeError):
            pass
        else:
            return json.dumps({"predictions": predictions}).encode()
    if all(body.endswith(b"\n") for body in bodies if body):
        return b"".join(bodies)
    return b",".join(body for body in bodies if body)


def send(
    backend: Backend,
    endpoint: str,
    payload: bytes,
    content_type: str | None,
    accept: str | None,
    batched: bool,
) -> bytes:
    bodies: list[bytes] = []
    answered_type: str | None = None
    for batch in csv_batches(payload) if batched else [payload]:
        with operation("InvokeEndpoint"):
            response = backend.invoke_endpoint(endpoint, batch, content_type, accept)
        bodies.append(response["Body"])
        answered_type = response.get("ContentType", answered_type)
    return join_bodies(bodies, answered_type)


def _is_csv(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in ("text/csv", "csv")


@handle_errors
def invoke(
    endpoint: Annotated[str, typer.Argument(help="Endpoint name.")],
    content_type: Annotated[
        str | None,
        typer.Option("--content-type", help="Content-Type of the payload, e.g. text/csv, text/libsvm."),
    ] = None,
    body: Annotated[
        str | None, typer.Option("--body", help="The payload, as given (excludes --file).")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Read the payload from this file; a text/csv file over 6 MB is sent in batches of whole rows.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    accept: Annotated[
        str | None,
        typer.Option("--accept", help="Accept, e.g. text/csv, application/json, application/jsonlines."),
    ] = None,
    backend: BackendOption = "local",
) -> None:
    """Send a payload to an endpoint (InvokeEndpoint) and print the response body."""
    if (body is None) == (file is None):
        raise typer.BadParameter("give exactly one of --body and --file", param_hint="'--body' / '--file'")
    payload = file.read_bytes() if file is not None else (body or "").encode()
    be = get_backend(backend)
    answer = send(
        be, endpoint, payload, content_type, accept, batched=file is not None and _is_csv(content_type)
    )
    out = sys.stdout.buffer
    out.write(answer)
    if answer and not answer.endswith(b"\n"):
        out.write(b"\n")
    out.flush()
