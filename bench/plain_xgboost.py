"""The baseline for the tutorial-job benchmark: what a user would write without SageMaker or sagelocal.

Loads the same train.csv (label first, no header), trains the tutorial's model and writes model.tar.gz. The
tutorial's image (0.72) grows its trees with XGBoost's exact greedy algorithm (what ``tree_method`` unset chose
before XGBoost 2.0, as sagelocal's job does), so the script asks for ``exact``: the same model, not a cheaper one.
Usage: python bench/plain_xgboost.py TRAIN_CSV OUT_DIR [--phases]
(``--phases``: each phase's seconds on stderr, tab-separated, for bench/job_profile.py.)
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import sys  # noqa: E402
import tarfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402

IMPORTED = time.perf_counter()

PARAMS = {
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.8,
    "objective": "binary:logistic",
    "tree_method": "exact",
}


def main(train_csv: str, out_dir: str, phases: bool = False) -> None:
    frame = pd.read_csv(train_csv, header=None)
    dtrain = xgb.DMatrix(frame.iloc[:, 1:].to_numpy(), label=frame.iloc[:, 0].to_numpy())
    loaded = time.perf_counter()
    booster = xgb.train(PARAMS, dtrain, num_boost_round=100, evals=[(dtrain, "train")], verbose_eval=True)
    trained = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    booster.save_model(out / "xgboost-model")
    with tarfile.open(out / "model.tar.gz", "w:gz") as tar:
        tar.add(out / "xgboost-model", arcname="xgboost-model")
    if phases:
        saved = time.perf_counter()
        for label, seconds in (
            ("imports (pandas, xgboost with scikit-learn)", IMPORTED - STARTED),
            ("read the CSV, build the DMatrix", loaded - IMPORTED),
            ("train 100 rounds", trained - loaded),
            ("save, model.tar.gz", saved - trained),
        ):
            print(f"{label}\t{seconds:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--phases" in sys.argv[3:])
