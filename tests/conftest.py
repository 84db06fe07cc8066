"""Shared pytest fixtures."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.builders import write_csv, write_files
from support.reliability_cases import kill_leftover_workers

from sagelocal.backends.local import LocalBackend

pytest_plugins = ["support.server_fixture", "support.docker_fixture"]

# Before anything imports XGBoost: OpenMP threads that spin while waiting make training crawl on a busy
# machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: ``ml_root(hyperparameters, channels, files, checkpoint=None)`` (the ``ml_root`` fixture).
MlRootBuilder = Callable[..., Path]


@pytest.fixture(scope="session")
def bank_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tutorial's bank-marketing ``train.csv`` and ``test.csv`` (label first, no header), built once."""
    from support.bank_data import ZIP_PATH, prepare

    if not ZIP_PATH.is_file():
        pytest.skip(f"the UCI Bank Marketing data is absent ({ZIP_PATH}); see ../shared/data/README.md")
    return prepare(tmp_path_factory.mktemp("bank_data"))


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A fresh state directory; job workers still running in it at the end are killed."""
    path = tmp_path / "home"
    yield path
    kill_leftover_workers(path)


@pytest.fixture
def backend(home: Path) -> Any:
    """The local backend over :func:`home` (test files for other backends define their own)."""
    return LocalBackend(home=home)


@pytest.fixture
def inputs(backend: Any, tmp_path: Path) -> dict[str, str]:
    """Small ``train`` and ``validation`` CSV channels uploaded through ``backend``: channel -> S3 URI."""
    write_csv(tmp_path / "data" / "train" / "train.csv", 200, seed=1)
    write_csv(tmp_path / "data" / "validation" / "validation.csv", 100, seed=2)
    return {
        "train": backend.upload_input(tmp_path / "data" / "train", "s3://bucket/xgb/train"),
        "validation": backend.upload_input(tmp_path / "data" / "validation", "s3://bucket/xgb/validation"),
    }


def _csv_channel(content_type: str | None = "csv", mode: str = "File") -> dict[str, str]:
    config = {"TrainingInputMode": mode, "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
    if content_type is not None:
        config["ContentType"] = content_type
    return config


@pytest.fixture
def ml_root(tmp_path: Path) -> MlRootBuilder:
    """Builds an /opt/ml layout: ``ml_root(hyperparameters, {"train": "csv", …}, {"train/a.csv": "…"})``.

    Channel values are a ContentType (``None`` = no ContentType) or a full channel config dict; file paths are
    relative to ``input/data``. Returns the root."""

    def build(
        hyperparameters: dict[str, str],
        channels: dict[str, str | dict[str, str] | None],
        files: dict[str, str | bytes],
        checkpoint: dict[str, str] | None = None,
    ) -> Path:
        root = tmp_path / "ml"
        config = root / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
        data_config = {n: (c if isinstance(c, dict) else _csv_channel(c)) for n, c in channels.items()}
        (config / "inputdataconfig.json").write_text(json.dumps(data_config))
        (config / "resourceconfig.json").write_text(
            json.dumps({"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"})
        )
        if checkpoint is not None:
            (config / "checkpointconfig.json").write_text(json.dumps(checkpoint))
        for name in channels:
            (root / "input" / "data" / name).mkdir(parents=True, exist_ok=True)
        write_files(root / "input" / "data", files)
        return root

    return build
