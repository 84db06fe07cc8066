"""``--backend local``: the emulated service with the algorithm in a child Python process (no Docker)."""

from __future__ import annotations

from sagelocal.backends.emulated import EmulatedBackend


class LocalBackend(EmulatedBackend):
    name = "local"
    runner = "process"
