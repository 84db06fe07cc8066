"""Where a training job runs: ``local`` (the emulator, in a worker process), ``docker`` (the emulator, the
algorithm in a container) or ``sagemaker`` (the real service). All implement :class:`Backend` (``base``).

This is the registry, and the one door the CLI goes through: it also re-exports the built-in XGBoost version
facts the CLI checks options against before any backend exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagelocal.algorithms.xgboost.versions import DEFAULT_VERSION, VERSIONS, UnknownImage, get_version
from sagelocal.backends.base import (
    ROLE_ENV,
    TERMINAL_STATUSES,
    Backend,
    BackendError,
    Bucket,
    ObjectPage,
    StoredObject,
)

if TYPE_CHECKING:
    from sagelocal.backends.emulated import EmulatedBackend
    from sagelocal.service.service import Emulator

BACKENDS = ("local", "docker", "sagemaker")
#: The backends that run jobs on this machine in the emulated service: the ones ``sagelocal serve`` serves.
EMULATED_BACKENDS = ("local", "docker")


def get_backend(name: str) -> Backend:
    """The backend called ``name``: ``local``, ``docker`` or ``sagemaker``."""
    # Imported here, not at the top: each backend pulls in its own stack (the emulated service, or boto3),
    # and every CLI command imports this module.
    if name == "sagemaker":
        from sagelocal.backends.sagemaker import SageMakerBackend

        return SageMakerBackend()
    if name in EMULATED_BACKENDS:
        return _emulated_class(name)()
    raise BackendError(f"Unknown backend '{name}'. Choose one of: {', '.join(BACKENDS)}.")


def emulated_service(name: str, home: Path | None = None, **options: Any) -> Emulator:
    """The emulated service running jobs as backend ``name`` (``local`` or ``docker``) does, made with
    Emulator ``options``: what ``sagelocal serve`` answers from. No Docker engine is needed to make it."""
    if name not in EMULATED_BACKENDS:
        raise BackendError(
            f"Unknown emulated backend '{name}'. Choose one of: {', '.join(EMULATED_BACKENDS)}."
        )
    return _emulated_class(name).service(home, **options)


def ignored_hyperparameters(image_uri: str, hyperparameters: dict[str, str]) -> list[tuple[str, str | None]]:
    """The keys the 0.72 image (``xgboost:1``/``latest``) would silently ignore, each with the nearest name it
    knows (difflib), or None. The open-source images reject unknown keys themselves, so this is only about
    the legacy image; an image sagelocal does not know gives no advice."""
    import difflib

    from sagelocal.algorithms.xgboost.hyperparameters import parameter_names
    from sagelocal.algorithms.xgboost.versions import version_from_image_uri

    try:
        version = version_from_image_uri(image_uri)
    except UnknownImage:
        return []
    if not version.legacy:
        return []
    known = parameter_names(version)
    return [
        (key, next(iter(difflib.get_close_matches(key, known, n=1)), None))
        for key in hyperparameters
        if key not in known
    ]


def _emulated_class(name: str) -> type[EmulatedBackend]:
    # Imported here for start-up time, as in get_backend.
    if name == "docker":
        from sagelocal.backends.docker import DockerBackend

        return DockerBackend
    from sagelocal.backends.local import LocalBackend

    return LocalBackend


__all__ = [
    "BACKENDS",
    "DEFAULT_VERSION",
    "EMULATED_BACKENDS",
    "ROLE_ENV",
    "TERMINAL_STATUSES",
    "VERSIONS",
    "Backend",
    "BackendError",
    "Bucket",
    "ObjectPage",
    "StoredObject",
    "UnknownImage",
    "emulated_service",
    "get_backend",
    "get_version",
    "ignored_hyperparameters",
]
