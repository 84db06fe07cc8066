"""What every console page shares: the route table entry, the page context (read-only state, templates), the
responses with their security headers, and the packaged static files.

Each resource kind is one module (``training``, ``endpoints``, ``s3`` …) exposing ``SECTION`` (its entry in the
navigation bar, or None) and ``ROUTES`` (its pages); :mod:`sagelocal.server.console` lists the modules. Handlers
are plain functions run in the server's thread pool, since SQLite and the file system block.

Security (the console is reached by browsers, which cannot sign requests, so it is outside SigV4):

- it only reads: GET and HEAD, through a database opened read-only and the object store's read methods;
- Jinja autoescaping escapes every value put into a page (job names, hyperparameters, log lines, keys);
- ``Content-Security-Policy`` allows scripts and styles only from the console's own static files (no inline
  script would run even if a value escaped), no framing, and ``connect-src 'self'``;
- objects are downloaded as ``application/octet-stream`` attachments with ``nosniff``, so an uploaded HTML file
  never renders on the console's origin;
- the server's Host check (DNS rebinding) runs before the console, and the console answers loopback clients
  only, also when ``--allow-remote`` opens the API (which stays signed) to other machines.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.readonly import ReadOnlyState

#: The console's path. S3 cannot route it: path-style requests name a bucket first, and no bucket name starts
#: with ``_`` (sagelocal.service.s3names); virtual-host-style requests never reach the console.
PREFIX = "/_console"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
#: A fragment's answer header saying the resource will not change any more, so the page stops polling.
FINAL_HEADER = "X-Console-Final"
STATIC_FILES = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
#: How often a page polls its live fragments (milliseconds).
POLL_MS = 1500


@dataclass(frozen=True)
class Section:
    """An entry of the navigation bar."""

    title: str
    path: str  # under PREFIX


@dataclass
class Context:
    """What a handler reads from: the database (read-only), the object store, the templates."""

    state: ReadOnlyState
    objects: ObjectStore
    sections: list[Section]
    templates: Environment

    def page(self, template: str, http_status: int = 200, **values: Any) -> Response:
        """A whole page (``template`` extends ``base.html``)."""
        body = self.templates.get_template(template).render(
            sections=self.sections, root=PREFIX, poll_ms=POLL_MS, **values
        )
        return html(body, http_status)

    def fragment(
        self, template: str, final: bool, headers: dict[str, str] | None = None, **values: Any
    ) -> Response:
        """A piece of a page that a page's script fetches and puts in place (``final``: it will not change)."""
        body = self.templates.get_template(template).render(root=PREFIX, **values)
        response = html(body)
        response.headers[FINAL_HEADER] = "1" if final else "0"
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    def not_found(self, what: str) -> Response:
        return self.page("not_found.html", http_status=404, what=what)


Handler = Callable[[Context, Request, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]  # matched against the path after PREFIX
    handler: Handler


def route(pattern: str, handler: Handler) -> Route:
    """``pattern``: a regex for the path after PREFIX; named groups are passed to the handler."""
    return Route(re.compile(pattern), handler)


def html(body: str, status: int = 200) -> Response:
    response = Response(body, status_code=status, media_type="text/html; charset=utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def plain(text: str, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(text, status_code=status, media_type="text/plain; charset=utf-8", headers=headers)
    response.headers.update(SECURITY_HEADERS)
    return response


def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        return plain("Not found\n", 404)
    body = (resources.files("sagelocal.server.console") / "static" / name).read_bytes()
    response = Response(body, media_type=STATIC_FILES[name])
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    return response


def loopback_client(request: Request) -> bool:
    """True if the request comes from this machine (the peer address uvicorn reports)."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


# --- template helpers ----------------------------------------------------------------------------------------


def _when(value: datetime | float | None) -> str:
    if value is None:
        return ""
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, tz=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _when_ms(value: int) -> str:
    moment = datetime.fromtimestamp(value / 1000, tz=UTC)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def duration(seconds: float | None) -> str:
    """``1h 02m 03s``, ``2m 05s``, ``7s``."""
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _size(value: int) -> str:
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{value} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"


def url(path: str, **query: Any) -> str:
    """A console URL: ``path`` under PREFIX, each segment of it quoted, then the non-empty ``query``."""
    quoted = "/".join(quote(part, safe="") for part in path.split("/"))
    pairs = {k: v for k, v in query.items() if v not in (None, "")}
    return PREFIX + quoted + ("?" + urlencode(pairs) if pairs else "")


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sagelocal.server.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["when_ms"] = _when_ms
    env.filters["duration"] = duration
    env.filters["size"] = _size
    env.globals["url"] = url
    return env
