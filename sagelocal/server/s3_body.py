"""S3 request bodies: ``aws-chunked`` decoding (SigV4 streaming chunks and trailing checksums), Content-MD5
and ``x-amz-checksum-*`` verification while the body is spooled to a temporary file, and the XML documents some
operations send (``Delete``, ``CompleteMultipartUpload``).

The request's signature was verified before its body was read (:mod:`sagelocal.server.app`); the body is
checked here against what was signed: the ``X-Amz-Content-SHA256`` hash of the raw body, or each
``aws-chunked`` chunk's chained signature and the trailer's. :meth:`SpooledBody.read` returns only a body that
passed, so nothing unsigned is ever stored."""

from __future__ import annotations

import base64
import hashlib
import tempfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, cast
from xml.etree import ElementTree

from starlette.requests import Request

from sagelocal.server.auth import ChunkSignatureVerifier, Verified
from sagelocal.server.s3_wire import S3Error

SPOOL_MEMORY_BYTES = 1024 * 1024
#: ``x-amz-checksum-<name>`` algorithms sagelocal verifies; others (crc32c, crc64nvme) are echoed unverified.
_CHECKSUMS: dict[str, Any] = {"crc32": None, "sha1": hashlib.sha1, "sha256": hashlib.sha256}


# --- chunked, checksummed bodies --------------------------------------------------------------------------


class AwsChunkedDecoder:
    """Incremental decoder for ``Content-Encoding: aws-chunked`` bodies.

    Handles SigV4 streaming chunks (``<hex-size>;chunk-signature=<sig>\\r\\n<data>\\r\\n``), unsigned chunks
    (``<hex-size>\\r\\n<data>\\r\\n``) and the trailer section after the final zero-size chunk
    (``x-amz-checksum-crc32:<b64>\\r\\n``…, then ``x-amz-trailer-signature:<sig>`` when signed). With
    ``chunks`` (a signed streaming upload), each chunk's data and ``chunk-signature`` are checked as the chunk
    ends, the trailer's signature at the end of the trailer, and :meth:`finish` requires the whole chain.
    """

    MAX_LINE = 64 * 1024
    TRAILER_SIGNATURE = "x-amz-trailer-signature"

    def __init__(self, chunks: ChunkSignatureVerifier | None = None) -> None:
        self._buffer = bytearray()
        self._state = "size"
        self._remaining = 0
        self._chunks = chunks
        self._chunk_signature: str | None = None
        self._trailer_lines: list[tuple[str, str]] = []
        self._trailer_signature: str | None = None
        self.trailers: dict[str, str] = {}

    @property
    def done(self) -> bool:
        return self._state == "done"

    def _line(self) -> bytes | None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > self.MAX_LINE:
                raise S3Error("IncompleteBody", "The aws-chunked body has a malformed chunk header.")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def feed(self, data: bytes) -> bytes:
        """Decode what ``data`` completes; return the payload bytes it yields."""
        self._buffer += data
        out = bytearray()
        while True:
            if self._state == "size":
                line = self._line()
                if line is None:
                    break
                size_text, _, extensions = line.partition(b";")
                try:
                    size = int(size_text.strip(), 16)
                except ValueError:
                    raise S3Error(
                        "IncompleteBody", "The aws-chunked body has a malformed chunk header."
                    ) from None
                self._chunk_signature = _chunk_signature(extensions)
                if size == 0:
                    if self._chunks is not None:
                        self._chunks.end_chunk(self._chunk_signature)  # the final, empty chunk
                    self._state = "trailer"
                else:
                    self._remaining = size
                    self._state = "data"
            elif self._state == "data":
                if not self._buffer:
                    break
                take = min(self._remaining, len(self._buffer))
                piece = bytes(self._buffer[:take])
                if self._chunks is not None:
                    self._chunks.update(piece)
                out += piece
                del self._buffer[:take]
                self._remaining -= take
                if self._remaining == 0:
                    self._state = "crlf"
            elif self._state == "crlf":
                if len(self._buffer) < 2:
                    break
                if bytes(self._buffer[:2]) != b"\r\n":
                    raise S3Error("IncompleteBody", "The aws-chunked body has a malformed chunk.")
                del self._buffer[:2]
                if self._chunks is not None:
                    self._chunks.end_chunk(self._chunk_signature)
                self._state = "size"
            elif self._state == "trailer":
                line = self._line()
                if line is None:
                    break
                if not line.strip():
                    self._end_trailer()
                    continue
                name, sep, value = line.decode("latin-1").partition(":")
                if sep:
                    if name.strip().lower() == self.TRAILER_SIGNATURE:
                        self._trailer_signature = value.strip()
                    else:
                        self._trailer_lines.append((name, value))
                        self.trailers[name.strip().lower()] = value.strip()
            else:  # done: anything after the terminating blank line is ignored
                self._buffer.clear()
                break
        return bytes(out)

    def _end_trailer(self) -> None:
        if self._chunks is not None and self._chunks.trailer:
            self._chunks.end_trailer(self._trailer_lines, self._trailer_signature)
        self._state = "done"

    def finish(self) -> None:
        if self._state == "trailer" and not self._buffer:
            self._end_trailer()  # "0\r\n" then end of body: a client that sent no terminating blank line
        if self._state != "done":
            raise S3Error(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            )
        if self._chunks is not None:
            self._chunks.check_complete()


def _chunk_signature(extensions: bytes) -> str | None:
    """The ``chunk-signature`` value among a chunk header's ``;name=value`` extensions, if any."""
    for extension in extensions.split(b";"):
        name, _, value = extension.decode("latin-1").partition("=")
        if name.strip().lower() == "chunk-signature":
            return value.strip()
    return None


