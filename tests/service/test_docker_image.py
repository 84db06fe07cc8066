"""sagelocal's training image: the SageMaker container contract, offline builds, and `train` in the image
behaving like `train` in a child process (same output, same model bytes, same failure file)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from support.builders import csv_text as csv_rows
from support.failures import assert_image_failure

from sagelocal.algorithms.xgboost.versions import VERSION_ENV
from sagelocal.service import images

#: docker_client and own_images (tests/support/docker_fixture.py)

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
SM_ENV = {
    "SM_INPUT": "/opt/ml/input",
    "SM_INPUT_TRAINING_CONFIG_FILE": "/opt/ml/input/config/hyperparameters.json",
    "SM_INPUT_DATA_CONFIG_FILE": "/opt/ml/input/config/inputdataconfig.json",
    "SM_CHECKPOINT_CONFIG_FILE": "/opt/ml/input/config/checkpointconfig.json",
    "SM_MODEL_DIR": "/opt/ml/model",
}
HPS = {"num_round": "8", "objective": "binary:logistic", "max_depth": "3", "eta": "0.3"}
TIMESTAMP = re.compile(r"^\[\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d:")


def env_of(image: Any) -> dict[str, str]:
    return dict(item.split("=", 1) for item in image.attrs["Config"]["Env"])


def docker_train(client: Any, image: str, ml_root: Path, user: str | None = None) -> tuple[int, list[str]]:
    """``docker run -v <ml_root>:/opt/ml <image> train``: exit code and output lines."""
    container = client.containers.run(
        image,
        ["train"],
        volumes={str(ml_root): {"bind": "/opt/ml", "mode": "rw"}},
        user=user or f"{os.getuid()}:{os.getgid()}",
        detach=True,
    )
    try:
        code = container.wait()["StatusCode"]
        output = container.logs(stdout=True, stderr=True).decode()
    finally:
        container.remove(force=True)
    return code, output.splitlines()


def process_train(ml_root: Path, version: str) -> tuple[int, list[str]]:
    """The same algorithm in a child process, as the local backend runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "sagelocal.algorithms.xgboost", "train", "--ml-root", str(ml_root)],
        env={**os.environ, VERSION_ENV: version, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, (proc.stdout + proc.stderr).splitlines()


#: XGBoost's own warning clock inside a Python warning line (``…: UserWarning: [hh:mm:ss] WARNING: …``).
WARNING_CLOCK = re.compile(r"\[\d\d:\d\d:\d\d\] WARNING")


def untimed(lines: list[str]) -> list[str]:
    return [WARNING_CLOCK.sub("[T] WARNING", TIMESTAMP.sub("[T:", line)) for line in lines]


def test_image_follows_the_sagemaker_contract(docker_client: Any, own_images: dict[str, str]) -> None:
    image = docker_client.images.get("sagelocal-xgboost:3.0-5")
    config = image.attrs["Config"]
    env = env_of(image)
    assert {k: env[k] for k in SM_ENV} == SM_ENV
    assert env[VERSION_ENV] == "3.0-5"
    assert not config.get("Entrypoint")
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Labels"]["com.amazonaws.sagemaker.capabilities.accept-bind-to-port"] == "true"
    assert config["Labels"][images.BUILD_HASH_LABEL] == images.build_hash()

    out = docker_client.containers.run(
        "sagelocal-xgboost:3.0-5",
        [
            "bash",
            "-c",
            "command -v train; python -c 'import xgboost; print(xgboost.__version__)'; ls -d /opt/ml/*",
        ],
        remove=True,
    )
    assert out.decode().split() == [
        "/usr/local/bin/train",
        "3.0.5",
        "/opt/ml/checkpoints",
        "/opt/ml/input",
        "/opt/ml/model",
        "/opt/ml/output",
    ]


def test_image_holds_only_the_algorithm(docker_client: Any, own_images: dict[str, str]) -> None:
    out = docker_client.containers.run(
        own_images["3.0-5"],
        [
            "bash",
            "-c",
            "ls -I __pycache__ /opt/sagelocal/src/sagelocal; command -v sagelocal || echo no-cli; "
            "python -c 'import typer' 2>/dev/null || echo no-typer",
        ],
        remove=True,
    )
    # (boto3, fastapi and uvicorn are there for now: the sagemaker SDK, which the algorithm imports for
    # RecordIO-protobuf, brings them.)
    assert out.decode().split() == ["__init__.py", "algorithms", "contract.py", "no-cli", "no-typer"]


def test_versions_share_every_layer(docker_client: Any, own_images: dict[str, str]) -> None:
    modern = docker_client.images.get(own_images["3.0-5"])
    legacy = docker_client.images.get(own_images["1"])
    assert env_of(legacy)[VERSION_ENV] == "1"
    assert legacy.labels[images.VERSION_LABEL] == "1"
    assert legacy.labels[images.BUILD_HASH_LABEL] == modern.labels[images.BUILD_HASH_LABEL]
    assert legacy.attrs["RootFS"]["Layers"] == modern.attrs["RootFS"]["Layers"]


def test_train_in_the_image_matches_train_in_a_process(
    docker_client: Any, own_images: dict[str, str], ml_root: Any, tmp_path: Path
) -> None:
    root = ml_root(
        HPS,
        {"train": "csv", "validation": "csv"},
        {"train/train.csv": csv_rows(300, 1), "validation/validation.csv": csv_rows(100, 2)},
    )
    local = tmp_path / "local-ml"
    shutil.copytree(root, local)

    code, lines = docker_train(docker_client, own_images["3.0-5"], root)
    local_code, local_lines = process_train(local, "3.0-5")

    assert (code, local_code) == (0, 0), "\n".join(lines)
    assert untimed(lines) == untimed(local_lines)
    assert (
        sum(1 for line in lines if re.match(r"\[\d+\]\ttrain-logloss:[\d.]+\tvalidation-logloss:", line)) == 8
    )
    model = root / "model" / "xgboost-model"
    assert model.read_bytes() == (local / "model" / "xgboost-model").read_bytes()
    assert model.stat().st_uid == os.getuid()
    assert not (root / "output" / "failure").exists()


def test_failure_file_and_exit_code_match_a_process(
    docker_client: Any, own_images: dict[str, str], ml_root: Any, tmp_path: Path
) -> None:
    root = ml_root({**HPS, "silent": "0"}, {"train": "csv"}, {"train/train.csv": csv_rows(50, 3)})
    local = tmp_path / "local-ml"
    shutil.copytree(root, local)

    code, lines = docker_train(docker_client, own_images["3.0-5"], root)
    local_code, _ = process_train(local, "3.0-5")

    assert (code, local_code) == (1, 1)
    failure = (root / "output" / "failure").read_text()
    assert failure == (local / "output" / "failure").read_text()
    assert_image_failure(failure, "UserError", "Extraneous hyperparameter found: silent")
    assert any(line.endswith("Reporting training FAILURE") for line in lines)


def test_train_runs_as_any_user(docker_client: Any, own_images: dict[str, str], ml_root: Any) -> None:
    root = ml_root(HPS, {"train": "csv"}, {"train/train.csv": csv_rows(50, 4)})
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
    code, lines = docker_train(docker_client, own_images["3.0-5"], root, user="65534:65534")
    assert code == 0, "\n".join(lines)
    assert (root / "model" / "xgboost-model").stat().st_uid == 65534


def test_build_context_is_shaped_like_the_repository(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "demo-1.0-py3-none-any.whl").write_bytes(b"wheel")
    context = images.build_context(wheels, tmp_path / "context")
    assert (context / "docker" / "Dockerfile").read_bytes() == (REPO / "docker" / "Dockerfile").read_bytes()
    assert (context / "docker" / "train").read_bytes() == (REPO / "docker" / "train").read_bytes()
    assert (context / "docker" / "serve").read_bytes() == (REPO / "docker" / "serve").read_bytes()
    with open(context / "pyproject.toml", "rb") as f, open(REPO / "pyproject.toml", "rb") as g:
        assert tomllib.load(f)["project"]["dependencies"] == tomllib.load(g)["project"]["dependencies"]
    assert (context / "sagelocal" / "algorithms" / "xgboost" / "entry.py").is_file()
    assert sorted(p.name for p in (context / "sagelocal").iterdir()) == [
        "__init__.py",
        "algorithms",
        "contract.py",
    ]
    assert [p.name for p in (context / "wheels").iterdir()] == ["demo-1.0-py3-none-any.whl"]
    assert not list(context.rglob("__pycache__"))


def test_runtime_pins_follow_pyproject_and_the_host() -> None:
    from importlib.metadata import version

    pins = images.runtime_pins()
    assert pins[0] == "xgboost==3.0.5"
    assert f"numpy=={version('numpy')}" in pins
    assert f"sagemaker=={version('sagemaker')}" in pins
    assert not [p for p in pins if p.startswith("nvidia")]
    assert not [p for p in pins if p.startswith(("boto3", "fastapi", "typer", "docker"))]
    # The algorithm's `serve` side is an ASGI app that runs on uvicorn inside the image.
    assert f"uvicorn=={version('uvicorn')}" in pins


def algorithm_distributions() -> set[str]:
    """The distributions that the files the image runs import (on the host's environment)."""
    modules: set[str] = set()
    for _rel, path in images.algorithm_files():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"__future__", "sagelocal"}
    owners = metadata.packages_distributions()
    return {dist.lower() for module in third_party for dist in owners[module]}


