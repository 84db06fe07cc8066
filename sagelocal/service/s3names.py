"""S3's naming rules as the object store applies them: which bucket names are valid, which keys are, how a key's
segments map to file names (see ``objectstore``'s docstring), and the opaque ListObjectsV2 continuation token.
Source: Amazon S3 User Guide, "General purpose bucket naming rules" and "Naming Amazon S3 objects"
(docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html, object-keys.html)."""

from __future__ import annotations

import base64
import binascii
import json
import re

from sagelocal.aws.errors import InvalidArgument

#: Prefix of the on-disk names of segments that cannot be stored as themselves (see objectstore's docstring).
RESERVED_PREFIX = ".s3~"
MAX_KEY_BYTES = 1024


class KeyTooLongError(InvalidArgument):
    code = "KeyTooLongError"


_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4_RE = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_BAD_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
#: Buckets made before March 2018 in us-east-1 may hold capitals and underscores; accepted for access only.
LEGACY_BUCKET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


def valid_bucket_name(name: str) -> bool:
    """S3's rules for new buckets (general purpose buckets)."""
    return (
        isinstance(name, str)
        and _BUCKET_RE.fullmatch(name) is not None
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and _IPV4_RE.fullmatch(name) is None
        and not name.startswith(_BAD_BUCKET_PREFIXES)
        and not name.endswith(_BAD_BUCKET_SUFFIXES)
    )


def encode_segment(segment: str) -> str:
    if segment in ("", ".", "..") or segment.startswith(RESERVED_PREFIX):
        return RESERVED_PREFIX + segment
    return segment


def decode_name(name: str) -> str:
    return name[len(RESERVED_PREFIX) :] if name.startswith(RESERVED_PREFIX) else name


def check_key(key: str) -> None:
    if not isinstance(key, str) or key == "":
        raise InvalidArgument("An object key must not be empty.")
    if "\x00" in key:
        raise InvalidArgument("Object key must not contain a NUL character.")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidArgument("Object key is not valid UTF-8.") from None
    if size > MAX_KEY_BYTES:
        raise KeyTooLongError("Your key is too long")


def encode_token(after: str, past: str | None = None) -> str:
    """A continuation token: the listing resumes after key ``after`` and, when ``past`` is set, after every
    key starting with ``past`` (a common prefix already returned)."""
    raw = json.dumps({"v": 1, "after": after, "past": past}, ensure_ascii=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, str | None]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        after, past = data["after"], data.get("past")
        if data.get("v") != 1 or not isinstance(after, str) or not isinstance(past, str | None):
            raise ValueError
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidArgument("The continuation token provided is incorrect") from None
    return after, past
