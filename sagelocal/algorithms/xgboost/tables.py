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

# ---- what the images' libraries print besides the container's own lines (notices.py, debugger.py)

#: The parameters each image leaves in the dict it passes to ``xgb.train`` although XGBoost has no such
#: parameter, so that XGBoost ≥ 1.0 names them in its unused-parameter warning (``algorithm_mode/train.py``:
#: ``csv_weights`` is read with ``.get`` on every branch; ``num_round`` is popped from 1.2-1, and
#: ``early_stopping_rounds`` and ``_tuning_objective_metric`` from 1.2-2). ``silent`` is a parameter the
#: 1.0-1 validator accepts and XGBoost 1.0.0 reports unused; the later validators reject it.
LEFT_IN_PARAMS: tuple[str | Item[str], ...] = (
    "csv_weights",
    Item("num_round", until="1.2-1"),
    Item("early_stopping_rounds", until="1.2-2"),
    Item("_tuning_objective_metric", until="1.2-2"),
    Item("silent", until="1.2-1"),
)


@dataclass(frozen=True)
class UnusedParametersNotice:
    """XGBoost's ``LearnerConfiguration::ValidateParameters`` warning, as each image's library prints it (run
    with each PyPI wheel: ``xgb.train({"csv_weights": 1, "num_round": 3, "silent": 0, …}, …)``). The names
    are sorted; from 1.5 they are quoted."""

    location: str  # ``learner.cc:<line>`` as the wheel's LOG(WARNING) prints it
    quoted: bool
    verb: str  # "might not be used" / "are not used"
    trailer: tuple[str, ...]  # the explanation lines after the list (blank lines dropped, as CloudWatch does)


_MAY_BE_WRONG_1_0 = (
    "  This may not be accurate due to some parameters are only used in language bindings but",
    "  passed down to XGBoost core.  Or some parameters are not used but slip through this",
    "  verification. Please open an issue if you find above cases.",
)
#: Keyed by the image's XGBoost (0.90 has no such check).
UNUSED_PARAMETERS_NOTICES: dict[str, UnusedParametersNotice] = {
    "1.0.0": UnusedParametersNotice(
        "/workspace/src/learner.cc:328", False, "might not be used", _MAY_BE_WRONG_1_0
    ),
    "1.2.0": UnusedParametersNotice("../src/learner.cc:516", False, "might not be used", _MAY_BE_WRONG_1_0),
    "1.3.3": UnusedParametersNotice("../src/learner.cc:541", False, "might not be used", _MAY_BE_WRONG_1_0),
    "1.5.2": UnusedParametersNotice(
        "../src/learner.cc:576",
        True,
        "might not be used",
        (
            "  This could be a false alarm, with some parameters getting used by language bindings but",
            "  then being mistakenly passed down to XGBoost core, or some parameter actually being used",
            "  but getting flagged wrongly here. Please open an issue if you find any such cases.",
        ),
    ),
    "1.7.4": UnusedParametersNotice("../src/learner.cc:767", True, "are not used", ()),
    "3.0.5": UnusedParametersNotice("/workspace/src/learner.cc:738", True, "are not used", ()),
}

#: XGBoost 1.3 and 1.5 warn, at the first evaluation of a booster with no ``eval_metric``, that the default
#: metric of some objectives changed (``LearnerImpl::EvalOneIter``): location, then objective -> (release that
#: changed it, old metric, new metric). Checked with the 1.3.3 and 1.5.2 wheels; 1.7.4 prints nothing.
DEFAULT_METRIC_NOTICES: dict[str, tuple[str, dict[str, tuple[str, str, str]]]] = {
    "1.3.3": (
        "../src/learner.cc:1061",
        {
            "binary:logistic": ("1.3.0", "error", "logloss"),
            "multi:softmax": ("1.3.0", "merror", "mlogloss"),
            "multi:softprob": ("1.3.0", "merror", "mlogloss"),
        },
    ),
    "1.5.2": (
        "../src/learner.cc:1115",
        {
            "binary:logistic": ("1.3.0", "error", "logloss"),
            "binary:logitraw": ("1.4.0", "auc", "logloss"),
            "multi:softmax": ("1.3.0", "merror", "mlogloss"),
            "multi:softprob": ("1.3.0", "merror", "mlogloss"),
        },
    ),
}

#: ``xgb.train(feval=…)`` in XGBoost 1.6 … 1.7 (``training.py::_configure_custom_metric``, a
#: ``warnings.warn`` at line 39 of the 1.7.4 wheel): the 1.7-1 image passes ``feval=configured_feval``, which
#: is set when the job asks for a metric the container computes itself (``metrics/custom_metrics.py``).
FEVAL_DEPRECATIONS: dict[str, tuple[int, str]] = {
    "1.7.4": (
        39,
        "`feval` is deprecated, use `custom_metric` instead.  They have different behavior when custom "
        "objective is also used.See https://xgboost.readthedocs.io/en/latest/tutorials/custom_metric_obj.html "
        "for details on the `custom_metric`.",
    ),
}

