"""Host header checks (sagelocal.server.hosts): the server answers only to its own names (DNS rebinding)."""

from __future__ import annotations

import pytest

from sagelocal.server.hosts import host_allowed

ALLOWED = [
    ("127.0.0.1:9090", "127.0.0.1"),
    ("127.0.0.1", "127.0.0.1"),
    ("localhost:9090", "127.0.0.1"),
    ("LOCALHOST:9090", "127.0.0.1"),
    ("localhost.:9090", "127.0.0.1"),
    ("bucket.localhost:9090", "127.0.0.1"),
    ("bucket.s3.localhost:9090", "127.0.0.1"),
    ("my.dotted.bucket.s3.us-east-1.localhost:9090", "127.0.0.1"),
    ("[::1]:9090", "::1"),
    ("[::1]:9090", "127.0.0.1"),
    ("localhost:9090", "localhost"),
    ("127.0.0.1:9090", "localhost"),
    ("192.168.1.5:9090", "0.0.0.0"),
    ("[fe80::1]:9090", "::"),
    ("192.168.1.5:9090", "192.168.1.5"),
    ("myhost.lan:9090", "myhost.lan"),
    ("bucket.myhost.lan:9090", "myhost.lan"),
]
REFUSED = [
    (None, "127.0.0.1"),
    ("", "127.0.0.1"),
    ("evil.example:9090", "127.0.0.1"),
    ("evil.example", "127.0.0.1"),
    ("b.s3.evil.example:9090", "127.0.0.1"),
    ("bucket.s3.amazonaws.com:9090", "127.0.0.1"),
    ("localhost.evil.example:9090", "127.0.0.1"),
    ("evillocalhost:9090", "127.0.0.1"),
    ("localhost:9091", "127.0.0.1"),
    ("127.0.0.1:80", "127.0.0.1"),
    ("192.168.1.5:9090", "127.0.0.1"),
    ("::1", "::1"),
    ("[::1", "::1"),
    ("localhost:port", "127.0.0.1"),
    ("localhost:99999999", "127.0.0.1"),
    ("evil.example:9090", "0.0.0.0"),
    ("evil.example:9090", "myhost.lan"),
    ("127.0.0.1.nip.io:9090", "127.0.0.1"),
]


@pytest.mark.parametrize(("host", "bind"), ALLOWED)
def test_own_names_are_allowed(host: str, bind: str) -> None:
    assert host_allowed(host, bind, 9090)


@pytest.mark.parametrize(("host", "bind"), REFUSED)
def test_other_names_are_refused(host: str | None, bind: str) -> None:
    assert not host_allowed(host, bind, 9090)
