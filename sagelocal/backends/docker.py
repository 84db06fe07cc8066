"""``--backend docker``: the emulated service with ``train`` run in a container (see runners/container.py).

Same job lifecycle, API, logs and artifacts as ``local``; only the training step differs. Needs a Docker
engine: without one the backend cannot be created, and says so on one line.
"""

from __future__ import annotations

from pathlib import Path

from sagelocal.backends.base import BackendError
from sagelocal.backends.emulated import EmulatedBackend


class DockerBackend(EmulatedBackend):
    name = "docker"

    def __init__(self, home: Path | None = None) -> None:
        from sagelocal.service import images

        try:
            images.docker_client().close()
        except images.DockerUnavailable as e:
            raise BackendError(str(e)) from None
        super().__init__(runner="docker", home=home)
