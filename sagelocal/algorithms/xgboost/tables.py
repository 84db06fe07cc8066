"""Version-annotated name lists of the built-in XGBoost images: objectives, metrics, updaters …

Every list is in the image's own order (it shows in error messages). An entry is a plain value, present in
every open-source image (0.90-1 on), or an :class:`Item` naming the images it exists in. The lists of the
legacy 0.72 image (``xgboost:1``, closed source) are plain tuples: that image is one version.

Sources: ``constants/xgb_constants.py``, ``algorithm_mode/hyperparameter_validation.py`` and
``metrics/custom_metrics.py`` of each branch of github.com/aws/sagemaker-xgboost-container; the "XGBoost
metrics" table of docs.aws.amazon.com/sagemaker/latest/dg/xgboost-tuning.html.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sagelocal.algorithms.xgboost.versions import FIRST_OPEN_SOURCE, ImageVersion

T = TypeVar("T")


@dataclass(frozen=True)
class Item(Generic[T]):
    """A table entry that exists only in the images ``[since, until)``."""

    value: T
    since: str = FIRST_OPEN_SOURCE
    until: str | None = None


def prefixed(prefix: str, entries: Sequence[str | Item[str]]) -> tuple[str | Item[str], ...]:
    """``entries`` with ``prefix`` before every name, each in the same images."""
    return tuple(
        Item(prefix + e.value, e.since, e.until) if isinstance(e, Item) else prefix + e for e in entries
    )


def at(entries: Sequence[T | Item[T]], version: ImageVersion) -> list[T]:
    """The entries that exist in ``version``, in table order. Plain entries exist in every open-source image."""
    out: list[T] = []
    for entry in entries:
        if isinstance(entry, Item):
            if version.within(entry.since, entry.until):
                out.append(entry.value)
        elif version.at_least(FIRST_OPEN_SOURCE):
            out.append(entry)
    return out


# ---- objectives

OBJECTIVES: tuple[str | Item[str], ...] = (
    Item("aft_loss_distribution", since="1.2-1"),  # (sic) a parameter name, listed as an objective
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    Item("reg:pseudohubererror", since="1.2-1"),
    Item("reg:squaredlogerror", since="1.0-1"),
    Item("reg:absoluteerror", since="1.7-1"),
    "reg:tweedie",
    Item("survival:aft", since="1.2-1"),
    "survival:cox",
)
MULTI_CLASS_OBJECTIVES = ("multi:softmax", "multi:softprob")

# ---- metrics

#: ``XGB_MAXIMIZE_METRICS``. (sic) The 0.90 images list the four ``*-nloglik`` metrics as maximized; 1.0-1
#: moved them to the minimized list.
MAXIMIZE_METRICS: tuple[str | Item[str], ...] = (
    "accuracy",
    "auc",
    "aucpr",
    Item("balanced_accuracy", since="1.3-1"),
    Item("cox-nloglik", until="1.0-1"),
    "f1",
    Item("f1_binary", since="1.2-2"),
    Item("f1_macro", since="1.2-2"),
    Item("gamma-nloglik", until="1.0-1"),
    "map",
    "ndcg",
    Item("poisson-nloglik", until="1.0-1"),
    Item("precision", since="1.3-1"),
    Item("r2", since="1.2-1"),
    Item("recall", since="1.3-1"),
    Item("precision_macro", since="1.3-1"),
    Item("precision_micro", since="1.3-1"),
    Item("recall_macro", since="1.3-1"),
    Item("recall_micro", since="1.3-1"),
    Item("tweedie-nloglik", until="1.0-1"),
)
#: ``XGB_MINIMIZE_METRICS``.
MINIMIZE_METRICS: tuple[str | Item[str], ...] = (
    Item("aft-nloglik", since="1.2-1"),
    Item("cox-nloglik", since="1.0-1"),
    "error",
    "gamma-deviance",
    Item("gamma-nloglik", since="1.0-1"),
    Item("interval-regression-accuracy", since="1.2-1"),
    "logloss",
    "mae",
    Item("mape", since="1.3-1"),
    "merror",
    "mlogloss",
    Item("mphe", since="1.2-1"),
    "mse",
    Item("poisson-nloglik", since="1.0-1"),
    "rmse",
    Item("rmsle", since="1.0-1"),
    Item("tweedie-nloglik", since="1.0-1"),
)
#: The ``eval_metric`` range as the image prints it: maximized, then minimized.
EVAL_METRICS = MAXIMIZE_METRICS + MINIMIZE_METRICS
#: Metrics that take a custom threshold (``error@0.3``, ``ndcg@5``, ``map@3``).
THRESHOLD_METRICS = ("error", "ndcg", "map")
#: The metrics the container computes itself (``CUSTOM_METRICS`` of ``metrics/custom_metrics.py``).
CONTAINER_METRICS: tuple[str | Item[str], ...] = (
    "accuracy",
    Item("balanced_accuracy", since="1.3-1"),
    "f1",
    Item("f1_binary", since="1.2-2"),
    Item("f1_macro", since="1.2-2"),
    "mse",
    Item("rmse", since="1.3-1"),
    Item("mae", since="1.3-1"),
    Item("precision", since="1.3-1"),
    Item("precision_macro", since="1.3-1"),
    Item("precision_micro", since="1.3-1"),
    Item("r2", since="1.2-1"),
    Item("recall", since="1.3-1"),
    Item("recall_macro", since="1.3-1"),
    Item("recall_micro", since="1.3-1"),
)
#: XGBoost's own rule before 1.3 (``maximize_metrics`` of ``xgboost/training.py``): these metrics, and their
#: ``@`` forms, improve upwards when early stopping picks a direction itself.
XGBOOST_MAXIMIZE_METRICS = ("auc", "aucpr", "map", "ndcg")


def metric_lists(version: ImageVersion) -> tuple[list[str], list[str]]:
    """(maximized, minimized) metric names the version's ``eval_metric`` accepts, in the image's order."""
    return at(MAXIMIZE_METRICS, version), at(MINIMIZE_METRICS, version)


def container_metric_names(version: ImageVersion) -> tuple[str, ...]:
    """The names the image computes itself, in its ``CUSTOM_METRICS`` order."""
    return tuple(at(CONTAINER_METRICS, version))


def reported_metrics() -> tuple[str, ...]:
    """Every metric name an open-source image can print, sorted: SageMaker's MetricDefinitions list."""
    names = {e.value if isinstance(e, Item) else e for e in EVAL_METRICS}
    return tuple(sorted(names))


