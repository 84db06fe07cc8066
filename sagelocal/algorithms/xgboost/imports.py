"""Importing XGBoost without the libraries training does not use.

``import xgboost`` imports scikit-learn (and through it most of SciPy) and pandas when they are installed, only
to offer its scikit-learn estimators and DataFrame input (``xgboost/compat.py``). ``train`` uses neither: it
hands XGBoost numpy arrays and calls scikit-learn itself where it needs it (k-fold, a few custom metrics), so
the algorithm process imports XGBoost with those two hidden. That takes about 0.4 s instead of 1.2 s on
2 cores, most of a cold job's start-up. Importing either later works as usual.
"""

from __future__ import annotations

import sys
from typing import Any

#: What ``xgboost.compat`` imports only to support inputs and estimators ``train`` never uses.
_NOT_NEEDED = ("sklearn", "pandas")


def import_xgboost() -> Any:
    """``xgboost``, imported with :data:`_NOT_NEEDED` hidden when this is the process's first import of it."""
    if "xgboost" in sys.modules:
        return sys.modules["xgboost"]
    hidden = [name for name in _NOT_NEEDED if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        import xgboost
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return xgboost


__all__ = ["import_xgboost"]
