"""Per-chunk signatures of ``aws-chunked`` bodies (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import EMPTY_SHA256_HASH

from sagelocal.server.auth.errors import Protocol, mismatch


@dataclass
class ChunkSignatureVerifier:
    """Checks the chained signatures of a ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` body as it is decoded.

    Chunk *n*'s signature signs ``AWS4-HMAC-SHA256-PAYLOAD``, the request timestamp, the credential scope, the
    signature of chunk *n-1* (the header's "seed" signature for the first), the hash of the empty string and the
    hash of the chunk's data (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html). The HMAC
    itself, and the signing key derived from the secret, date, region and service, are botocore's
    (``SigV4Auth.signature``). The ``-TRAILER`` variant ends with a trailer signature over the trailing headers
    (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html).

    Usage, per chunk: :meth:`update` with its data (in as many pieces as it arrives), then :meth:`end_chunk`
    with the ``chunk-signature`` from its header line; the final chunk is the empty one. Then
    :meth:`end_trailer` for the trailer variant, and :meth:`check_complete`. Nothing is committed until then,
    so a body with a bad signature anywhere is refused whole.
    """

    protocol: Protocol
    signer: Any = field(repr=False)
    request: Any = field(repr=False)
    previous: str
    trailer: bool = False
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)
    _final_seen: bool = False
    _trailer_seen: bool = False

    def _sign(self, string_to_sign: str) -> str:
        return str(self.signer.signature(string_to_sign, self.request))

    def _scope(self) -> str:
        return str(self.signer.credential_scope(self.request))

    def update(self, data: bytes) -> None:
        if self._final_seen:
            raise mismatch(self.protocol)
        self._hash.update(data)

    def end_chunk(self, signature: str | None) -> None:
        """Verify the chunk whose data was fed since the last call; SignatureDoesNotMatch if it was not signed
        with this chain. An empty chunk is the final one."""
        digest = self._hash.hexdigest()
        self._hash = hashlib.sha256()
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                self.request.context["timestamp"],
                self._scope(),
                self.previous,
                EMPTY_SHA256_HASH,
                digest,
            ]
        )
        expected = self._sign(string_to_sign)
        if (
            self._final_seen
            or signature is None
            or not hmac.compare_digest(expected, signature.strip().lower())
        ):
            raise mismatch(self.protocol)
        self.previous = expected
        if digest == EMPTY_SHA256_HASH:
            self._final_seen = True

    def end_trailer(self, trailer_lines: Sequence[tuple[str, str]], signature: str | None) -> None:
        """Verify ``x-amz-trailer-signature`` over the trailing headers (``name:value`` lines, as sent,
        without the signature line itself)."""
        canonical = "".join(f"{name.strip().lower()}:{value.strip()}\n" for name, value in trailer_lines)
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                self.request.context["timestamp"],
                self._scope(),
                self.previous,
                hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            ]
        )
        expected = self._sign(string_to_sign)
        if not self._final_seen or signature is None or not hmac.compare_digest(expected, signature.strip()):
            raise mismatch(self.protocol)
        self._trailer_seen = True

    @property
    def complete(self) -> bool:
        return self._final_seen and (self._trailer_seen or not self.trailer)

    def check_complete(self) -> None:
        """SignatureDoesNotMatch unless the final chunk (and the trailer, if promised) was verified."""
        if not self.complete:
            raise mismatch(self.protocol)
