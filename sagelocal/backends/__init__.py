"""Where a training job runs: ``local`` (the emulator, in a worker process), ``docker`` (the emulator, the
algorithm in a container) or ``sagemaker`` (the real service). All share the interface in ``base``."""

from sagelocal.backends.base import BACKENDS, Backend, BackendError, get_backend

__all__ = ["BACKENDS", "Backend", "BackendError", "get_backend"]
