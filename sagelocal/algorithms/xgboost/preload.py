"""Importing this module loads everything ``train`` needs: XGBoost (which pulls in scikit-learn and SciPy),
pyarrow, pandas and the algorithm's own modules. A long-lived emulator preloads it in its fork server, so each
job's algorithm starts warm instead of paying these imports (seconds) again.

It only imports: no thread pool is started and no computation runs, so forking after it is safe.
"""

from __future__ import annotations

import importlib

from sagelocal.algorithms.xgboost.imports import import_xgboost

import_xgboost()  # first, as a cold ``train`` imports it: warm and cold jobs run the same XGBoost set-up

for _module in (
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.csv",
    "pyarrow.parquet",
    "scipy.sparse",
    "sklearn.metrics",
    "sagelocal.algorithms.xgboost.data",
    "sagelocal.algorithms.xgboost.entry",
    "sagelocal.algorithms.xgboost.metrics",
    "sagelocal.algorithms.xgboost.model",
    "sagelocal.algorithms.xgboost.training",
):
    importlib.import_module(_module)
