"""The XGBoost release inside a real image, installed from PyPI into its own virtual environment (cached under
``~/.cache/sagelocal``), to compare sagelocal's training with the library the image runs.

The images install XGBoost with ``pip install xgboost==<version>`` (``docker/<v>/base/Dockerfile.cpu`` of
github.com/aws/sagemaker-xgboost-container), so the PyPI wheel is the image's library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CACHE = Path.home() / ".cache" / "sagelocal"

#: Trains like ``xgb.train(params, dtrain, num_round, evals=[train, validation], verbose_eval=True)``: the metric
#: lines of 1.3+ are the image's (``EvaluationMonitor``), and before 1.3 the image's ``_fmt_metric`` lines are
#: XGBoost's own too. Prints the predictions on the validation rows as the last line.
SCRIPT = """
import json, sys, numpy as np, xgboost as xgb
params, rounds, train, validation = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
tr = np.loadtxt(train, delimiter=","); va = np.loadtxt(validation, delimiter=",")
dtrain = xgb.DMatrix(np.ascontiguousarray(tr[:, 1:]), label=tr[:, 0])
dval = xgb.DMatrix(np.ascontiguousarray(va[:, 1:]), label=va[:, 0])
booster = xgb.train(params, dtrain, rounds, evals=[(dtrain, "train"), (dval, "validation")], verbose_eval=True)
sys.stdout.flush()
print(json.dumps({"version": xgb.__version__, "predictions": booster.predict(dval).tolist()}))
"""


#: Loads a CSV file as the images do (``xgb.DMatrix("<path>?format=csv&label_column=0&delimiter=,")``,
#: ``data_utils.get_csv_dmatrix``), trains on it and prints the metric lines.
CSV_SCRIPT = """
import json, sys, xgboost as xgb
params, rounds, path = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
dtrain = xgb.DMatrix(path + "?format=csv&label_column=0&delimiter=,")
xgb.train(params, dtrain, rounds, evals=[(dtrain, "train")], verbose_eval=True)
"""


def upstream_python(release: str) -> Path:
    """The interpreter of a venv holding XGBoost ``release``; skips the test when it cannot be installed."""
    venv = CACHE / f"xgboost-{release}"
    python = venv / "bin" / "python"
    if not _imports(python, release):
        pins = ["numpy<2", "scipy<1.14"] if release.startswith("1.7") else ["numpy<1.24", "scipy<1.12"]
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", f"xgboost=={release}", *pins],
                check=True,
                timeout=600,
                capture_output=True,
            )
        except (subprocess.SubprocessError, OSError) as e:
            pytest.skip(f"could not install xgboost=={release} from PyPI into {venv}: {e}")
        if not _imports(python, release):
            pytest.skip(f"xgboost=={release} installed into {venv} but does not import")
    return python


def _imports(python: Path, release: str) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import xgboost; print(xgboost.__version__)"], capture_output=True, text=True
    )
    return probe.returncode == 0 and probe.stdout.strip() == release


def train_upstream(
    release: str, params: dict[str, Any], rounds: int, train: Path, validation: Path
) -> tuple[list[str], list[float]]:
    """(metric lines, predictions on the validation rows) of the real library."""
    python = upstream_python(release)
    result = subprocess.run(
        [str(python), "-c", SCRIPT, json.dumps(params), str(rounds), str(train), str(validation)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    lines = result.stdout.splitlines()
    report = json.loads(lines[-1])
    assert report["version"] == release
    return [ln for ln in lines[:-1] if ln.startswith("[") and "]\t" in ln], report["predictions"]


def train_upstream_on_csv(release: str, params: dict[str, Any], rounds: int, path: Path) -> list[str]:
    """The metric lines of the real library trained on a CSV file it loaded itself."""
    python = upstream_python(release)
    result = subprocess.run(
        [str(python), "-c", CSV_SCRIPT, json.dumps(params), str(rounds), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return [ln for ln in result.stdout.splitlines() if ln.startswith("[") and "]\t" in ln]
