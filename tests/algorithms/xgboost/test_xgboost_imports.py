"""The algorithm imports XGBoost without scikit-learn and pandas (``imports.py``), in a fresh interpreter as the
cold ``train`` process is one; the warm fork server's preload does the same first."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from sagelocal.algorithms.xgboost.imports import import_xgboost
xgb = import_xgboost()
print(xgb.__name__, "sklearn" in sys.modules, "pandas" in sys.modules, xgb.compat.SKLEARN_INSTALLED)
import sklearn.metrics, pandas
print("later imports work:", sklearn.metrics.__name__, pandas.__name__)
"""


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def test_xgboost_comes_without_scikit_learn_and_pandas_which_stay_importable():
    assert _run(PROBE) == ["xgboost False False False", "later imports work: sklearn.metrics pandas"]


def test_the_warm_preload_sets_xgboost_up_as_a_cold_train_does():
    probe = "import sagelocal.algorithms.xgboost.preload, sys, xgboost\n"
    probe += "print(xgboost.compat.SKLEARN_INSTALLED, 'sklearn' in sys.modules, 'pandas' in sys.modules)"
    assert _run(probe) == ["False True True"]