# ---- tree methods, predictors, updaters (the GPU values appear with the first GPU images, 1.2-1)

TREE_METHODS: tuple[str | Item[str], ...] = (
    "auto",
    "exact",
    "approx",
    "hist",
    Item("gpu_hist", since="1.2-1"),
)
PREDICTORS: tuple[str | Item[str], ...] = (
    Item("auto", since="1.2-1"),
    "cpu_predictor",
    Item("gpu_predictor", since="1.2-1"),
)
#: The ``updater`` range, with the image's repetitions (tree, build, linear and update plugins concatenated).
UPDATER_RANGE: tuple[str | Item[str], ...] = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    Item("grow_local_histmaker", until="1.7-1"),
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    Item("grow_local_histmaker", until="1.7-1"),
    "grow_colmaker",
    "shotgun",
    "coord_descent",
    "refresh",
    "prune",
)
#: ``valid_tree_plugins``, in the order the updater message lists them.
TREE_UPDATERS: tuple[str | Item[str], ...] = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    Item("grow_local_histmaker", until="1.7-1"),
    "grow_skmaker",
    Item("grow_quantile_histmaker", since="1.0-1"),
    "sync",
    "refresh",
    "prune",
)
#: ``valid_tree_build_plugins``: at most one of them may be chosen.
GROW_UPDATERS: tuple[str | Item[str], ...] = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    Item("grow_local_histmaker", until="1.7-1"),
    Item("grow_quantile_histmaker", since="1.0-1"),
)
#: (sic) The grow plugins the "Only one tree grow plugin" message names: not the list the image checks.
GROW_UPDATERS_NAMED: tuple[str | Item[str], ...] = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    Item("grow_local_histmaker", until="1.7-1"),
    "grow_skmaker",
)
LINEAR_UPDATERS = ("shotgun", "coord_descent")
UPDATE_UPDATERS = ("refresh", "prune")

