"""Build the SageMaker XGBoost tutorial's train/test split from the UCI Bank Marketing data.

Data: "Bank Marketing" (S. Moro, P. Cortez, P. Rita, 2014), UCI Machine Learning Repository, CC BY 4.0.
Recipe: ../shared/data/README.md (the tutorial's ``bank_clean.csv`` steps, shuffle with seed 1729,
70 / 30 split).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

ZIP_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bank-additional.zip"
MEMBER = "bank-additional/bank-additional-full.csv"
DROPPED = ["duration", "emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed"]


def prepare(dest_dir: Path) -> tuple[Path, Path]:
    """Write ``train.csv`` (28,831 rows) and ``test.csv`` (12,357 rows) into ``dest_dir``: label ``y_yes``
    first, then the 59 features, no header, no index. Returns their paths."""
    import numpy as np
    import pandas as pd

    with zipfile.ZipFile(ZIP_PATH) as archive:
        raw = archive.read(MEMBER)
    data = pd.read_csv(io.BytesIO(raw), sep=";")
    data["no_previous_contact"] = np.where(data["pdays"] == 999, 1, 0)
    data["not_working"] = np.where(data["job"].isin(["student", "retired", "unemployed"]), 1, 0)
    model_data = pd.get_dummies(data, dtype=int)
    model_data = model_data.drop(DROPPED, axis=1)

    shuffled = model_data.sample(frac=1, random_state=1729)
    n_train = int(0.7 * len(model_data))
    train, test = shuffled.iloc[:n_train], shuffled.iloc[n_train:]

    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, part in (("train.csv", train), ("test.csv", test)):
        table = pd.concat([part["y_yes"], part.drop(["y_no", "y_yes"], axis=1)], axis=1)
        path = dest_dir / name
        table.to_csv(path, index=False, header=False)
        paths.append(path)
    return paths[0], paths[1]
