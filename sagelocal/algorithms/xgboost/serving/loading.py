"""``/opt/ml/model`` into boosters, and scoring with them, as each image does.

Sources (aws/sagemaker-xgboost-container, ``src/sagemaker_xgboost_container/algorithm_mode/serve_utils.py``):
- ``get_loaded_booster``: the candidates are the regular files directly in the directory, in ``os.listdir``
  order, whatever their name (training writes ``xgboost-model``, or ``xgboost-model-<fold>``). Each is tried with
  ``pickle.load`` (the 0.72 … 1.2-x artifacts), then ``xgb.Booster().load_model`` (legacy binary, JSON, UBJSON:
  1.3-1+). Up to 1.2-1 only the first file is read; from 1.2-2 all of them (``SAGEMAKER_INFERENCE_ENSEMBLE``,
  default ``true``); from 1.7-1 dotfiles are skipped with a warning. Every booster gets ``nthread=1``.
- ``predict``: pickled models check the payload's column count first (the model's feature count or one fewer;
  LIBSVM may not exceed it by more than one); scoring uses ``validate_features=False`` and, before XGBoost 2,
  ``ntree_limit=best_ntree_limit``; ensembles average, or vote for ``multi:softmax`` / ``binary:hinge``.

SECURITY: this is the one place sagelocal unpickles. The real image unpickles the model of the old versions, and
the file is the user's own ``model.tar.gz`` from their own training job; it is read only by this serving process
and only from the model directory.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field
from typing import Any

from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.serving.payload import Parsed
from sagelocal.algorithms.xgboost.serving.rules import ServingRules
from sagelocal.contract import ServingEnv

PKL_FORMAT = "pkl_format"
XGB_FORMAT = "xgb_format"


@dataclass
class LoadedModel:
    boosters: list[Any]
    formats: list[str]
    objective: str
    num_class: str  # as the booster's config holds it ("" when absent)
    #: Per booster, the boosting rounds to score with (best iteration), or None for all trees.
    rounds: list[int | None] = field(default_factory=list)

    @property
    def ensemble(self) -> bool:
        return len(self.boosters) > 1


class _NoModelFile(Exception):
    """``next()`` on an empty listing (0.72 … 1.2-1): the image reports it with an empty message."""

    def __str__(self) -> str:
        return ""


def load_model(env: ServingEnv, rules: ServingRules, log: Log) -> LoadedModel:
    import xgboost as xgb

    name_of = env.container_path
    model_dir = str(env.model_dir)
    try:
        names = os.listdir(model_dir)
    except OSError as e:
        raise type(e)(e.errno, e.strerror, name_of(model_dir)) from None
    candidates: list[str] = []
    for name in names:
        path = os.path.join(model_dir, name)
        if not os.path.isfile(path):
            continue
        if rules.skips_dotfiles and name.startswith("."):
            log.warning(
                f"Ignoring dotfile '{name_of(path)}' found in model directory"
                " - please exclude dotfiles from model archives"
            )
            continue
        candidates.append(path)
    if not (rules.ensemble and env.ensemble):
        candidates = candidates[:1]
    if not candidates:
        if rules.ensemble:
            raise IndexError("list index out of range")
        raise _NoModelFile()

    boosters: list[Any] = []
    formats: list[str] = []
    for path in candidates:
        if rules.ensemble:
            log.info(f"Loading the model from {name_of(path)}")
        try:
            with open(path, "rb") as f:
                booster = pickle.load(f)  # the real image's own step; see SECURITY above
            model_format = PKL_FORMAT
        except Exception as exp_pkl:
            try:
                booster = xgb.Booster()
                booster.load_model(path)
                model_format = XGB_FORMAT
            except Exception as exp_xgb:
                raise RuntimeError(
                    _load_error(rules, name_of(model_dir), name_of(path), exp_pkl, exp_xgb)
                ) from None
        booster.set_param("nthread", 1)
        boosters.append(booster)
        formats.append(model_format)

    config = json.loads(boosters[0].save_config())
    objective = config["learner"]["objective"]["name"]
    num_class = config["learner"]["learner_model_param"].get("num_class", "")
    if rules.ensemble:
        log.info(f"Model objective : {objective}")
    rounds = [_best_rounds(b) if rules.best_iteration else None for b in boosters]
    return LoadedModel(boosters, formats, objective, num_class, rounds)


def _load_error(
    rules: ServingRules, model_dir: str, path: str, exp_pkl: Exception, exp_xgb: Exception
) -> str:
    if rules.load_error == "labelled":
        return f"Model {path} cannot be loaded:\nPickle load error={exp_pkl}\nXGB load model error={exp_xgb}"
    where = path if rules.load_error == "path" else model_dir
    return f"Model at {where} cannot be loaded:\n{exp_pkl}\n{exp_xgb}"


def _best_rounds(booster: Any) -> int | None:
    """``best_ntree_limit`` in rounds: XGBoost < 2 sets it after training (``(best_iteration + 1) *
    num_parallel_tree``), so a model that stopped early scores with its best iteration, not its last."""
    best = booster.attr("best_iteration")
    if best is not None:
        return int(best) + 1
    limit = booster.attr("best_ntree_limit")
    if limit is not None:
        config = json.loads(booster.save_config())
        trees = (
            config["learner"]["gradient_booster"].get("gbtree_model_param", {}).get("num_parallel_tree", "1")
        )
        return max(int(limit) // max(int(trees), 1), 1)
    return None


def predict(model: LoadedModel, parsed: Parsed, log: Log) -> Any:
    """The scores (a numpy array); any exception is the 400 "Unable to evaluate payload provided"."""
    import numpy as np

    dtest = parsed.dmatrix
    if model.formats[0] == PKL_FORMAT:
        x = model.boosters[0].num_features()
        y = len(dtest.feature_names) if dtest.feature_names is not None else dtest.num_col()
        if parsed.kind == "libsvm":
            if y > x + 1:
                raise ValueError(
                    f"Feature size of libsvm inference data {y} is larger than feature size of trained model {x}."
                )
        elif not (x == y or x == y + 1):
            raise ValueError(
                f"Feature size of {parsed.kind} inference data {y} is not consistent "
                f"with feature size of trained model {x}."
            )
    scores = [_score(b, r, dtest) for b, r in zip(model.boosters, model.rounds, strict=True)]
    if not model.ensemble:
        return scores[0]
    if model.objective in ("multi:softmax", "binary:hinge"):
        log.info(f"Vote ensemble prediction of {model.objective} with {len(scores)} models")
        return _vote(np.stack(scores))
    log.info(f"Average ensemble prediction of {model.objective} with {len(scores)} models")
    return np.mean(scores, axis=0)


def _score(booster: Any, rounds: int | None, dtest: Any) -> Any:
    if rounds:
        return booster.predict(dtest, iteration_range=(0, rounds), validate_features=False)
    return booster.predict(dtest, validate_features=False)


def _vote(stacked: Any) -> Any:
    """The most common value per column, the smallest among ties (``scipy.stats.mode``)."""
    import numpy as np

    out = np.empty(stacked.shape[1:], dtype=stacked.dtype)
    for index in np.ndindex(*stacked.shape[1:]):
        values, counts = np.unique(stacked[(slice(None), *index)], return_counts=True)
        out[index] = values[np.argmax(counts)]
    return out
