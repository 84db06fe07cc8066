"""Hyperparameter validation as each image version does it (reference §6). (SKELETON: being built.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagelocal.emulator.algorithms.xgboost.versions import ImageVersion


@dataclass
class TrainingConfig:
    """What training needs, split out of the validated hyperparameters."""

    num_round: int
    xgb_params: dict[str, Any]  # passed to xgb.train(params=…): SageMaker-only keys and eval_metric removed
    eval_metrics: list[str] = field(default_factory=list)  # as given; may include container metrics (accuracy…)
    early_stopping_rounds: int | None = None
    csv_weights: bool = False
    save_model_on_termination: bool = False
    tuning_objective_metric: str | None = None
    kfold: int | None = None
    num_cv_round: int | None = None


def validate_hyperparameters(raw: Mapping[str, str], version: ImageVersion) -> dict[str, Any]:
    """Validate ``hyperparameters.json`` (all values strings) as ``version``'s image does. Returns the parsed values
    keyed by canonical name (aliases resolved). Raises UserError with the image's exact message."""
    raise NotImplementedError


def training_config(hyperparameters: Mapping[str, Any], version: ImageVersion) -> TrainingConfig:
    """Split validated hyperparameters into what xgb.train gets and what the container handles itself."""
    raise NotImplementedError