#: Where XGBoost ≥ 2.1 warns that a model file name without ``.json``/``.ubj``/``.deprecated`` gets UBJSON
#: (``c_api.cc`` of the 3.0.5 wheel), and the frame Python's ``warnings`` names: XGBoost warns with
#: ``stacklevel=3``, i.e. at the image's line that called ``save_model`` (v3.0-5 tag:
#: ``algorithm_mode/train.py`` for the final models, ``checkpointing.py`` for ``save_model_on_termination``).
UBJSON_SAVE_NOTICES: dict[str, str] = {
    "3.0.5": "/workspace/src/c_api/c_api.cc:1427: Saving model in the UBJSON format as default.  You can use "
    "file extension: `json`, `ubj` or `deprecated` to choose between formats.",
}
#: site -> (module under site-packages, line, source line) of the image's ``save_model`` calls (v3.0-5).
UBJSON_SAVE_SITES: dict[str, tuple[str, int, str]] = {
    "final": ("sagemaker_xgboost_container/algorithm_mode/train.py", 480, "bst.save_model(model_location)"),
    "fold": (
        "sagemaker_xgboost_container/algorithm_mode/train.py",
        485,
        "bst[fold].save_model(model_location)",
    ),
    "intermediate": ("sagemaker_xgboost_container/checkpointing.py", 428, "model.save_model(tf.name)"),
}
#: XGBoost 3 routes its C++ warnings through ``warnings.warn(…, stacklevel=3)``: the unused-parameter warning
#: names the ``bst.update`` line of ``xgboost/training.py`` (3.0.5 wheel).
XGBOOST3_UPDATE_SITE = ("xgboost/training.py", 183, "bst.update(dtrain, iteration=i, fobj=obj)")

# ---- smdebug (the Debugger hook, 0.90-2 … 1.7-1)

#: The smdebug release each image installs (``requirements.txt`` up to 1.2-2; from 1.3-1
#: ``docker/<v>/final/Dockerfile.cpu``: ``pip install git+https://github.com/awslabs/sagemaker-debugger.git@1.0.29``).
#: 0.90-1 has no smdebug; 3.0-5 comments ``add_debugging`` out.
SMDEBUG_RELEASES: dict[str, str] = {
    "0.90-2": "0.4.13",
    "1.0-1": "1.0.10",
    "1.2-1": "1.0.7",
    "1.2-2": "1.0.10",
    "1.3-1": "1.0.29",
    "1.5-1": "1.0.29",
    "1.7-1": "1.0.29",
}


@dataclass(frozen=True)
class SmdebugSites:
    """``filename:lineno`` of each smdebug log call in a release (github.com/awslabs/sagemaker-debugger at the
    release's tag). A message that spans lines has two: its argument's line, which Python ≤ 3.7 reports, and
    the call's first line, which Python ≥ 3.8 reports. ``None``: the release does not log it at INFO."""

    rule_stop: str | None  # core/access_layer/utils.py, at import: RULE_JOB_STOP_SIGNAL_FILENAME
    profiler: str | None  # profiler/profiler_config_parser.py::_log_new_message
    profiler_at_import: bool  # 1.0.29's xgboost hook module builds the config parser on import
    json_config: str
    tensorboard: tuple[str, str]
    saving: str
    state_store: str | None
    monitoring: tuple[str, str]
    writing: str | None
    not_first: tuple[str, str] | None  # "Unsupported Distributed Training Strategy Detected" (WARNING)


SMDEBUG_SITES: dict[str, SmdebugSites] = {
    "0.4.13": SmdebugSites(
        None,
        None,
        False,
        "json_config.py:90",
        ("hook.py:151", "hook.py:150"),
        "hook.py:196",
        None,
        ("hook.py:325", "hook.py:324"),
        None,
        None,
    ),
    "1.0.7": SmdebugSites(
        "utils.py:27",
        "profiler_config_parser.py:102",
        False,
        "json_config.py:91",
        ("hook.py:199", "hook.py:198"),
        "hook.py:253",
        "state_store.py:77",
        ("hook.py:413", "hook.py:412"),
        "hook.py:476",
        ("hook.py:480", "hook.py:479"),
    ),
    "1.0.10": SmdebugSites(
        "utils.py:27",
        "profiler_config_parser.py:102",
        False,
        "json_config.py:91",
        ("hook.py:201", "hook.py:200"),
        "hook.py:255",
        "state_store.py:77",
        ("hook.py:423", "hook.py:422"),
        "hook.py:486",
        ("hook.py:490", "hook.py:489"),
    ),
    "1.0.29": SmdebugSites(
        "utils.py:28",
        "profiler_config_parser.py:111",
        True,
        "json_config.py:92",
        ("hook.py:207", "hook.py:206"),
        "hook.py:259",
        "state_store.py:77",
        ("hook.py:428", "hook.py:427"),
        "hook.py:491",
        ("hook.py:495", "hook.py:494"),
    ),
}
