"""``python -m sagelocal.algorithms.xgboost train …`` / ``… serve …``: the image's two commands."""

from __future__ import annotations

import sys

from sagelocal.algorithms.xgboost.entry import main

if __name__ == "__main__":
    sys.exit(main())
