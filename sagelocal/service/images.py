"""sagelocal's XGBoost training images: built from this checkout and wheels fetched on the host.

The image (docker/Dockerfile, target ``training``) holds Python, the distributions the algorithm imports at
the host's versions (xgboost 3.0.5 as pinned), the algorithm's source (``sagelocal/algorithms/``,
``sagelocal/contract.py``) and a ``train`` command; both backends therefore compute with the same libraries
and the same algorithm code. The rest of sagelocal (service, server, CLI) and its dependencies stay out.

One build serves every version: the image version only sets ``SAGELOCAL_XGBOOST_IMAGE_VERSION`` in the last
layer, so ``sagelocal-xgboost:1`` and ``sagelocal-xgboost:3.0-5`` share all layers. Each image carries an
``org.sagelocal.build-hash`` label (Dockerfile, ``train``, the algorithm's files, pins); an image whose hash is
not the current one is rebuilt (in seconds: only the source layers change), so a container never runs other
algorithm code than the local backend.

The base image is a build argument. The default is the slim official Python image; when it is absent and no
registry can be reached (or with ``offline=True``), the build uses ``sagelocal-base:bookworm``, a Debian
bookworm base made locally by ``docker/build-base.sh`` (debootstrap + ``docker import``). Wheels are
installed with ``--no-index``: the build itself needs no network. Caches live in ``~/.cache/sagelocal``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagelocal.algorithms.xgboost.versions import DEFAULT_VERSION, VERSION_ENV, get_version
from sagelocal.aws.refs import ImageRef

if TYPE_CHECKING:
    import docker

IMAGE_REPOSITORY = "sagelocal-xgboost"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
OFFLINE_BASE_IMAGE = "sagelocal-base:bookworm"
BUILD_HASH_LABEL = "org.sagelocal.build-hash"
VERSION_LABEL = "org.sagelocal.xgboost-image-version"
#: The Dockerfile stage ``sagelocal image build`` makes (the ``server`` stage above it serves compose.yaml).
TRAINING_TARGET = "training"
#: What ``train`` runs, relative to the repository: the algorithm package and the files it imports of
#: sagelocal (import-linter's contracts in pyproject.toml keep it to these). The image copies exactly these
#: (docker/Dockerfile) and the build hash covers every file under them.
ALGORITHM_SOURCES = ("sagelocal/__init__.py", "sagelocal/contract.py", "sagelocal/algorithms")
#: xgboost is installed without its dependencies: the only extra one, nvidia-nccl-cu12 (~470 MB), serves
#: multi-GPU training.
NO_DEPS = ("xgboost",)

Log = Callable[[str], None]
#: Seconds to wait for the engine to answer a ping.
PING_TIMEOUT = 15


class ImageError(Exception):
    """Building or finding a training image failed. ``str()`` is one line for the user."""


class DockerUnavailable(ImageError):
    """No Docker engine answers."""


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def unreachable_message(reason: object) -> str:
    text = " ".join(str(reason).split()) or type(reason).__name__
    return f"Docker engine not reachable: {engine_address()}: {text} — start dockerd or use --backend local"


def docker_client(timeout: float | None = None) -> docker.DockerClient:
    """A client for the engine in ``DOCKER_HOST`` (default the local socket), checked with a quick ping.

    Its requests have no timeout by default: a build step or a training job may print nothing for minutes.
    """
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    import docker

    try:
        probe = docker.from_env(timeout=PING_TIMEOUT)
        try:
            probe.ping()
        finally:
            probe.close()
        return docker.from_env(timeout=timeout)  # type: ignore[arg-type]
    except (DockerException, RequestException, OSError) as e:
        raise DockerUnavailable(unreachable_message(_root_cause(e))) from e


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def image_tag(version: str | None = None) -> str:
    """``sagelocal-xgboost:<version>`` for a known version name (``latest`` is version ``1``)."""
    return f"{IMAGE_REPOSITORY}:{get_version(version or DEFAULT_VERSION).name}"


def cache_dir() -> Path:
    """Build caches (wheels, build contexts, the base's rootfs while it is made): never inside the repo."""
    root = os.environ.get("SAGELOCAL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sagelocal"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def docker_dir() -> Path:
    """The ``docker/`` folder of the source checkout: Dockerfile, ``train``, ``build-base.sh``."""
    path = repo_root() / "docker"
    if not (path / "Dockerfile").is_file() or not (repo_root() / "pyproject.toml").is_file():
        raise ImageError(
            f"sagelocal's image build files are missing ({path}/Dockerfile, pyproject.toml): "
            "build images from a source checkout"
        )
    return path


# --- what goes into the image ------------------------------------------------------------------------------


def _host_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?")


def _pyproject() -> dict[str, Any]:
    with open(repo_root() / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def project_dependencies() -> list[str]:
    """pyproject.toml's ``[project] dependencies``: what sagelocal needs at run time."""
    return list(_pyproject()["project"]["dependencies"])


def extra_dependencies() -> dict[str, list[str]]:
    """pyproject.toml's ``[project.optional-dependencies]``, without the ones naming sagelocal itself
    (``all``, ``dev``): an image requirement may live in an extra (``sagemaker`` in ``aws``)."""
    extras = _pyproject()["project"].get("optional-dependencies", {})
    return {
        name: [d for d in deps if _distribution(d) != "sagelocal"]
        for name, deps in extras.items()
        if name not in ("all", "dev")
    }


def image_requirements() -> list[str]:
    """pyproject.toml's ``[tool.sagelocal] image-requirements``: the distributions the algorithm imports,
    the only ones the training image installs."""
    return list(_pyproject()["tool"]["sagelocal"]["image-requirements"])


def _distribution(requirement: str) -> str:
    match = _REQUIREMENT.match(requirement)
    return match.group(1).lower() if match else requirement.lower()


def runtime_pins() -> list[str]:
    """The requirements installed in the image: the image requirements, each at the host's version when the
    host has it (``xgboost==3.0.5`` as pyproject.toml pins it), else at pyproject.toml's specifier, without
    extras, so that both backends compute with the same libraries."""
    everything = [*project_dependencies(), *(d for deps in extra_dependencies().values() for d in deps)]
    specifiers = {_distribution(d): d for d in everything}
    pins = []
    for name in image_requirements():
        version = _host_version(name)
        pins.append(f"{name}=={version}" if version else _REQUIREMENT.sub(r"\1", specifiers.get(name, name)))
    return pins


def minimal_pyproject() -> str:
    """The context's pyproject.toml: only the dependencies and the image requirements, so that edits elsewhere
    in the real one (lint settings, dev tools) do not invalidate the image's dependency layers."""
    deps = "".join(f"    {json.dumps(d)},\n" for d in project_dependencies())
    extras = "".join(f"{name} = {json.dumps(reqs)}\n" for name, reqs in extra_dependencies().items())
    names = ", ".join(json.dumps(n) for n in image_requirements())
    return (
        f'[project]\nname = "sagelocal"\ndependencies = [\n{deps}]\n\n'
        f"[project.optional-dependencies]\n{extras}\n"
        f"[tool.sagelocal]\nimage-requirements = [{names}]\n"
    )


def _is_no_deps(pin: str) -> bool:
    match = _REQUIREMENT.match(pin)
    return bool(match) and match.group(1).lower() in NO_DEPS  # type: ignore[union-attr]


def host_constraints() -> list[str]:
    """Every distribution of the host environment at its version, so that the image's dependencies (e.g.
    joblib, protobuf) are the ones the local backend computes with."""
    pins = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name and name != "sagelocal" and not name.startswith("nvidia-") and dist.version:
            pins[name] = f"{name}=={dist.version}"
    return sorted(pins.values())


def algorithm_files() -> Iterator[tuple[str, Path]]:
    """(path relative to the repository, file) for every file under :data:`ALGORITHM_SOURCES`, caches left
    out: what the image's ``train`` runs."""
    root = repo_root()
    for source in ALGORITHM_SOURCES:
        top = root / source
        for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
            rel = path.relative_to(root)
            if path.is_file() and "__pycache__" not in rel.parts and path.suffix not in (".pyc", ".pyo"):
                yield rel.as_posix(), path


def build_hash() -> str:
    """Identifies the image content sagelocal would build now: build files, the algorithm's files and the
    pins. Edits elsewhere in the package (service, CLI, server, backends) do not make an image stale."""
    digest = hashlib.sha256()
    files = [(f"docker/{name}", docker_dir() / name) for name in ("Dockerfile", "train", "serve")]
    for name, path in [*files, *algorithm_files()]:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update("\n".join(runtime_pins()).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Platform:
    """The Python ABI and machine of the base image, which the wheels must match."""

    python: str  # "3.11"
    machine: str  # "x86_64", "aarch64"

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    def pip_args(self) -> list[str]:
        """``pip download`` options for this platform: any manylinux up to bookworm's glibc 2.36."""
        args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", self.python]
        args += ["--abi", self.abi]
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(36, 16, -1)]
        tags += [f"manylinux2014_{self.machine}"]
        for tag in tags:
            args += ["--platform", tag]
        return args


def base_platform(client: docker.DockerClient, base_image: str) -> Platform:
    """Ask the base image which Python and machine it has."""
    script = "import platform, sys; print('%d.%d' % sys.version_info[:2], platform.machine())"
    try:
        out = client.containers.run(
            base_image, ["python3", "-c", script], remove=True, network_mode="none", entrypoint=[]
        )
    except Exception as e:
        raise ImageError(f"Base image {base_image} has no usable python3: {one_line(e)}") from e
    python, machine = out.decode().split()
    return Platform(python, machine)


def fetch_wheels(plat: Platform, log: Log = print) -> Path:
    """The wheels of :func:`runtime_pins` and their dependencies for ``plat``, downloaded once into the cache
    (dependencies at the host's versions where the host has them).

    The folder is keyed by the pins and platform, so a warm cache builds offline; a cold one uses ``pip
    download`` against the host's configured index.
    """
    pins = runtime_pins()
    key = hashlib.sha256("\n".join([*pins, plat.abi, plat.machine]).encode()).hexdigest()[:16]
    dest = cache_dir() / "wheels" / f"{plat.abi}-{plat.machine}-{key}"
    if (dest / ".complete").is_file():
        log(f"Using cached wheels in {dest}")
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    constraints = partial / "constraints.txt"
    constraints.write_text("\n".join(host_constraints()) + "\n")
    pip = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--dest", str(partial)]
    pip += plat.pip_args()
    alone = [*pip, "--no-deps", *(p for p in pins if _is_no_deps(p))]
    others = [*pip, "-c", str(constraints), *(p for p in pins if not _is_no_deps(p))]
    log(f"Downloading wheels for Python {plat.python} on {plat.machine} into {dest}")
    for cmd in (alone, others):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise ImageError(
                "Could not download the image's wheels (the build needs them once, from the package index): "
                + " | ".join(tail)
            )
    # Nothing NVIDIA is wanted (see NO_DEPS).
    for wheel in partial.glob("nvidia_*.whl"):
        wheel.unlink()
    constraints.unlink()
    (partial / ".complete").write_text("\n".join(pins) + "\n")
    partial.rename(dest)
    return dest


def build_context(wheels: Path, dest: Path) -> Path:
    """Lay out the build context in ``dest``, shaped like the repository: pyproject.toml, docker/Dockerfile,
    docker/train, docker/serve, the algorithm's files of sagelocal/ and wheels/."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "wheels").mkdir(parents=True)
    (dest / "docker").mkdir()
    shutil.copy2(docker_dir() / "Dockerfile", dest / "docker" / "Dockerfile")
    for script in ("train", "serve"):
        shutil.copy2(docker_dir() / script, dest / "docker" / script)
    (dest / "pyproject.toml").write_text(minimal_pyproject())
    for wheel in sorted(wheels.glob("*.whl")):
        target = dest / "wheels" / wheel.name
        try:
            os.link(wheel, target)
        except OSError:
            shutil.copy2(wheel, target)
    for rel, path in algorithm_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest


# --- docker ------------------------------------------------------------------------------------------------


def one_line(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return " ".join(str(explanation or exc).split())


def image_exists(client: docker.DockerClient, name: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(name)
    except ImageNotFound:
        return False
    return True


def try_pull(client: docker.DockerClient, name: str, log: Log = print) -> str | None:
    """Pull ``name``; return None on success, else the engine's one-line reason."""
    repo, tag = _split_tag(name)
    log(f"Pulling {name} ...")
    try:
        client.images.pull(repo, tag=tag)
    except Exception as e:
        return one_line(e)
    return None


def _split_tag(name: str) -> tuple[str, str]:
    ref = ImageRef.parse(name)
    if ref.digest:
        return name, ""
    return ref.location, ref.tag or "latest"


def ensure_offline_base(client: docker.DockerClient, log: Log = print) -> str:
    """``sagelocal-base:bookworm``, made with ``docker/build-base.sh`` if it is not there yet (needs root)."""
    if image_exists(client, OFFLINE_BASE_IMAGE):
        return OFFLINE_BASE_IMAGE
    script = docker_dir() / "build-base.sh"
    log(f"Making the local base image {OFFLINE_BASE_IMAGE} with {script} (debootstrap, a few minutes) ...")
    env = {**os.environ, "SAGELOCAL_CACHE": str(cache_dir())}
    proc = subprocess.Popen(
        ["bash", str(script), OFFLINE_BASE_IMAGE],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    last = ""
    for line in proc.stdout:
        last = line.rstrip("\n") or last
        log(last)
    if proc.wait() != 0:
        raise ImageError(f"Could not make the local base image {OFFLINE_BASE_IMAGE}: {last}")
    return OFFLINE_BASE_IMAGE


def choose_base(client: docker.DockerClient, base_image: str | None, offline: bool, log: Log = print) -> str:
    """The base to build FROM: ``base_image`` if given (pulled when absent); with ``offline``, the local
    Debian base; by default the slim Python image, falling back to the local base when it cannot be pulled."""
    if base_image:
        if image_exists(client, base_image):
            return base_image
        if offline:
            raise ImageError(f"Base image {base_image} is not present locally and --offline forbids pulling")
        reason = try_pull(client, base_image, log)
        if reason:
            raise ImageError(f"Cannot pull base image {base_image}: {reason}")
        return base_image
    if offline:
        return ensure_offline_base(client, log)
    if image_exists(client, DEFAULT_BASE_IMAGE):
        return DEFAULT_BASE_IMAGE
    reason = try_pull(client, DEFAULT_BASE_IMAGE, log)
    if reason is None:
        return DEFAULT_BASE_IMAGE
    log(f"Cannot pull {DEFAULT_BASE_IMAGE} ({reason}); building from the local base {OFFLINE_BASE_IMAGE}")
    return ensure_offline_base(client, log)


def _build_stream(client: docker.DockerClient, log: Log, **kwargs: Any) -> str:
    """Run a build through the low-level API, logging its output as it comes; return the image id."""
    image_id = None
    for chunk in client.api.build(decode=True, rm=True, forcerm=True, **kwargs):
        if "stream" in chunk:
            for line in chunk["stream"].splitlines():
                if line.strip():
                    log(line.rstrip())
        if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        if "error" in chunk:
            raise ImageError(f"Image build failed: {' '.join(str(chunk['error']).split())}")
    if image_id is None:
        raise ImageError("Image build failed: the engine reported no image")
    return image_id


def _retag_for_version(client: docker.DockerClient, source: Any, version: str, log: Log) -> str:
    """A one-layer image over ``source`` that only changes the version env: no context, no rebuild."""
    tag = image_tag(version)
    dockerfile = (
        f"FROM {source.id}\nENV {VERSION_ENV}={version}\nLABEL {VERSION_LABEL}={version}\n"
    ).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    buf.seek(0)
    log(f"Tagging {tag} from {source.tags[0] if source.tags else source.short_id}")
    _build_stream(client, lambda _line: None, fileobj=buf, custom_context=True, tag=tag)
    return tag


def build_image(
    version: str | None = None,
    base_image: str | None = None,
    offline: bool = False,
    client: docker.DockerClient | None = None,
    log: Log = print,
    force: bool = False,
) -> str:
    """Build ``sagelocal-xgboost:<version>`` and return its tag.

    An up-to-date image of that tag is kept as it is, and an image of the same build hash for another version
    is re-tagged, unless ``force`` or an explicit ``base_image`` asks for a real build. The image the tag
    named before is removed when nothing else uses it.
    """
    name = get_version(version or DEFAULT_VERSION).name
    tag = image_tag(name)
    client = client or docker_client()
    digest = build_hash()
    previous = _image_id(client, tag)
    if not force and base_image is None:
        same = client.images.list(name=IMAGE_REPOSITORY, filters={"label": f"{BUILD_HASH_LABEL}={digest}"})
        for image in same:
            if tag in image.tags and (image.labels or {}).get(VERSION_LABEL) == name:
                log(f"{tag} is up to date")
                return tag
        if same:
            _retag_for_version(client, same[0], name, log)
            _remove_if_unused(client, previous, tag)
            return tag
    base = choose_base(client, base_image, offline, log)
    plat = base_platform(client, base)
    wheels = fetch_wheels(plat, log)
    with tempfile.TemporaryDirectory(prefix="context-", dir=cache_dir()) as tmp:
        context = build_context(wheels, Path(tmp) / "context")
        log(f"Building {tag} FROM {base} ...")
        _build_stream(
            client,
            log,
            path=str(context),
            dockerfile="docker/Dockerfile",
            target=TRAINING_TARGET,
            tag=tag,
            buildargs={"BASE_IMAGE": base, "XGBOOST_IMAGE_VERSION": name},
            labels={BUILD_HASH_LABEL: digest, "org.sagelocal.base-image": base},
            pull=False,
            network_mode="host",
        )
    _remove_if_unused(client, previous, tag)
    return tag


def _image_id(client: docker.DockerClient, name: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return str(client.images.get(name).id)
    except ImageNotFound:
        return None


def _remove_if_unused(client: docker.DockerClient, image_id: str | None, tag: str) -> None:
    """Drop the image ``tag`` named before a rebuild, so that rebuilds do not pile up: only when it has no
    tag left; the engine refuses while a container (a running job) uses it, and keeps layers others share."""
    if image_id is None or image_id == _image_id(client, tag):
        return
    try:
        if not client.images.get(image_id).tags:
            client.images.remove(image_id)
    except Exception:  # in use, or already gone: keep it
        pass


def is_current(client: docker.DockerClient, tag: str) -> bool:
    """True when ``tag`` exists and was built from the current source (or no source checkout is here)."""
    from docker.errors import ImageNotFound

    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return False
    try:
        digest = build_hash()
    except ImageError:  # an installed package without docker/: whatever image exists is the one to use
        return True
    return (image.labels or {}).get(BUILD_HASH_LABEL) == digest


def ensure_image(
    version: str | None = None, client: docker.DockerClient | None = None, log: Log = print
) -> str:
    """``sagelocal-xgboost:<version>``, built (or re-tagged from another version's build) if it is missing or
    was built from other source."""
    client = client or docker_client()
    tag = image_tag(version)
    if is_current(client, tag):
        return tag
    return build_image(version, client=client, log=log)


def list_images(client: docker.DockerClient | None = None) -> list[dict[str, str]]:
    """sagelocal's images: tag, version, build hash (current or not), id, size."""
    client = client or docker_client()
    try:
        digest = build_hash()
    except ImageError:
        digest = ""
    rows = []
    for image in client.images.list(name=IMAGE_REPOSITORY):
        labels = image.labels or {}
        for tag in image.tags:
            if tag.startswith(IMAGE_REPOSITORY + ":"):
                rows.append(
                    {
                        "tag": tag,
                        "version": labels.get(VERSION_LABEL, ""),
                        "build": labels.get(BUILD_HASH_LABEL, ""),
                        "current": "yes" if digest and labels.get(BUILD_HASH_LABEL) == digest else "no",
                        "id": image.short_id.removeprefix("sha256:"),
                        "size": f"{image.attrs.get('Size', 0) / 1e6:.0f} MB",
                    }
                )
    return sorted(rows, key=lambda r: r["tag"])


def all_versions() -> Iterable[str]:
    from sagelocal.algorithms.xgboost.versions import VERSIONS

    return list(VERSIONS)
