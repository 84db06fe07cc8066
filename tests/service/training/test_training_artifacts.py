"""Artifact packaging: model.tar.gz members relative and safe, extraction that refuses to escape."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from sagelocal.service.training.artifacts import extract_tar_gz, has_files, make_tar_gz


def test_model_tar_gz_members_are_relative_and_safe(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "xgboost-model").write_bytes(b"model-bytes")
    (model / "extra").mkdir()
    (model / "extra" / "notes.txt").write_text("hi")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not ship")
    (model / "link").symlink_to(secret)
    archive = make_tar_gz(model, tmp_path / "out" / "model.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert sorted(names) == ["extra", "extra/notes.txt", "xgboost-model"]
        assert tar.extractfile("xgboost-model").read() == b"model-bytes"  # type: ignore[union-attr]
    extracted = extract_tar_gz(archive, tmp_path / "x")
    assert sorted(p.name for p in extracted) == ["notes.txt", "xgboost-model"]
    assert has_files(model) and not has_files(tmp_path / "nothing")


def test_extract_refuses_path_traversal(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "p"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="../escaped")
    with pytest.raises(ValueError, match="outside"):
        extract_tar_gz(evil, tmp_path / "dest")
    assert not (tmp_path / "escaped").exists()
