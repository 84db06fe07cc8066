"""The web console ``sagelocal serve`` shows at ``/_console/``: server-rendered pages of training jobs, endpoints
and the S3 store, with the few static files shipped in this package (nothing is loaded from the internet).

Pages read the state through :class:`sagelocal.service.readonly.ReadOnlyState` (the database opened read-only)
and the object store's read methods; they never write. A running resource's page polls a fragment of itself
(``web.POLL_MS``) and puts it in place, so it updates without a reload; the log follows new lines the same way.

A resource kind is one module here with ``SECTION`` and ``ROUTES`` (see :mod:`.web`); add it to ``MODULES``.
Why the console is outside SigV4, and the rest of its security, is in :mod:`.web`'s docstring.
"""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sagelocal.server.console import endpoints, s3, training
from sagelocal.server.console.web import (
    PREFIX,
    Context,
    Route,
    environment,
    loopback_client,
    plain,
    static_file,
)
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.readonly import ReadOnlyState

__all__ = ["PREFIX", "Console", "is_console_path"]

#: The console's resource kinds, in navigation order.
MODULES = (training, endpoints, s3)


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class Console:
    """The console over the database at ``database`` and the object store ``objects``."""

    def __init__(self, database: Path, objects: ObjectStore) -> None:
        sections = [m.SECTION for m in MODULES if m.SECTION is not None]
        self.context = Context(ReadOnlyState(database), objects, sections, environment())
        self.routes: list[Route] = [r for m in MODULES for r in m.ROUTES]

    async def handle(self, request: Request) -> Response:
        if not loopback_client(request):
            return plain("The sagelocal console answers requests from this machine only.\n", 403)
        if request.method not in ("GET", "HEAD"):
            return plain("The sagelocal console is read-only.\n", 405, headers={"Allow": "GET, HEAD"})
        path = request.url.path[len(PREFIX) :].rstrip("/")
        if path == "":
            return RedirectResponse(PREFIX + training.SECTION.path, status_code=302)
        if path.startswith("/static/"):
            return static_file(path[len("/static/") :])
        for candidate in self.routes:
            match = candidate.pattern.fullmatch(path)
            if match:
                return await run_in_threadpool(candidate.handler, self.context, request, match.groupdict())
        return await run_in_threadpool(self.context.not_found, f"The page {path}")
