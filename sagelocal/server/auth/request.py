"""The request as the verifier sees it, and the result of a successful verification."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from sagelocal.server.auth.chunks import ChunkSignatureVerifier
from sagelocal.server.auth.errors import SignatureError

#: Printable ASCII but ``#`` and ``?``: what a raw path keeps unencoded when handed to the signer as a URL.
_PATH_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "#?")


@dataclass(frozen=True)
class IncomingRequest:
    """What the verifier needs of a request, exactly as the client sent it. Header names are lower-case and
    values are decoded as latin-1, byte for byte (how HTTP clients encode header strings)."""

    method: str
    raw_path: bytes
    query_string: bytes
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> IncomingRequest:
        """From an ASGI HTTP scope (Starlette's ``request.scope``)."""
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        headers = tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])
        )
        return cls(scope["method"], raw_path, scope.get("query_string", b""), headers)

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return ",".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def query_pairs(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs, each percent-decoded once (``+`` stays ``+``) and read as UTF-8."""
        pairs = []
        for piece in self.query_string.split(b"&"):
            if not piece:
                continue
            name, _, value = piece.partition(b"=")
            pairs.append(
                (
                    unquote_to_bytes(name).decode("utf-8", "replace"),
                    unquote_to_bytes(value).decode("utf-8", "replace"),
                )
            )
        return pairs

    def url_path(self) -> str:
        """The raw path as a URL path string, non-ASCII bytes percent-encoded (a SigV4 client encodes them)."""
        return quote(self.raw_path or b"/", safe=_PATH_SAFE)


# --- the result -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """A request whose signature checked out. ``content_sha256`` is the payload hash the client signed (S3
    header-signed requests with a hex ``X-Amz-Content-SHA256``): the body decoder must compare it with the hash
    of what it received (:meth:`check_payload_sha256`). ``chunks`` verifies an ``aws-chunked`` body's
    signatures; None when the body carries none."""

    access_key_id: str
    scheme: str  #: "sigv4-header", "sigv4-query", "sigv2-header" or "sigv2-query"
    content_sha256: str | None = None
    chunks: ChunkSignatureVerifier | None = None

    def check_payload_sha256(self, actual_hex: str) -> None:
        """Raise S3's ``XAmzContentSHA256Mismatch`` if the body received is not the one that was signed."""
        if self.content_sha256 is not None and not hmac.compare_digest(self.content_sha256, actual_hex):
            raise SignatureError(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400,
                ClientComputedContentSHA256=self.content_sha256,
                S3ComputedContentSHA256=actual_hex,
            )
