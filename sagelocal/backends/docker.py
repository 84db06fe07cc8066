"""``--backend docker``: the emulated service with ``train`` run in a container (see runners/container.py).

Same job lifecycle, API, logs and artifacts as ``local``; only the training step differs, and only this backend
builds and lists sagelocal's training images. Needs a Docker engine: without one the backend cannot be created,
and says so on one line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from sagelocal.backends.base import BackendError, Log
from sagelocal.backends.emulated import EmulatedBackend
from sagelocal.service import images


class DockerBackend(EmulatedBackend):
    name = "docker"
    runner = "docker"

    def __init__(self, home: Path | None = None) -> None:
        try:
            images.docker_client().close()
        except images.DockerUnavailable as e:
            raise BackendError(str(e)) from None
        super().__init__(home=home)

    def build_images(
        self, versions: Sequence[str], *, base_image: str | None, offline: bool, force: bool, log: Log
    ) -> Iterator[str]:
        """One real build at most: the first version does the work (with ``base_image`` and ``force``), the
        others re-tag it with their version (see ``images.build_image``)."""
        try:
            client = images.docker_client()
            first = True
            for version in dict.fromkeys(versions):
                tag = images.build_image(
                    version,
                    base_image=base_image if first else None,
                    offline=offline,
                    client=client,
                    log=log,
                    force=force and first,
                )
                first = False
                yield tag
        except images.ImageError as e:
            raise BackendError(str(e)) from None

    def list_images(self) -> list[dict[str, str]]:
        try:
            return images.list_images()
        except images.ImageError as e:
            raise BackendError(str(e)) from None
