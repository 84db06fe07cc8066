"""What the open-source images write to ``/opt/ml/output/failure``: sagemaker-containers' generic handler
(aws/sagemaker-containers v2.8.6.post2 ``_trainer.py``) writes ``"framework error: \\n%s\\n%s" %
(traceback.format_exc(), str(e))`` for every error, the toolkit's ``UserError`` included."""

from __future__ import annotations

import os
import sys

HEAD = 'framework error: \nTraceback (most recent call last):\n  File "/miniconda3/lib/python'
TOOLKIT = "sagemaker_algorithm_toolkit.exceptions"


def host_paths() -> list[str]:
    """Paths of this machine that must never appear in a failure written for a container."""
    import sagelocal

    return [os.path.dirname(os.path.dirname(sagelocal.__file__)), sys.prefix, os.path.expanduser("~")]


def assert_image_failure(failure: str | None, kind: str, message: str) -> None:
    """``failure`` is the image's text for a ``kind`` (``UserError``/``AlgorithmError``) with ``message``,
    the traceback naming the image's modules only."""
    assert failure is not None
    assert failure.startswith(HEAD), failure[:300]
    exception = f"{TOOLKIT}.{kind}" if kind in ("UserError", "AlgorithmError") else kind
    assert failure.endswith(f"\n{exception}: {message}\n\n{message}"), failure[-600:]
    for path in host_paths():
        assert path not in failure, path


def assert_image_failure_startswith(failure: str | None, kind: str, start: str) -> str:
    """As :func:`assert_image_failure` for a message known by its start; returns the message."""
    assert failure is not None
    assert failure.startswith(HEAD), failure[:300]
    marker = f"\n{TOOLKIT}.{kind}: {start}"
    assert marker in failure, failure[-600:]
    message = failure.rsplit(marker, 1)[1].split("\n\n", 1)[0]
    assert failure.endswith(f"{marker}{message}\n\n{start}{message}")
    for path in host_paths():
        assert path not in failure, path
    return start + message
