"""Writing ``xgboost-model`` in the format of each image (reference §10).

| Image | Format |
|---|---|
| 0.72 (Python 2.7) | ``pickle.dump(booster)``, Python 2's default protocol 0 |
| 0.90-x, 1.0-1 (Python 3.6/3.7) | ``pickle.dump(booster)``, protocol 3 (their default) |
| 1.2-x | ``pickle.dump(booster, protocol=4)`` |
| 1.3-1 … 1.7-1 | ``save_model`` without extension: the legacy binary format (``save_raw("deprecated")``) |
| 3.0-5 | ``save_model`` without extension: UBJSON |

The pickles hold an XGBoost 3.0.5 booster, so they load with the XGBoost sagelocal runs, not with the old one.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
from typing import Any

from sagelocal.algorithms.xgboost.versions import ImageVersion

MODEL_NAME = "xgboost-model"


def model_bytes(booster: Any, version: ImageVersion) -> bytes:
    if version.serialization == "pickle":
        return pickle.dumps(booster, protocol=0 if version.legacy else 3)
    if version.serialization == "pickle4":
        return pickle.dumps(booster, protocol=4)
    if version.serialization == "binary":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bytes(booster.save_raw("deprecated"))
    return bytes(booster.save_raw("ubj"))


def write_model(booster: Any, version: ImageVersion, path: str) -> None:
    """Write atomically (temporary file, then rename), as the image's intermediate saves do."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    payload = model_bytes(booster, version)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