# ---- the 0.72 image

LEGACY_OBJECTIVES = (
    "reg:linear",
    "reg:logistic",
    "binary:logistic",
    "binary:logitraw",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "reg:gamma",
    "reg:tweedie",
)
LEGACY_METRICS = (
    "rmse",
    "mae",
    "logloss",
    "error",
    "merror",
    "mlogloss",
    "auc",
    "ndcg",
    "map",
    "poisson-nloglik",
    "gamma-nloglik",
    "gamma-deviance",
    "tweedie-nloglik",
)
#: The objectives ``eval_metric=auc`` is allowed with.
LEGACY_AUC_OBJECTIVES = (
    "binary:logistic",
    "binary:logitraw",
    "multi:softmax",
    "multi:softprob",
    "reg:logistic",
    "rank:pairwise",
    "binary:hinge",
)
#: The metrics ``_tuning_objective_metric`` may name.
LEGACY_TUNABLE = ("rmse", "mae", "logloss", "error", "merror", "mlogloss", "auc", "ndcg", "map")
LEGACY_TREE_METHODS = ("auto", "exact", "approx", "hist")
LEGACY_TREE_UPDATERS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_local_histmaker",
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
)
LEGACY_GROW_UPDATERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker")


# ---- what the images' XGBoost raises where sagelocal's XGBoost 3 would not (training.py)

#: ``tree_method=gpu_hist`` on a CPU instance, from the PyPI wheel each image installs (checked on 1.2.0, 1.3.3,
#: 1.7.4 and 3.0.5; ``src/gbm/gbtree.cc::GetPredictor`` up to 1.7, ``updater_gpu_hist.cu`` in 3.0). Keyed by the
#: image's XGBoost; before 1.2-1 the validator refuses gpu_hist.
NO_GPU_ERRORS = {
    "1.2.0": "../src/gbm/gbtree.cc:459: Check failed: common::AllVisibleGPUs() >= 1 (0 vs. 1) : "
    "No visible GPU is found for XGBoost.",
    "1.3.3": "../src/gbm/gbtree.cc:506: Check failed: common::AllVisibleGPUs() >= 1 (0 vs. 1) : "
    "No visible GPU is found for XGBoost.",
    "1.5.2": "../src/gbm/gbtree.cc:588: Check failed: common::AllVisibleGPUs() >= 1 (0 vs. 1) : "
    "No visible GPU is found for XGBoost.",
    "1.7.4": "../src/gbm/gbtree.cc:625: Check failed: common::AllVisibleGPUs() >= 1 (0 vs. 1) : "
    "No visible GPU is found for XGBoost.",
    "3.0.5": "/workspace/src/tree/updater_gpu_hist.cu:847: Check failed: ctx_->Ordinal() >= 0 (-1 vs. 0) : "
    "Must have at least one device",
}

#: From XGBoost 1.5, ``Booster._transform_interaction_constraints`` maps a list-valued interaction_constraints
#: through the feature names; the images pass the validator's list and their DMatrix has no names, so every such
#: job fails (``ValueError`` re-raised by ``train_job`` as an AlgorithmError).
INTERACTION_CONSTRAINTS_BY_NAME_SINCE = "1.5-1"
INTERACTION_CONSTRAINTS_ERROR = "Constrained features are not a subset of training data feature names"