def _is_checksum_value(header: str) -> bool:
    return header.startswith("x-amz-checksum-") and header[15:] not in ("algorithm", "type", "mode")


def _crc32_hasher() -> Any:
    class _Crc32:
        def __init__(self) -> None:
            self.value = 0

        def update(self, data: bytes) -> None:
            self.value = zlib.crc32(data, self.value)

        def digest(self) -> bytes:
            return self.value.to_bytes(4, "big")

    return _Crc32()


class SpooledBody:
    """A request body, decoded and spooled to a temporary file, with its MD5 and any requested checksums."""

    def __init__(self, spool_dir: Path | None = None) -> None:
        """Bodies over SPOOL_MEMORY_BYTES go to a file in ``spool_dir`` (the state folder's request spool;
        None: the system's temp folder)."""
        # A binary file object (typeshed types SpooledTemporaryFile as IO[bytes], not BinaryIO).
        self.file = cast(
            BinaryIO,
            tempfile.SpooledTemporaryFile(
                max_size=SPOOL_MEMORY_BYTES, dir=None if spool_dir is None else str(spool_dir), prefix="body-"
            ),
        )
        self.size = 0
        self.md5 = hashlib.md5()
        # algorithm -> base64 digest (verified, or echoed when sagelocal cannot compute it)
        self.checksums: dict[str, str] = {}

    def close(self) -> None:
        self.file.close()

    @classmethod
    async def read(cls, request: Request, verified: Verified, spool_dir: Path | None = None) -> SpooledBody:
        """The body of ``request``, decoded, spooled (under ``spool_dir``) and checked against what ``verified``
        says was signed (raises :class:`~sagelocal.server.auth.SignatureError` otherwise) and its digests."""
        headers = request.headers
        encodings = [e.strip().lower() for e in headers.get("content-encoding", "").split(",") if e.strip()]
        chunked = "aws-chunked" in encodings or headers.get("x-amz-content-sha256", "").startswith(
            "STREAMING-"
        )
        wanted = {name for name in _CHECKSUMS if f"x-amz-checksum-{name}" in headers}
        for trailer in headers.get("x-amz-trailer", "").split(","):
            trailer = trailer.strip().lower()
            if trailer.startswith("x-amz-checksum-") and trailer[15:] in _CHECKSUMS:
                wanted.add(trailer[15:])
        hashers = {name: (_crc32_hasher() if name == "crc32" else _CHECKSUMS[name]()) for name in wanted}

        body = cls(spool_dir)
        decoder = AwsChunkedDecoder(verified.chunks) if chunked else None
        # The client signed the hash of the body as sent (before any aws-chunked decoding).
        raw_hash = hashlib.sha256() if verified.content_sha256 is not None else None
        try:
            async for chunk in request.stream():
                if raw_hash is not None:
                    raw_hash.update(chunk)
                data = decoder.feed(chunk) if decoder else chunk
                if data:
                    body.file.write(data)
                    body.size += len(data)
                    body.md5.update(data)
                    for hasher in hashers.values():
                        hasher.update(data)
            if raw_hash is not None:
                verified.check_payload_sha256(raw_hash.hexdigest())
            supplied = {k[15:]: v for k, v in headers.items() if _is_checksum_value(k)}
            if decoder:
                decoder.finish()
                supplied.update({k[15:]: v for k, v in decoder.trailers.items() if _is_checksum_value(k)})
                decoded_length = headers.get("x-amz-decoded-content-length")
                if (
                    decoded_length is not None
                    and decoded_length.isdigit()
                    and int(decoded_length) != body.size
                ):
                    raise S3Error(
                        "IncompleteBody",
                        "You did not provide the number of bytes specified by the Content-Length HTTP header",
                    )
            body._verify(headers.get("content-md5"), supplied, hashers)
        except BaseException:
            body.close()
            raise
        body.file.seek(0)
        return body

    def _verify(self, content_md5: str | None, supplied: dict[str, str], hashers: dict[str, Any]) -> None:
        if content_md5 is not None:
            try:
                expected = base64.b64decode(content_md5, validate=True)
            except ValueError:
                expected = b""
            if len(expected) != 16:
                raise S3Error("InvalidDigest", "The Content-MD5 you specified was not valid.")
            if expected != self.md5.digest():
                raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.")
        for name, value in supplied.items():
            if name in hashers:
                actual = base64.b64encode(hashers[name].digest()).decode()
                if value != actual:
                    raise S3Error(
                        "BadDigest",
                        f"The {name.upper()} you specified did not match the calculated checksum.",
                    )
                self.checksums[name] = actual
            else:
                self.checksums[name] = value

    def checksum_headers(self) -> dict[str, str]:
        return {f"x-amz-checksum-{name}": value for name, value in self.checksums.items()}


async def read_small_body(request: Request, verified: Verified) -> bytes:
    """The whole body of a request that carries a small document (``Delete``, ``CompleteMultipartUpload``,
    ``CreateBucketConfiguration``), decoded and checked like an upload's."""
    body = await SpooledBody.read(request, verified)
    try:
        return body.file.read()
    finally:
        body.close()


# --- XML bodies -------------------------------------------------------------------------------------------


def parse_xml(body: bytes, what: str) -> ElementTree.Element:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        ) from None
    for element in root.iter():  # drop namespaces: clients differ in whether they send S3's
        element.tag = element.tag.rsplit("}", 1)[-1]
    if root.tag != what:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    return root
