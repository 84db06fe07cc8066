"""Which ``Host`` headers the server answers: its own names only, as a defence against DNS rebinding.

A web page on ``evil.example`` can make its name resolve to 127.0.0.1 and then send requests to
``http://evil.example:9090/`` that the browser treats as same-origin, so it can read the answers (DNS rebinding,
https://en.wikipedia.org/wiki/DNS_rebinding). Those requests carry ``Host: evil.example:9090``. Answering only
the names that can only mean this machine stops them before any other check runs:

- ``localhost`` and every ``*.localhost`` name, which RFC 6761 §6.3 reserves for loopback (resolvers must not
  send them to DNS), so no outside party can point one at us. This covers the S3 virtual-host forms
  ``<bucket>.localhost`` and ``<bucket>.s3.localhost`` that :func:`sagelocal.server.s3_api.virtual_host_bucket`
  reads.
- IP literals: a loopback address when the server is bound to loopback, any address when it is bound to a
  wildcard (``--allow-remote``), and the bind address itself. Rebinding needs a *name*; a page whose origin is
  an IP literal was served by that address.
- The bind host when it is a name (``--host myhost.lan``), and the names under it (virtual-host buckets).

The port, when the header has one, must be the server's. A request without ``Host`` is refused too: HTTP/1.1
requires the header (RFC 9112 §3.2), and every AWS SDK sends it.

A refused request gets ``403`` with a one-line ``text/plain`` body, before routing and before the signature
check, in no AWS protocol: it did not reach any AWS endpoint, and a browser page gets nothing it can parse.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

#: The status a refused ``Host`` gets (Forbidden: the server exists but will not answer under that name).
REFUSED_STATUS = 403
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def split_host(host_header: str) -> tuple[str, int | None] | None:
    """(hostname lower-cased without brackets or trailing dot, port or None) from a ``Host`` value, or None
    when the value is not a well-formed ``host[:port]``."""
    value = host_header.strip()
    if not value:
        return None
    port_text: str | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        hostname, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
        try:
            ipaddress.IPv6Address(hostname.split("%", 1)[0])
        except ValueError:
            return None
    else:
        hostname, sep, port_text_or_empty = value.partition(":")
        if ":" in port_text_or_empty:
            return None  # an unbracketed IPv6 literal, or junk
        port_text = port_text_or_empty if sep else None
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5:
            return None
        port = int(port_text)
    hostname = hostname.lower()
    if hostname.endswith("."):
        hostname = hostname[:-1]
    if not hostname:
        return None
    return hostname, port


def _ip(hostname: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(hostname.split("%", 1)[0])
    except ValueError:
        return None


def host_allowed(host_header: str | None, bind_host: str, port: int) -> bool:
    """True if a request with this ``Host`` header may be answered by a server bound to ``bind_host:port``."""
    if host_header is None:
        return False
    parsed = split_host(host_header)
    if parsed is None:
        return False
    hostname, header_port = parsed
    if header_port is not None and header_port != port:
        return False
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    bind = bind_host.strip().strip("[]").lower().rstrip(".")
    address = _ip(hostname)
    if address is not None:
        if bind in _WILDCARDS:
            return True
        bind_address = _ip(bind)
        if bind_address is not None and address == bind_address:
            return True
        return address.is_loopback and (
            bind == "localhost" or (bind_address is not None and bind_address.is_loopback)
        )
    if bind in _WILDCARDS or bind == "localhost" or _ip(bind) is not None:
        return False
    return hostname == bind or hostname.endswith("." + bind)


def refusal_message(host_header: str | None) -> str:
    """The one-line body of a refusal: what was refused and what to use instead."""
    shown = "no Host header" if host_header is None else f"Host {host_header[:200]!r}"
    return (
        f"sagelocal refuses requests with {shown}: call it as localhost, *.localhost or its bind address "
        "(a defence against DNS rebinding)\n"
    )


class HostCheckMiddleware:
    """ASGI middleware answering :data:`REFUSED_STATUS` to HTTP requests whose ``Host`` fails
    :func:`host_allowed`; everything else (and non-HTTP scopes such as ``lifespan``) passes through."""

    def __init__(self, app: ASGIApp, bind_host: str, port: int) -> None:
        self.app = app
        self.bind_host = bind_host
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = [v for k, v in scope.get("headers", []) if k.lower() == b"host"]
        host = values[0].decode("latin-1") if len(values) == 1 else None
        if host_allowed(host, self.bind_host, self.port):
            await self.app(scope, receive, send)
            return
        body = refusal_message(host).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": REFUSED_STATUS,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