def test_image_requirements_are_what_the_algorithm_imports() -> None:
    assert set(images.image_requirements()) == algorithm_distributions()


def test_base_image_choice(docker_client: Any) -> None:
    assert images.choose_base(docker_client, None, offline=True) == images.OFFLINE_BASE_IMAGE
    assert (
        images.choose_base(docker_client, images.OFFLINE_BASE_IMAGE, offline=True)
        == images.OFFLINE_BASE_IMAGE
    )
    with pytest.raises(images.ImageError) as e:
        images.choose_base(docker_client, "sagelocal-no-such-base:1", offline=True)
    assert str(e.value) == (
        "Base image sagelocal-no-such-base:1 is not present locally and --offline forbids pulling"
    )


def test_offline_base_has_python_311_and_openmp(docker_client: Any) -> None:
    images.ensure_offline_base(docker_client, log=lambda _line: None)
    out = docker_client.containers.run(
        images.OFFLINE_BASE_IMAGE,
        [
            "bash",
            "-c",
            "python3 -c 'import sys; print(sys.version_info[:2])'; ldconfig -p | grep -c libgomp.so.1",
        ],
        remove=True,
        network_mode="none",
    )
    assert out.decode().split("\n")[:2] == ["(3, 11)", "1"]


def test_cli_lists_current_images(docker_client: Any, own_images: dict[str, str]) -> None:
    from typer.testing import CliRunner

    from sagelocal.cli.image import image_app

    result = CliRunner().invoke(image_app, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["TAG", "VERSION", "CURRENT", "IMAGE", "ID", "SIZE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["sagelocal-xgboost:3.0-5"][1:3] == ["3.0-5", "yes"]
    assert rows["sagelocal-xgboost:1"][1:3] == ["1", "yes"]


def test_cli_rejects_unknown_versions() -> None:
    from typer.testing import CliRunner

    from sagelocal.cli.image import image_app

    result = CliRunner().invoke(image_app, ["build", "--xgboost-version", "9.9-9"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "sagelocal image build: Unknown XGBoost image version '9.9-9'. "
        "Known versions: 1, 0.90-1, 0.90-2, 1.0-1, 1.2-1, 1.2-2, 1.3-1, 1.5-1, 1.7-1, 3.0-5."
    )


def compose_command() -> list[str] | None:
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_validates() -> None:
    command = compose_command()
    if command is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI needs `docker compose` or docker-compose (.ci/docker-setup installs it)")
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    proc = subprocess.run(
        [*command, "-f", str(REPO / "compose.yaml"), "config", "--format", "json"]
        if command == ["docker", "compose"]
        else [*command, "-f", str(REPO / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    if command == ["docker", "compose"]:
        services = json.loads(proc.stdout)["services"]
    else:
        import yaml

        services = yaml.safe_load(proc.stdout)["services"]
    assert services["training-image"]["image"] == "sagelocal-xgboost:3.0-5"
    assert services["training-image"]["build"]["dockerfile"] == "docker/Dockerfile"
    assert services["training-image"]["build"]["target"] == "training"
    assert services["serve"]["image"] == "sagelocal-server:3.0-5"
    assert services["serve"]["build"]["target"] == "server"
    assert services["serve"]["command"] == [
        "sagelocal",
        "serve",
        "--host",
        "0.0.0.0",
        "--allow-remote",
        "--backend",
        "local",
        "--port",
        "9090",
    ]
    assert [(p["published"], p["target"]) for p in services["serve"]["ports"]] in (
        [(9090, 9090)],
        [("9090", 9090)],
    )
