"""The SageMaker container contract: the ``/opt/ml`` tree a training container sees, rooted anywhere.

This is the one module that spells paths under ``/opt/ml``. The service writes a job's tree through it
(``service/training/layout.py``), the docker runner mounts it at :data:`CONTAINER_ROOT`, the algorithm reads it
(``algorithms/xgboost/entry.py``) and writes its model and failure file through it, and the supervisor reads
those back. SageMaker writes three JSON config files (and ``checkpointconfig.json`` when asked) under
``input/config`` and the channel data under ``input/data/<channel>``; the algorithm leaves its model in
``model/`` (the folder SageMaker hosting mounts for serving too), extra outputs in ``output/data/`` and, when it
fails, the FailureReason in ``output/failure`` (docs: "How Amazon SageMaker Provides Training Information",
https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html).

sagelocal may root that tree elsewhere (``--ml-root``, a job folder on the host), so paths here are host paths,
while messages show the container path (:meth:`Layout.container_path`), as the real image would.

A job sees a container, not the host. Every path a request can name (an ``SM_*`` variable of its
``Environment``, a channel, a CheckpointConfig.LocalPath, a config file named by one of those) is a *container*
path, and :meth:`Layout.resolve` is the one function that turns a container path into a host path. Rooted on the
host, it treats the job's folder as the container's file system: ``/opt/ml/…`` is the job folder and any other
absolute path (the container's own ``/tmp``, say) lies under the job's :data:`ROOTFS_DIR`; relative paths start
from the image's working directory, and ``..`` stops at ``/`` as it does in any file system. So no request can
name a host path: there is no container path whose host path leaves the job's folder.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where SageMaker mounts the tree in the container.
CONTAINER_ROOT = "/opt/ml"
#: The image's working directory (docker/Dockerfile ``WORKDIR``): where relative container paths start.
CONTAINER_WORKDIR = CONTAINER_ROOT
#: Inside a job's folder on the host, the folder that holds the rest of the container's file system: a container
#: path outside /opt/ml (``/tmp/x``) is ``<job folder>/.rootfs/tmp/x`` there.
ROOTFS_DIR = ".rootfs"

HYPERPARAMETERS_FILE = "hyperparameters.json"
INPUT_DATA_CONFIG_FILE = "inputdataconfig.json"
RESOURCE_CONFIG_FILE = "resourceconfig.json"
CHECKPOINT_CONFIG_FILE = "checkpointconfig.json"
#: What the platform writes for a request's DebugHookConfig, ProfilerConfig and TensorBoardOutputConfig (read by
#: smdebug in the images that have it: ``smdebug/core/config_constants.py``, ``profiler_constants.py``).
DEBUG_HOOK_CONFIG_FILE = "debughookconfig.json"
PROFILER_CONFIG_FILE = "profilerconfig.json"
TENSORBOARD_CONFIG_FILE = "tensorboardoutputconfig.json"
DEBUGGER_CONFIG_FILES = (DEBUG_HOOK_CONFIG_FILE, PROFILER_CONFIG_FILE, TENSORBOARD_CONFIG_FILE)

#: The hostname SageMaker gives the first (locally: only) training host; resourceconfig.json names it too.
FIRST_HOST = "algo-1"


def host_name(index: int) -> str:
    """The hostname of training host ``index`` (1-based), as resourceconfig.json lists them."""
    return f"algo-{index}"


@dataclass
class Layout:
    ml_root: Path
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    input_data_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    resource_config: dict[str, Any] = field(default_factory=dict)
    checkpoint_config: dict[str, Any] = field(default_factory=dict)
    #: DEBUGGER_CONFIG_FILES name -> document, for the request's Debugger/Profiler/TensorBoard configs
    debugger_configs: dict[str, dict[str, Any]] = field(default_factory=dict)

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
    def model_dir(self) -> Path:
        return self.ml_root / "model"

    @property
    def output_dir(self) -> Path:
        return self.ml_root / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.output_dir / "data"

    @property
    def failure_file(self) -> Path:
        """Where a failing algorithm writes its FailureReason."""
        return self.output_dir / "failure"

    @property
    def checkpoints_dir(self) -> Path:
        """The default CheckpointConfig.LocalPath."""
        return self.ml_root / "checkpoints"

    @property
    def hyperparameters_file(self) -> Path:
        return self.config_dir / HYPERPARAMETERS_FILE

    @property
    def input_data_config_file(self) -> Path:
        return self.config_dir / INPUT_DATA_CONFIG_FILE

    @property
    def resource_config_file(self) -> Path:
        return self.config_dir / RESOURCE_CONFIG_FILE

    @property
    def checkpoint_config_file(self) -> Path:
        return self.config_dir / CHECKPOINT_CONFIG_FILE

    def channel_dir(self, name: str) -> Path:
        return self.data_dir / name

    def pipe_file(self, name: str) -> Path:
        """What a Pipe-mode channel's FIFO is called (``<channel>_0``: the first epoch's pipe)."""
        return self.data_dir / f"{name}_0"

    def folders(self) -> list[Path]:
        """The folders the platform creates before ``train`` starts (an image creates the same ones)."""
        return [self.config_dir, self.data_dir, self.model_dir, self.output_data_dir, self.checkpoints_dir]

    @property
    def confined(self) -> bool:
        """True when the tree is rooted on the host (a job folder), False inside a container, whose own file
        system is the confinement."""
        return self.ml_root != Path(CONTAINER_ROOT)

    @property
    def rootfs(self) -> Path:
        """The host folder that stands for the container's ``/`` outside /opt/ml (see :data:`ROOTFS_DIR`)."""
        return self.ml_root / ROOTFS_DIR if self.confined else Path("/")

    def resolve(self, container_path: str | os.PathLike[str]) -> Path:
        """The host path behind ``container_path`` (absolute, or relative to the image's working directory).

        The path is normalised as the container's kernel would (``..`` at ``/`` stays at ``/``), then
        ``/opt/ml/…`` maps under ``ml_root`` and every other path under :attr:`rootfs`. The result is therefore
        inside the job's folder whatever the input: this is the only way a request's path becomes a host path.
        Raises :class:`ContainerPathError` for a path holding NUL, or if a link on disk would carry it out
        (sagelocal never creates one)."""
        local = normalise(os.fspath(container_path))
        if "\x00" in local:
            raise ContainerPathError(f"{local!r} holds a NUL character, which no file name can")
        if not self.confined:
            return Path(local)
        if local == CONTAINER_ROOT or local.startswith(CONTAINER_ROOT + "/"):
            host = self.ml_root / local[len(CONTAINER_ROOT) :].lstrip("/")
        else:
            host = self.rootfs / local.lstrip("/")
        real_root = os.path.realpath(self.ml_root)
        real = os.path.realpath(host)
        if real != real_root and not real.startswith(real_root.rstrip("/") + "/"):
            raise ContainerPathError(f"{local} leads out of the job's folder through a link")
        return host

    def container_path(self, path: str | os.PathLike[str]) -> str:
        """The path as the container would name it: ``ml_root/.rootfs/x`` as ``/x``, ``ml_root/…`` as
        ``/opt/ml/…``."""
        text = str(path)
        if not self.confined:
            return text
        for host_root, container_root in self._roots():
            if text == host_root or text.startswith(host_root + "/"):
                rest = text[len(host_root) :]
                return (container_root.rstrip("/") + rest) or "/"
        return text

    def container_text(self, text: str) -> str:
        """``text`` (e.g. a loader's message naming the file it read) with host paths inside the job's folder
        shown as container paths."""
        if not self.confined:
            return text
        for host_root, container_root in self._roots():
            text = text.replace(host_root + "/", container_root.rstrip("/") + "/")
        return text

    def _roots(self) -> list[tuple[str, str]]:
        """(host folder, container folder), the innermost first."""
        return [(str(self.rootfs).rstrip("/"), "/"), (str(self.ml_root).rstrip("/"), CONTAINER_ROOT)]

    # --- writing (the platform's side) --------------------------------------------------------------

    def write_configs(self) -> None:
        """Create the folders and write the config files, as the platform does before ``train`` starts;
        ``checkpointconfig.json`` only when the job has a CheckpointConfig. The platform's files win over
        whatever is in their place (e.g. restored checkpoints when CheckpointConfig.LocalPath is /opt/ml)."""
        for folder in self.folders():
            make_folder(self.ml_root, folder)
        files = {
            self.hyperparameters_file: self.hyperparameters,
            self.input_data_config_file: self.input_data_config,
            self.resource_config_file: self.resource_config,
        }
        if self.checkpoint_config:
            files[self.checkpoint_config_file] = self.checkpoint_config
        for name, document in self.debugger_configs.items():
            files[self.config_dir / name] = document
        for path, document in files.items():
            clear_path(path)
            path.write_text(json.dumps(document))

    # --- SM_* environment -------------------------------------------------------------------------

    def sm_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The ``SM_*`` variables sagemaker-containers exports for this layout (reference §3), as host paths.

        A variable already set in ``environ`` (default ``os.environ``: the request's Environment) wins, e.g.
        ``SM_MODEL_DIR``, as in the image; one that names a path (:func:`is_path_variable`) is a container path
        and goes through :meth:`resolve`, so it stays inside the job's folder."""
        environ = os.environ if environ is None else environ
        hosts = self.resource_config.get("hosts") or [socket.gethostname()]
        current_host = self.resource_config.get("current_host") or hosts[0]
        hps: dict[str, Any] = {}
        for key, value in self.hyperparameters.items():
            hps[key] = _json_or_str(value)
        channels = sorted(self.input_data_config)
        env: dict[str, str] = {
            **self._path_env(),
            "SM_INPUT_DIR": str(self.input_dir),
            "SM_INPUT_CONFIG_DIR": str(self.config_dir),
            "SM_OUTPUT_DIR": str(self.output_dir),
            "SM_OUTPUT_DATA_DIR": str(self.output_data_dir),
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
                env[key] = str(self.resolve(value)) if is_path_variable(key) else value
        return env

    def _path_env(self) -> dict[str, str]:
        """The ``SM_*`` variables the real XGBoost image's Dockerfile sets (aws/sagemaker-xgboost-container,
        ``docker/*/final/Dockerfile.cpu``)."""
        return {
            "SM_INPUT": str(self.input_dir),
            "SM_INPUT_TRAINING_CONFIG_FILE": str(self.hyperparameters_file),
            "SM_INPUT_DATA_CONFIG_FILE": str(self.input_data_config_file),
            "SM_CHECKPOINT_CONFIG_FILE": str(self.checkpoint_config_file),
            "SM_MODEL_DIR": str(self.model_dir),
        }


class ContainerPathError(ValueError):
    """A container path that cannot be resolved inside the job's folder."""


#: ``SM_*`` variables that name a path, besides ``SM_CHANNEL_<name>`` and ``SM_…_DIR`` / ``SM_…_FILE``.
_PATH_VARIABLES = frozenset({"SM_INPUT"})


def is_path_variable(name: str) -> bool:
    """Whether ``SM_*`` variable ``name`` holds a path: ``SM_CHANNEL_<name>``, any ``…_DIR`` or ``…_FILE``
    (``SM_MODEL_DIR``, ``SM_INPUT_TRAINING_CONFIG_FILE``, ``SM_CHECKPOINT_CONFIG_FILE``…) and ``SM_INPUT``."""
    return name in _PATH_VARIABLES or name.startswith("SM_CHANNEL_") or name.endswith(("_DIR", "_FILE"))


def normalise(container_path: str) -> str:
    """``container_path`` as an absolute, normalised container path: relative paths start from
    :data:`CONTAINER_WORKDIR`; ``..`` never climbs above ``/``."""
    local = posixpath.normpath(posixpath.join(CONTAINER_WORKDIR, container_path))
    return "/" + local.lstrip("/")  # POSIX keeps a leading "//"; the container's kernel does not


def make_folder(root: Path, folder: Path) -> None:
    """Create ``folder`` (inside ``root``) and its parents, replacing any file that stands where one of them
    must be: the platform's folders win over restored checkpoint objects."""
    root.mkdir(parents=True, exist_ok=True)
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        current.mkdir(exist_ok=True)


def clear_path(path: Path) -> None:
    """Remove whatever is at ``path`` (a file, a link or a folder), so that a new file can take its place."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def in_container() -> Layout:
    """The layout as the container sees it: its paths are container paths."""
    return Layout(Path(CONTAINER_ROOT))


def image_folders() -> list[str]:
    """The folders a training image creates (its Dockerfile's ``mkdir -p``)."""
    return [str(p) for p in in_container().folders()]


def image_env() -> dict[str, str]:
    """The ``SM_*`` variables a training image sets (its Dockerfile's ``ENV``), as container paths."""
    return in_container()._path_env()


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
    layout = Layout(ml_root=Path(ml_root))
    layout.hyperparameters = _read_json(layout.hyperparameters_file, {})
    layout.input_data_config = _read_json(layout.input_data_config_file, {})
    host = socket.gethostname()
    layout.resource_config = _read_json(layout.resource_config_file, {"current_host": host, "hosts": [host]})
    if layout.checkpoint_config_file.exists():
        layout.checkpoint_config = _read_json(layout.checkpoint_config_file, {})
        local_path = layout.checkpoint_config.get("LocalPath")
        if isinstance(local_path, str):
            layout.checkpoint_config["LocalPath"] = str(layout.resolve(local_path))
    for name in DEBUGGER_CONFIG_FILES:
        if (layout.config_dir / name).is_file():
            layout.debugger_configs[name] = _read_json(layout.config_dir / name, {})
    return layout


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# --- Several training hosts -------------------------------------------------------------------------

#: The tracker port of the image's first collective round (``distributed.py``: ``port = 9099``); the second
#: round uses the next port.
RABIT_PORT = 9099
#: sagelocal's own variables, set by its supervisor (never taken from a request's Environment, which withholds
#: ``SAGELOCAL_*``) when the hosts of a job share one machine's network (``--backend local``): host name ->
#: address (JSON), and the first tracker port. In containers, hosts resolve each other by DNS as on SageMaker
#: and neither is set.
HOST_ADDRESSES_ENV = "SAGELOCAL_HOST_ADDRESSES"
RABIT_PORT_ENV = "SAGELOCAL_RABIT_PORT"


def host_address(host: str, environ: Mapping[str, str] | None = None) -> str:
    """The IPv4 address of training host ``host``: from :data:`HOST_ADDRESSES_ENV` when the supervisor set it,
    else the resolver's answer (``socket.gethostbyname``, what the image's ``_dns_lookup`` calls). Raises
    ``OSError`` while the name does not resolve."""
    environ = os.environ if environ is None else environ
    mapping = environ.get(HOST_ADDRESSES_ENV)
    if mapping:
        addresses = json.loads(mapping)
        if host in addresses:
            return str(addresses[host])
    return socket.gethostbyname(host)


def rabit_port(environ: Mapping[str, str] | None = None) -> int:
    """The first collective round's tracker port (:data:`RABIT_PORT` unless the supervisor chose another)."""
    environ = os.environ if environ is None else environ
    return int(environ.get(RABIT_PORT_ENV) or RABIT_PORT)


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
    wins over ``SAGEMAKER_BIND_TO_PORT``; ``SM_MODEL_DIR`` is a container path (:meth:`Layout.resolve`)."""
    environ = os.environ if environ is None else environ
    root = Path(ml_root)
    layout = Layout(ml_root=root)
    model_dir = layout.resolve(environ.get(MODEL_DIR_ENV) or f"{CONTAINER_ROOT}/model")
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
