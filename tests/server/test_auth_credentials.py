"""The server's credentials file (sagelocal.server.credentials): private from its first byte, stable, checked."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest

from sagelocal.server.credentials import CredentialsFileError, generate, load_or_create


def test_created_once_private_and_aws_shaped(tmp_path: Path) -> None:
    path = tmp_path / "home" / "credentials.json"
    old_umask = os.umask(0)  # even with a permissive umask the file is never readable by others
    try:
        first = load_or_create(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", first.access_key_id)
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", first.secret_access_key)
    assert load_or_create(path) == first
    assert first.secret_access_key not in repr(first)
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temporary left behind


def test_fresh_credentials_differ() -> None:
    assert len({generate().secret_access_key for _ in range(20)}) == 20


def test_concurrent_first_use_agrees_on_one_set(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    results = []
    threads = [threading.Thread(target=lambda: results.append(load_or_create(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1


def test_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(CredentialsFileError) as caught:
        load_or_create(path)
    message = str(caught.value)
    assert (
        "\n" not in message and "can be read by other users (mode 0644)" in message and "delete it" in message
    )


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        json.dumps({"AccessKeyId": "AKIA", "SecretAccessKey": "x"}).encode(),
        json.dumps({"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA"}).encode(),
        b"\xff\xfe",
    ],
)
def test_corrupt_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "credentials.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(CredentialsFileError, match=r"is corrupt: delete it"):
        load_or_create(path)


def test_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    load_or_create(target)
    link = tmp_path / "credentials.json"
    link.symlink_to(target)
    with pytest.raises(CredentialsFileError):
        load_or_create(link)
