"""``--backend local``: the emulated service with the algorithm in a child Python process (no Docker)."""

from __future__ import annotations

from pathlib import Path

from sagelocal.backends.emulated import EmulatedBackend


class LocalBackend(EmulatedBackend):
    name = "local"

    def __init__(self, home: Path | None = None) -> None:
        super().__init__(runner="process", home=home)
