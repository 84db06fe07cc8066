"""The baseline for the tutorial-job benchmark: what a user would write without SageMaker or sagelocal.

Loads the same train.csv (label first, no header), trains the tutorial's model and writes model.tar.gz. The
tutorial's image (0.72) grows its trees with XGBoost's exact greedy algorithm (what ``tree_method`` unset chose
before XGBoost 2.0, as sagelocal's job does), so the script asks for ``exact``: the same model, not a cheaper one.
Usage: python bench/plain_xgboost.py TRAIN_CSV OUT_DIR
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pandas as pd
import xgboost as xgb

PARAMS = {
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.8,
    "objective": "binary:logistic",
    "tree_method": "exact",
}


def main(train_csv: str, out_dir: str) -> None:
    frame = pd.read_csv(train_csv, header=None)
    dtrain = xgb.DMatrix(frame.iloc[:, 1:].to_numpy(), label=frame.iloc[:, 0].to_numpy())
    booster = xgb.train(PARAMS, dtrain, num_boost_round=100, evals=[(dtrain, "train")], verbose_eval=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    booster.save_model(out / "xgboost-model")
    with tarfile.open(out / "model.tar.gz", "w:gz") as tar:
        tar.add(out / "xgboost-model", arcname="xgboost-model")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
