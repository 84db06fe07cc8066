"""Importing this module loads everything ``train`` needs: XGBoost (which pulls in scikit-learn and SciPy),
pyarrow, pandas and the algorithm's own modules. A long-lived emulator preloads it in its fork server, so each
job's algorithm starts warm instead of paying these imports (seconds) again.

It only imports: no thread pool is started and no computation runs, so forking after it is safe.
"""

from __future__ import annotations

import numpy  # noqa: F401
import pandas  # noqa: F401
import pyarrow
import pyarrow.csv
import pyarrow.parquet  # noqa: F401
import scipy.sparse  # noqa: F401
import sklearn.metrics  # noqa: F401
import xgboost  # noqa: F401

from sagelocal.algorithms.xgboost import data, entry, metrics, model, training  # noqa: F401
