"""The optional extras (pyproject.toml): a core ``pip install .`` runs ``sagelocal demo``; a command that needs
an extra that is not installed says which, on one line, with exit code 1 and no traceback.

A missing extra is simulated in a subprocess: a ``sitecustomize`` puts a finder first on ``sys.meta_path`` that
refuses the extra's top-level modules, as an environment without them would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

BLOCKER = textwrap.dedent(
    """
    import os, sys
    from importlib.abc import MetaPathFinder

    _BLOCKED = set(filter(None, os.environ.get("SAGELOCAL_TEST_BLOCKED", "").split(",")))

    class _Missing(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in _BLOCKED:
                raise ModuleNotFoundError(f"No module named '{name}'", name=name)
            return None

    sys.meta_path.insert(0, _Missing())
    """
)

#: What each extra installs that the core does not (pyproject.toml), by top-level module.
WITHOUT_EXTRAS = "fastapi,jinja2,docker,boto3,sagemaker,requests,awscli,moto,httpx,matplotlib,optuna"


def run(tmp_path: Path, blocked: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGELOCAL_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    env["SAGELOCAL_HOME"] = str(tmp_path / "home")
    env["SAGELOCAL_TEST_BLOCKED"] = blocked
    return subprocess.run(
        [sys.executable, "-m", "sagelocal.cli.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(tmp_path),
    )


def test_the_blocker_blocks(tmp_path: Path) -> None:
    result = run(tmp_path, "fastapi", "--version")
    assert result.returncode == 0
    probe = subprocess.run(
        [sys.executable, "-c", "import fastapi"],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site"), "SAGELOCAL_TEST_BLOCKED": "fastapi"},
        capture_output=True,
        text=True,
    )
    assert "ModuleNotFoundError: No module named 'fastapi'" in probe.stderr


@pytest.mark.timeout(600)
def test_core_install_runs_the_demo(tmp_path: Path) -> None:
    result = run(tmp_path, WITHOUT_EXTRAS, "demo")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Completed - Training job completed" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("blocked", "args", "message"),
    [
        (
            "fastapi",
            ["serve", "--port", "0"],
            "sagelocal serve needs the 'server' extra: pip install 'sagelocal[server]'",
        ),
        (
            "jinja2",
            ["serve", "--port", "0"],
            "sagelocal serve needs the 'server' extra: pip install 'sagelocal[server]'",
        ),
        (
            "docker",
            ["image", "list"],
            "sagelocal image list needs the 'docker' extra: pip install 'sagelocal[docker]'",
        ),
        (
            "matplotlib",
            ["jobs", "metrics", "some-job", "--png", "chart.png"],
            "sagelocal jobs metrics needs the 'plot' extra: pip install 'sagelocal[plot]'",
        ),
        (
            "boto3,sagemaker",
            ["jobs", "list", "--backend", "sagemaker"],
            "sagelocal jobs list needs the 'aws' extra: pip install 'sagelocal[aws]'",
        ),
        (
            "boto3,sagemaker",
            [
                "train",
                "--backend",
                "sagemaker",
                "--train",
                "s3://b/train",
                "--role",
                "arn:aws:iam::123456789012:role/R",
            ],
            "sagelocal train needs the 'aws' extra: pip install 'sagelocal[aws]'",
        ),
        (
            "matplotlib",
            ["evaluate", "--model", "s3://b/model.tar.gz", "--test", "test.csv", "--plot", "plots"],
            "sagelocal evaluate needs the 'plot' extra: pip install 'sagelocal[plot]'",
        ),
    ],
)
def test_a_missing_extra_is_named_on_one_line(
    tmp_path: Path, blocked: str, args: list[str], message: str
) -> None:
    result = run(tmp_path, blocked, *args, timeout=120)
    assert (result.returncode, result.stderr, result.stdout) == (1, message + "\n", "")


def test_extras_match_the_modules_the_cli_names() -> None:
    """Each extra the CLI names exists in pyproject.toml and installs the module it is named for; ``all``
    is every extra and ``dev`` includes ``all``."""
    from sagelocal.cli.errors import EXTRA_MODULES

    with open(REPO / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    extras = project["optional-dependencies"]
    distribution = {
        "fastapi": "fastapi",
        "jinja2": "jinja2",
        "docker": "docker",
        "boto3": "boto3",
        "sagemaker": "sagemaker",
        "matplotlib": "matplotlib",
        "optuna": "optuna",
    }
    for module, extra in EXTRA_MODULES.items():
        assert any(req.startswith(distribution[module]) for req in extras[extra]), (module, extra)
        assert not any(req.startswith(distribution[module]) for req in project["dependencies"]), module
    assert extras["all"] == ["sagelocal[aws,docker,plot,server,tuning]"]
    assert "sagelocal[all]" in extras["dev"]
