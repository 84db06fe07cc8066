"""The /opt/ml layout a training container sees, rooted anywhere (reference §1–§3).

SageMaker writes three JSON config files (and ``checkpointconfig.json`` when asked) under
``input/config`` and the channel data under ``input/data/<channel>``. sagelocal may root that tree elsewhere
(``--ml-root``), so paths are host paths here, while messages show the container path
(:meth:`Layout.container_path`), as the real image would.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTAINER_ROOT = "/opt/ml"


@dataclass
class Layout:
    ml_root: Path
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    input_data_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    resource_config: dict[str, Any] = field(default_factory=dict)
    checkpoint_config: dict[str, Any] = field(default_factory=dict)

    # --- paths ------------------------------------------------------------------------------------

    @property
    def input_dir(self) -> Path:
        return self.ml_root / "input"

    @property
    def config_dir(self) -> Path:
        return self.input_dir / "config"

    @property
    def data_dir(self) -> Path:
        return self.input_dir / "data"

    @property
    def output_dir(self) -> Path:
        return self.ml_root / "output"

    def channel_dir(self, name: str) -> Path:
        return self.data_dir / name

    def reroot(self, path: str) -> str:
        """A path from a config file: ``/opt/ml/…`` moves under ``ml_root``; others stay as they are."""
        if path == CONTAINER_ROOT or path.startswith(CONTAINER_ROOT + "/"):
            return str(self.ml_root) + path[len(CONTAINER_ROOT) :]
        return path

    def container_path(self, path: str | os.PathLike[str]) -> str:
        """The path as the container would name it: ``ml_root/…`` shown as ``/opt/ml/…``."""
        text = str(path)
        root = str(self.ml_root)
        if root != CONTAINER_ROOT and (text == root or text.startswith(root.rstrip("/") + "/")):
            return CONTAINER_ROOT + text[len(root.rstrip("/")) :]
        return text

    # --- SM_* environment -------------------------------------------------------------------------

    def sm_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The ``SM_*`` variables sagemaker-containers exports for this layout (reference §3), as host paths.

        A variable already set in ``environ`` (default ``os.environ``) wins, e.g. ``SM_MODEL_DIR``."""
        environ = os.environ if environ is None else environ
        hosts = self.resource_config.get("hosts") or [socket.gethostname()]
        current_host = self.resource_config.get("current_host") or hosts[0]
        hps: dict[str, Any] = {}
        for key, value in self.hyperparameters.items():
            hps[key] = _json_or_str(value)
        channels = sorted(self.input_data_config)
        env: dict[str, str] = {
            "SM_INPUT": str(self.input_dir),
            "SM_INPUT_DIR": str(self.input_dir),
            "SM_INPUT_CONFIG_DIR": str(self.config_dir),
            "SM_INPUT_TRAINING_CONFIG_FILE": str(self.config_dir / "hyperparameters.json"),
            "SM_INPUT_DATA_CONFIG_FILE": str(self.config_dir / "inputdataconfig.json"),
            "SM_CHECKPOINT_CONFIG_FILE": str(self.config_dir / "checkpointconfig.json"),
            "SM_MODEL_DIR": str(self.ml_root / "model"),
            "SM_OUTPUT_DIR": str(self.output_dir),
            "SM_OUTPUT_DATA_DIR": str(self.output_dir / "data"),
            "SM_OUTPUT_INTERMEDIATE_DIR": str(self.output_dir / "intermediate"),
            "SM_HOSTS": json.dumps(hosts),
            "SM_CURRENT_HOST": str(current_host),
            "SM_NETWORK_INTERFACE_NAME": str(self.resource_config.get("network_interface_name", "eth0")),
            "SM_HPS": json.dumps(hps, sort_keys=True),
            "SM_CHANNELS": json.dumps(channels),
            "SM_RESOURCE_CONFIG": json.dumps(self.resource_config, sort_keys=True),
            "SM_INPUT_DATA_CONFIG": json.dumps(self.input_data_config, sort_keys=True),
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_NUM_GPUS": "0",
            "SM_LOG_LEVEL": "20",
        }
        for key, value in hps.items():
            env[f"SM_HP_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
        for name in channels:
            env[f"SM_CHANNEL_{name.upper()}"] = str(self.channel_dir(name))
        for key, value in environ.items():
            if key.startswith("SM_"):
                env[key] = value
        return env


def _json_or_str(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def read_layout(ml_root: str | os.PathLike[str]) -> Layout:
    """Read the config files under ``ml_root``. A missing ``input/config`` means ``{}`` hyperparameters and
    input config and a one-host resource config, as sagemaker-containers creates them (reference §1)."""
    root = Path(ml_root)
    layout = Layout(ml_root=root)
    config = layout.config_dir
    layout.hyperparameters = _read_json(config / "hyperparameters.json", {})
    layout.input_data_config = _read_json(config / "inputdataconfig.json", {})
    host = socket.gethostname()
    layout.resource_config = _read_json(
        config / "resourceconfig.json", {"current_host": host, "hosts": [host]}
    )
    checkpoint = config / "checkpointconfig.json"
    if checkpoint.exists():
        layout.checkpoint_config = _read_json(checkpoint, {})
        local_path = layout.checkpoint_config.get("LocalPath")
        if isinstance(local_path, str):
            layout.checkpoint_config["LocalPath"] = layout.reroot(local_path)
    return layout


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ===========================================================================================

# Serving: what the container's ``serve`` reads (appended section; owned by the serving side).
#
# SageMaker starts ``docker run <image> serve`` with the model extracted into ``/opt/ml/model`` and the
# model's ``Environment`` as process environment. sagemaker-containers reads the port
# (``src/sagemaker_containers/_env.py`` ``ServingEnv.http_port``), the Dockerfile sets ``SM_MODEL_DIR``, and
# aws/sagemaker-xgboost-container ``algorithm_mode/serve.py`` / ``serve_utils.py`` read the rest.
# ==================================================================================================

SERVING_PORT = 8080
BIND_TO_PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
MODEL_DIR_ENV = "SM_MODEL_DIR"
BATCH_ENV = "SAGEMAKER_BATCH"  # set by the platform for batch transform
INFERENCE_OUTPUT_ENV = "SAGEMAKER_INFERENCE_OUTPUT"  # selectable inference content, e.g. "predicted_label"
DEFAULT_ACCEPT_ENV = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
ENSEMBLE_ENV = "SAGEMAKER_INFERENCE_ENSEMBLE"
MAX_CONTENT_LENGTH_ENV = "MAX_CONTENT_LENGTH"
DEFAULT_MAX_CONTENT_LENGTH = 6291456  # 6 MiB, the InvokeEndpoint payload limit


@dataclass(frozen=True)
class ServingEnv:
    """The serving contract as one process sees it; paths are host paths (rooted at ``ml_root``)."""

    ml_root: Path
    model_dir: Path
    port: int
    batch: bool  # ``if SAGEMAKER_BATCH:``: any non-empty value
    inference_output: str | None  # None when unset: presence alone switches selectable output on
    default_accept: str
    ensemble: bool  # ``== "true"`` exactly, default "true"
    max_content_length: int

    def container_path(self, path: str | os.PathLike[str]) -> str:
        return Layout(ml_root=self.ml_root).container_path(path)


def read_serving_env(
    ml_root: str | os.PathLike[str], environ: Mapping[str, str] | None = None, port: int | None = None
) -> ServingEnv:
    """The serving variables from ``environ`` (default ``os.environ``). ``port`` (a command-line override)
    wins over ``SAGEMAKER_BIND_TO_PORT``; ``SM_MODEL_DIR`` under ``/opt/ml`` is rerooted at ``ml_root``."""
    environ = os.environ if environ is None else environ
    root = Path(ml_root)
    layout = Layout(ml_root=root)
    model_dir = Path(layout.reroot(environ.get(MODEL_DIR_ENV) or f"{CONTAINER_ROOT}/model"))
    return ServingEnv(
        ml_root=root,
        model_dir=model_dir,
        port=port if port is not None else int(environ.get(BIND_TO_PORT_ENV) or SERVING_PORT),
        batch=bool(environ.get(BATCH_ENV)),
        inference_output=environ.get(INFERENCE_OUTPUT_ENV),
        default_accept=environ.get(DEFAULT_ACCEPT_ENV, "text/csv"),
        ensemble=environ.get(ENSEMBLE_ENV, "true") == "true",
        max_content_length=int(environ.get(MAX_CONTENT_LENGTH_ENV, str(DEFAULT_MAX_CONTENT_LENGTH))),
    )

def prepare_image(environ: Mapping[str, str]) -> None:
    """Lay out /opt/ml in a training image (docker/Dockerfile) from this contract, and check the ``SM_*`` paths
    that the image's ENV sets against it, so that the Dockerfile cannot drift from the contract."""
    layout = Layout(ml_root=Path(CONTAINER_ROOT))
    expected = layout.sm_env({})
    drifted = sorted(
        f"{k}={v} (contract: {expected[k]})" for k, v in environ.items() if expected.get(k, v) != v
    )
    if drifted:
        raise SystemExit("The image's SM_* variables differ from sagelocal.contract: " + ", ".join(drifted))
    model, checkpoints = layout.ml_root / "model", layout.ml_root / "checkpoints"
    for folder in (layout.config_dir, layout.data_dir, model, layout.output_dir / "data", checkpoints):
        folder.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    # `python -m sagelocal.contract --prepare-image`, run once by docker/Dockerfile at build time.
    import sys

    if sys.argv[1:] != ["--prepare-image"]:
        raise SystemExit("usage: python -m sagelocal.contract --prepare-image")
    prepare_image(os.environ)
