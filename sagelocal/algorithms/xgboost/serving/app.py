"""The HTTP surface of ``serve`` as an ASGI application (run by uvicorn, see ``server``).

What a client of the real container sees (aws/sagemaker-containers v2.8.6.post2 ``etc/nginx.conf.template``
and the image's Flask app, aws/sagemaker-xgboost-container ``algorithm_mode/serve.py``):
- nginx proxies only paths matching ``^/(ping|invocations|execution-parameters)``; every other path gets
  ``404`` with body ``{}`` (``default_type application/octet-stream``);
- Flask routes ``GET /ping``, ``GET /execution-parameters`` and ``POST /invocations`` (plus the automatic
  ``HEAD`` and ``OPTIONS``); other proxied paths get Werkzeug's 404 page, other methods its 405 page;
- Flask's ``MAX_CONTENT_LENGTH`` (``MAX_CONTENT_LENGTH`` env, default 6291456) makes a larger
  ``/invocations`` body a Werkzeug 413 page;
- nginx writes a ``combined`` access-log line per request to stdout.
The app is raw ASGI rather than a framework so that a one-row invocation costs little besides XGBoost.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sagelocal.algorithms.xgboost.serving.scoring import PAGE, Reply, ScoringService, werkzeug_page

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PROXIED = re.compile(r"^/(ping|invocations|execution-parameters)")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_ROUTES = {"/ping": ("GET",), "/execution-parameters": ("GET",), "/invocations": ("POST",)}

NOT_FOUND_PAGE = werkzeug_page(
    404,
    "Not Found",
    "The requested URL was not found on the server.  If you entered the URL manually please check your "
    "spelling and try again.",
)
METHOD_NOT_ALLOWED_PAGE = werkzeug_page(
    405, "Method Not Allowed", "The method is not allowed for the requested URL."
)
TOO_LARGE_PAGE = werkzeug_page(
    413, "Request Entity Too Large", "The data value transmitted exceeds the capacity limit."
)


class ServingApp:
    def __init__(self, service: ScoringService, access_log: Callable[[str], None] | None = None) -> None:
        self.service = service
        self.access_log = access_log or _print

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reply, extra = await self._route(scope, headers, receive)
        head = scope["method"] == "HEAD"
        response_headers = [
            (b"content-type", reply.content_type.encode("latin-1")),
            (b"content-length", str(len(reply.body)).encode()),
            *extra,
        ]
        if reply.status == 204:
            response_headers = [h for h in response_headers if h[0] != b"content-length"]
        await send({"type": "http.response.start", "status": reply.status, "headers": response_headers})
        await send({"type": "http.response.body", "body": b"" if head or reply.status == 204 else reply.body})
        self._log(scope, headers, reply)

    async def _route(
        self, scope: Scope, headers: dict[str, str], receive: Receive
    ) -> tuple[Reply, list[tuple[bytes, bytes]]]:
        path: str = scope["path"]
        method: str = scope["method"]
        if not _PROXIED.match(path):
            return Reply(404, b"{}", "application/octet-stream"), []
        allowed = _ROUTES.get(path)
        if allowed is None:
            return Reply(404, NOT_FOUND_PAGE, PAGE), []
        methods = (*allowed, "HEAD", "OPTIONS") if "GET" in allowed else (*allowed, "OPTIONS")
        allow = [(b"allow", ", ".join(sorted(methods)).encode())]
        if method == "OPTIONS":
            return Reply(200), allow
        if method not in methods:
            return Reply(405, METHOD_NOT_ALLOWED_PAGE, PAGE), allow
        if path == "/ping":
            return self.service.ping(), []
        if path == "/execution-parameters":
            return self.service.execution_parameters(), []
        limit = self.service.max_content_length
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return Reply(413, TOO_LARGE_PAGE, PAGE), []
        body = await _read_body(receive, limit)
        if body is None:
            return Reply(413, TOO_LARGE_PAGE, PAGE), []
        content_type = headers.get("content-type")
        if content_type is not None and content_type.split(";")[0].strip().lower() in _FORM_TYPES:
            body = b""  # Werkzeug parses form bodies into request.form; request.data is then empty
        return self.service.invocations(body, content_type, headers.get("accept")), []

    def _log(self, scope: Scope, headers: dict[str, str], reply: Reply) -> None:
        """nginx ``combined``: ``$remote_addr - $remote_user [$time_local] "$request" $status
        $body_bytes_sent "$http_referer" "$http_user_agent"``."""
        client = scope.get("client") or ("-", 0)
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        target = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        request = f"{scope['method']} {target} HTTP/{scope.get('http_version', '1.1')}"
        sent = 0 if reply.status == 204 or scope["method"] == "HEAD" else len(reply.body)
        self.access_log(
            f'{client[0]} - - [{stamp}] "{request}" {reply.status} {sent} '
            f'"{headers.get("referer", "-")}" "{headers.get("user-agent", "-")}"'
        )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
