"""The server's own AWS credentials: one access key id and secret, kept in a file only its owner can read.

``sagelocal serve`` verifies every request's signature against these (see :mod:`sagelocal.server.auth`), so
whoever can read the file can call the server and nobody else can. That is why the file is created with mode
0600 from its first byte (never world-readable, not even briefly), and why a file that others can read is
refused rather than silently used: its secret must be assumed known.

The values look like real AWS keys (``AKIA`` + 16 characters, a 40-character secret) so that tools which check
the shape of a key (the AWS CLI, SDK credential resolvers, secret scanners) treat them as such. The alphabets
follow AWS's documented examples (``AKIAIOSFODNN7EXAMPLE`` / ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`` in
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html): upper-case letters and
digits 2-7 for the id, base64 characters for the secret.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import string
from dataclasses import dataclass, field
from pathlib import Path

ACCESS_KEY_PREFIX = "AKIA"
ACCESS_KEY_LENGTH = 20
SECRET_KEY_LENGTH = 40
_ID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
#: The file's members, named as ``aws iam create-access-key`` names them in its ``AccessKey`` document.
_ID_MEMBER = "AccessKeyId"
_SECRET_MEMBER = "SecretAccessKey"


class CredentialsFileError(Exception):
    """The credentials file cannot be used; ``str()`` is one line that says what to do about it."""


@dataclass(frozen=True)
class Credentials:
    """An access key id and its secret. The secret stays out of ``repr()`` so it never lands in a log."""

    access_key_id: str
    secret_access_key: str = field(repr=False)


def generate() -> Credentials:
    """Fresh random credentials from the ``secrets`` module (a CSPRNG)."""
    key_id = ACCESS_KEY_PREFIX + "".join(
        secrets.choice(_ID_ALPHABET) for _ in range(ACCESS_KEY_LENGTH - len(ACCESS_KEY_PREFIX))
    )
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_KEY_LENGTH))
    return Credentials(key_id, secret)


def load_or_create(path: Path) -> Credentials:
    """The credentials kept at ``path``, created there on first use.

    Creation is atomic: the file is written and synced under a temporary name opened with mode 0600, then
    hard-linked to ``path``. A link never replaces an existing file, so two servers starting at once agree on
    one set of credentials (the loser reads the winner's), and no reader ever sees a half-written file.
    Raises CredentialsFileError if the file exists but is unsafe or unreadable.
    """
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    credentials = generate()
    document = json.dumps(
        {_ID_MEMBER: credentials.access_key_id, _SECRET_MEMBER: credentials.secret_access_key}
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write through a file or symlink someone planted; 0o600 applies from creation on (the
    # umask can only remove bits).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(document + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
    return _load(path)


def _load(path: Path) -> Credentials:
    """Read and check the file. FileNotFoundError if it does not exist."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CredentialsFileError(
            f"cannot read the sagelocal credentials file {path} ({exc.strerror or exc}): "
            "make it a regular file you own, or delete it and sagelocal creates a new one"
        ) from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CredentialsFileError(
                f"the sagelocal credentials file {path} is not a regular file: delete it and sagelocal creates one"
            )
        if info.st_uid != os.geteuid():
            raise CredentialsFileError(
                f"the sagelocal credentials file {path} belongs to another user: delete it and sagelocal "
                "creates new credentials"
            )
        if info.st_mode & 0o077:
            raise CredentialsFileError(
                f"the sagelocal credentials file {path} can be read by other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}): delete it and sagelocal creates new credentials "
                "(the old secret must be assumed known)"
            )
        raw = handle.read(64 * 1024)
    try:
        document = json.loads(raw)
        key_id = document[_ID_MEMBER]
        secret = document[_SECRET_MEMBER]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise CredentialsFileError(
            f"the sagelocal credentials file {path} is corrupt: delete it and sagelocal creates new credentials"
        ) from None
    if not (
        _well_formed(key_id, ACCESS_KEY_LENGTH, _ID_ALPHABET, ACCESS_KEY_PREFIX)
        and _well_formed(secret, SECRET_KEY_LENGTH, _SECRET_ALPHABET, "")
    ):
        raise CredentialsFileError(
            f"the sagelocal credentials file {path} is corrupt: delete it and sagelocal creates new credentials"
        )
    return Credentials(key_id, secret)


def _well_formed(value: object, length: int, alphabet: str, prefix: str) -> bool:
    return (
        isinstance(value, str)
        and len(value) == length
        and value.startswith(prefix)
        and all(c in alphabet for c in value[len(prefix) :])
    )
