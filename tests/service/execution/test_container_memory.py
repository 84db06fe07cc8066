"""``SAGELOCAL_CONTAINER_MEMORY``: the docker backend's memory limit for training containers, with no swap."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from sagelocal import config
from sagelocal.service.execution.runners.base import AlgorithmRun, RunnerError
from sagelocal.service.execution.runners.container import ContainerRunner


@pytest.mark.parametrize(
    ("text", "limit"),
    [("", None), ("512m", 512 << 20), ("2g", 2 << 30), ("1.5g", 3 << 29), ("8388608", 8 << 20), (" 64M ", 64 << 20)],
)
def test_values(monkeypatch, text, limit):
    monkeypatch.setenv("SAGELOCAL_CONTAINER_MEMORY", text)
    assert config.container_memory() == limit


@pytest.mark.parametrize("text", ["lots", "4x", "1k", "-1g"])
def test_nonsense_or_too_small_is_refused(monkeypatch, text):
    monkeypatch.setenv("SAGELOCAL_CONTAINER_MEMORY", text)
    with pytest.raises(ValueError) as e:
        config.container_memory()
    assert str(e.value) == (
        f"SAGELOCAL_CONTAINER_MEMORY={text.lower()!r}: give the container memory limit in bytes or with a k, m "
        "or g suffix, at least 6m"
    )


class Created(Exception):
    pass


class Containers:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def create(self, image: str, **kwargs: Any) -> Any:
        self.kwargs = kwargs
        raise Created


class Client:
    def __init__(self) -> None:
        self.containers = Containers()


def create_kwargs(tmp_path: Path) -> dict[str, Any]:
    client = Client()
    runner = ContainerRunner(client=client, log=lambda _line: None)  # type: ignore[arg-type]
    runner._resolved["img"] = "img"
    with pytest.raises(Created):
        runner.run(AlgorithmRun(ml_root=tmp_path, image_uri="img", image_version=None), threading.Event(), None)
    return client.containers.kwargs


def test_the_container_gets_the_limit_and_no_swap(monkeypatch, tmp_path):
    monkeypatch.setenv("SAGELOCAL_CONTAINER_MEMORY", "768m")
    kwargs = create_kwargs(tmp_path)
    assert (kwargs["mem_limit"], kwargs["memswap_limit"]) == (768 << 20, 768 << 20)
    monkeypatch.delenv("SAGELOCAL_CONTAINER_MEMORY")
    kwargs = create_kwargs(tmp_path)
    assert (kwargs["mem_limit"], kwargs["memswap_limit"]) == (None, None)


def test_a_bad_setting_fails_the_run(monkeypatch, tmp_path):
    monkeypatch.setenv("SAGELOCAL_CONTAINER_MEMORY", "lots")
    with pytest.raises(RunnerError) as e:
        create_kwargs(tmp_path)
    assert str(e.value) == (
        "SAGELOCAL_CONTAINER_MEMORY='lots': give the container memory limit in bytes or with a k, m or g suffix, "
        "at least 6m"
    )
