"""The Backend protocol is complete: every backend implements every member, the same S3 calls behave alike on
the emulated store and through boto3 (moto), and members that do not apply fail with one line."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from sagelocal.aws import errors
from sagelocal.backends import EMULATED_BACKENDS, Backend, BackendError, emulated_service, get_backend
from sagelocal.backends.docker import DockerBackend
from sagelocal.backends.local import LocalBackend
from sagelocal.backends.sagemaker import NO_IMAGES, SageMakerBackend

#: Every public member the protocol declares: methods and properties, and the annotated ``name``.
MEMBERS = sorted({*Backend.__annotations__, *(m for m in vars(Backend) if not m.startswith("_"))})


@pytest.mark.parametrize("cls", [LocalBackend, DockerBackend, SageMakerBackend])
def test_every_backend_implements_every_member(cls: type) -> None:
    missing = [m for m in MEMBERS if inspect.getattr_static(cls, m, None) is None]
    assert missing == []
    for member in MEMBERS:
        declared = inspect.getattr_static(Backend, member, None)
        if inspect.isfunction(declared):
            ours = inspect.signature(inspect.getattr_static(cls, member))
            assert list(ours.parameters) == list(inspect.signature(declared).parameters), member


def test_the_protocol_module_imports_no_backend() -> None:
    code = (
        "import sys, sagelocal.backends.base, sagelocal.backends; "
        "print([m for m in sys.modules if m.startswith('sagelocal.backends.') and m != 'sagelocal.backends.base'"
        " or m.startswith('sagelocal.service')])"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_emulated_service_runs_jobs_as_its_backend(tmp_path: Path) -> None:
    assert EMULATED_BACKENDS == ("local", "docker")
    assert emulated_service("local", tmp_path).runner == "process"
    # no Docker engine is needed to make it (``sagelocal serve --backend docker`` starts without one)
    assert emulated_service("docker", tmp_path, allow_local_instance=False).runner == "docker"
    with pytest.raises(BackendError):
        emulated_service("sagemaker", tmp_path)
    with pytest.raises(BackendError, match="Unknown backend 'nope'"):
        get_backend("nope")


def test_emulated_backends_leave_no_state_until_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    backend = LocalBackend(home=tmp_path / "home")
    assert not (tmp_path / "home").exists()
    assert backend.region == "eu-west-1"
    backend.check_role(None)  # any role, or none
    assert backend.downloads_artifacts is False
    assert backend.image_uri("latest") == "685385470294.dkr.ecr.eu-west-1.amazonaws.com/xgboost:latest"
    assert backend.image_uri("1") == "685385470294.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1"
    assert not (tmp_path / "home").exists()


@pytest.fixture
def moto_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SageMakerBackend]:
    from moto import mock_aws

    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with mock_aws():
        yield SageMakerBackend()


@pytest.fixture(params=["local", "sagemaker"])
def s3_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return LocalBackend(home=tmp_path / "home")
    backend: Backend = request.getfixturevalue("moto_backend")
    return backend


def test_s3_calls_behave_alike(s3_backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_text("1,2\n")
    s3_backend.make_bucket("bucket-one")
    s3_backend.make_bucket("bucket-one")  # one's own bucket again is fine
    assert [b.name for b in s3_backend.list_buckets()] == ["bucket-one"]
    assert isinstance(s3_backend.list_buckets()[0].creation_date, datetime)

    for key in ("a/x.csv", "a/b/y.csv", "top.csv"):
        s3_backend.put_object("bucket-one", key, source, content_type="text/csv")
    pages = list(s3_backend.list_objects("bucket-one", "", "/"))
    assert [o.key for p in pages for o in p.objects] == ["top.csv"]
    assert [c for p in pages for c in p.common_prefixes] == ["a/"]
    everything = [o for p in s3_backend.list_objects("bucket-one", "a/") for o in p.objects]
    assert [(o.key, o.size) for o in everything] == [("a/b/y.csv", 4), ("a/x.csv", 4)]

    s3_backend.copy_object("bucket-one", "a/x.csv", "bucket-one", "copied.csv")
    s3_backend.get_object("bucket-one", "copied.csv", tmp_path / "out" / "copied.csv")
    assert (tmp_path / "out" / "copied.csv").read_text() == "1,2\n"

    with pytest.raises(errors.NoSuchKey):
        s3_backend.get_object("bucket-one", "missing.csv", tmp_path / "out" / "missing.csv")
    assert not (tmp_path / "out" / "missing.csv").exists()
    with pytest.raises(errors.NoSuchBucket):
        list(s3_backend.list_objects("no-such-bucket"))


def test_images_are_the_docker_backends_only(s3_backend: Backend) -> None:
    with pytest.raises(BackendError) as info:
        list(s3_backend.build_images(["3.0-5"], base_image=None, offline=False, force=False, log=print))
    assert "--backend docker" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(BackendError):
        s3_backend.list_images()


def test_sagemaker_images_message(moto_backend: SageMakerBackend) -> None:
    with pytest.raises(BackendError) as info:
        moto_backend.list_images()
    assert str(info.value) == NO_IMAGES


def test_wait_times_out_with_one_line_on_the_emulated_backend(tmp_path: Path) -> None:
    backend = LocalBackend(home=tmp_path / "home")
    backend.describe_training_job = lambda name: {  # type: ignore[method-assign]
        "TrainingJobName": name,
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Starting",
    }
    with pytest.raises(BackendError) as info:
        backend.wait("slow", poll_interval=0.01, timeout=0.05)
    assert str(info.value) == (
        "Timed out after 0.05 s waiting for training job slow; it is still InProgress (Starting)."
    )
