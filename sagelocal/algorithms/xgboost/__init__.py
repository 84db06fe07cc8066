"""Amazon SageMaker's built-in XGBoost algorithm, as its training images run it.

``python -m sagelocal.algorithms.xgboost train [--ml-root DIR] [--image-version V]`` is the image's
``train`` command; :func:`main` runs it in-process. Importing this package stays light: XGBoost, pandas and
pyarrow are imported when training starts.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run ``train`` with ``argv`` (e.g. ``["train", "--ml-root", "/tmp/job"]``); returns the exit code."""
    from sagelocal.algorithms.xgboost.entry import main as _main

    return _main(argv)


__all__ = ["main"]
