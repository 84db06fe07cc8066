"""The hyperparameters of the open-source XGBoost images (0.90-1 … 3.0-5), each declared once.

After ``algorithm_mode/hyperparameter_validation.py`` of each branch of github.com/aws/sagemaker-xgboost-container:
a declaration names the images that have it (``since``/``until``), its range, and the validators the images
attach to it (``range_validator`` and ``dependencies_validator`` there). A validator that changed between
images is listed once per span of images as an :class:`Item`. ``hyperparameters.py`` reads this table; the
legacy 0.72 image has its own rules (``legacy.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sagelocal.algorithms.xgboost import tables
from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.spec import Choices, Interval, Param, RangeCheck
from sagelocal.algorithms.xgboost.tables import Item
from sagelocal.algorithms.xgboost.versions import ImageVersion

EVAL_METRIC_WITHOUT_OBJECTIVE = (
    "Hyperparameter eval_metric requires the objective hyperparameter to be set "
    "(the real image fails here with a bare KeyError: 'objective')."
)


class MissingObjective(KeyError):
    """``eval_metric_dep_validator`` reads ``dependencies["objective"]``: without an objective the image fails
    with a bare ``KeyError: 'objective'``. sagelocal raises the same and logs :data:`EVAL_METRIC_WITHOUT_OBJECTIVE`
    beside it (``note``)."""

    note = EVAL_METRIC_WITHOUT_OBJECTIVE

    def __init__(self) -> None:
        super().__init__("objective")


# ---- range validators


def _refuse_gpu(categories: Sequence[Any], value: Any) -> bool:
    """tree_method and predictor before the GPU images (1.2-1)."""
    if "gpu" in value:
        raise UserError("GPU training is not supported yet.")
    return value in categories


def check_metric_threshold(metric: str) -> None:
    """``<metric>@<t>``: only error, ndcg and map take a threshold, and it must be a float (both the 0.72 image and
    the open-source toolkit word it so)."""
    name, threshold = metric.split("@")[0].strip(), metric.split("@")[1].strip()
    if name not in tables.THRESHOLD_METRICS:
        raise UserError(
            f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold "
            "should be one of these options: 'error', 'ndcg', 'map'."
        )
    try:
        float(threshold)
    except ValueError:
        raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None


def _eval_metric_range(metrics: Sequence[Any], metric: str) -> bool:
    if "<function" in metric:
        raise UserError(f"User defined evaluation metric {metric} is not supported yet.")
    if "@" in metric:
        check_metric_threshold(metric)
        return True
    return metric in metrics


# ---- dependency validators


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _updater(value: list[str], deps: Mapping[str, Any], version: ImageVersion) -> None:
    if deps.get("booster") == "gblinear":
        if not (len(value) == 1 and value[0] in tables.LINEAR_UPDATERS):
            # The image formats a generator object here and prints its repr character by character;
            # sagelocal prints the intended list instead.
            raise UserError(
                f"Linear updater should be one of these options: {_quoted(tables.LINEAR_UPDATERS)}."
            )
    elif deps.get("process_type") == "update":
        if not all(x in tables.UPDATE_UPDATERS for x in value):
            raise UserError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    else:
        tree = tables.at(tables.TREE_UPDATERS, version)
        if not all(x in tree for x in value):
            raise UserError(
                f"Tree updater should be selected from these options: {_quoted(tree)}, 'shortgun', 'coord_descent'."
            )
        grow = tables.at(tables.GROW_UPDATERS, version)
        if sum(1 for x in value if x in grow) > 1:
            # (sic) "from thefollowing": the image's string concatenation has no space there.
            named = _quoted(tables.at(tables.GROW_UPDATERS_NAMED, version))
            raise UserError(
                f"Only one tree grow plugin can be selected. Choose one from thefollowing: {named}"
            )


def _objective(value: Any, deps: Mapping[str, Any], version: ImageVersion) -> None:
    if value in tables.MULTI_CLASS_OBJECTIVES and deps.get("num_class") is None:
        raise UserError("Require input for parameter 'num_class' for multi-classification")


def _auc_objective(value: list[str], objective: str) -> None:
    if "auc" in value and not any(objective.startswith(p) for p in ("binary:", "rank:")):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")


def _eval_metric_auc(value: list[str], deps: Mapping[str, Any], version: ImageVersion) -> None:
    """Before 1.2-1: the objective is read only when 'auc' is asked for (a KeyError in the image without
    one)."""
    if "auc" in value:
        if "objective" not in deps:
            raise MissingObjective
        _auc_objective(value, deps["objective"])


def _eval_metric(value: list[str], deps: Mapping[str, Any], version: ImageVersion) -> None:
    """1.2-1 on: the objective is read first (a KeyError in the image without one)."""
    if "objective" not in deps:
        raise MissingObjective
    _auc_objective(value, deps["objective"])
    if "aft-nloglik" in value and deps["objective"] != "survival:aft":
        raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")


def _monotone_constraints(value: Any, deps: Mapping[str, Any], version: ImageVersion) -> None:
    if value is not None and deps.get("tree_method") not in ("exact", "hist"):
        raise UserError(
            "monotone_constraints can be used only when the tree_method parameter is set to "
            "either 'exact' or 'hist'."
        )


def _interaction_constraints(value: Any, deps: Mapping[str, Any], version: ImageVersion) -> None:
    if value is not None and deps.get("tree_method") not in ("exact", "hist", "approx"):
        raise UserError(
            "interaction_constraints can be used only when the tree_method parameter is set to "
            "either 'exact', 'hist' or 'approx'."
        )


# ---- the table

_TRUE_FALSE = Choices(["true", "false"])
_ZERO_ONE = Interval(min_closed=0, max_closed=1)
_AT_LEAST_0 = Interval(min_closed=0)
_AT_LEAST_1 = Interval(min_closed=1)
_AT_LEAST_2 = Interval(min_closed=2)
_FRACTION = Interval(min_open=0, max_closed=1)
_NO_GPU: tuple[RangeCheck | Item[RangeCheck], ...] = (Item(_refuse_gpu, until="1.2-1"),)
#: ``declare_alias`` appears in 0.90-2.
_ALIASES_SINCE = "0.90-2"

#: In the images' declaration order (``parameter_names`` keeps it).
PARAMS: tuple[Param, ...] = (
    Param("num_round", "int", _AT_LEAST_1, required=True),
    Param("csv_weights", "int", _ZERO_ONE, default=0),
    Param("early_stopping_rounds", "int", _AT_LEAST_1),
    Param("booster", "cat", Choices(["gbtree", "gblinear", "dart"])),
    Param("silent", "int", _ZERO_ONE, until="1.2-1"),
    Param("verbosity", "int", Interval(min_closed=0, max_closed=3)),
    Param("_nfold", "int", _AT_LEAST_2, since="1.2-1", until="1.2-2"),
    Param("nthread", "int", _AT_LEAST_1),
    Param("eta", "float", _ZERO_ONE, aliases=(Item("learning_rate", since=_ALIASES_SINCE),)),
    Param("gamma", "float", _AT_LEAST_0, aliases=(Item("min_split_loss", since=_ALIASES_SINCE),)),
    Param("max_depth", "int", _AT_LEAST_0),
    Param("min_child_weight", "float", _AT_LEAST_0),
    Param("max_delta_step", "float", _AT_LEAST_0),
    Param("subsample", "float", _FRACTION),
    Param("colsample_bytree", "float", _FRACTION),
    Param("colsample_bylevel", "float", _FRACTION),
    Param("colsample_bynode", "float", _FRACTION),
    Param("lambda", "float", _AT_LEAST_0, aliases=(Item("reg_lambda", since=_ALIASES_SINCE),)),
    Param("alpha", "float", _AT_LEAST_0, aliases=(Item("reg_alpha", since=_ALIASES_SINCE),)),
    Param("tree_method", "cat", Choices(tables.TREE_METHODS, _NO_GPU)),
    Param("sketch_eps", "float", Interval(min_open=0, max_open=1)),
    Param("scale_pos_weight", "float", Interval(min_open=0)),
    Param(
        "updater", "list", Choices(tables.UPDATER_RANGE), deps=("booster", "process_type"), check=(_updater,)
    ),
    Param("dsplit", "cat", Choices(["row", "col"])),
    Param("refresh_leaf", "int", _ZERO_ONE),
    Param("process_type", "cat", Choices(["default", "update"])),
    Param("grow_policy", "cat", Choices(["depthwise", "lossguide"])),
    Param("max_leaves", "int", _AT_LEAST_0),
    Param("max_bin", "int", _AT_LEAST_0),
    Param("predictor", "cat", Choices(tables.PREDICTORS, _NO_GPU)),
    Param(
        "monotone_constraints",
        "tuple",
        Choices([-1, 0, 1]),
        since="1.0-1",
        deps=("tree_method",),
        check=(_monotone_constraints,),
    ),
    # (sic) feature indices must be >= 1 here: the image's range is Interval(min_closed=1).
    Param(
        "interaction_constraints",
        "nested",
        _AT_LEAST_1,
        since="1.0-1",
        deps=("tree_method",),
        check=(_interaction_constraints,),
    ),
    Param("sample_type", "cat", Choices(["uniform", "weighted"])),
    Param("normalize_type", "cat", Choices(["tree", "forest"])),
    Param("rate_drop", "float", _ZERO_ONE),
    Param("one_drop", "int", _ZERO_ONE),
    Param("skip_drop", "float", _ZERO_ONE),
    Param("lambda_bias", "float", _ZERO_ONE),
    Param("tweedie_variance_power", "float", Interval(min_open=1, max_open=2)),
    Param("objective", "cat", Choices(tables.OBJECTIVES), deps=("num_class",), check=(_objective,)),
    Param("num_class", "int", _AT_LEAST_2),
    Param("base_score", "float", _AT_LEAST_0),
    Param("_kfold", "int", _AT_LEAST_2, since="1.2-2"),
    Param("_num_cv_round", "int", _AT_LEAST_1, since="1.2-2"),
    Param("_tuning_objective_metric", "cat", Choices(tables.prefixed("validation:", tables.EVAL_METRICS))),
    Param(
        "eval_metric",
        "list",
        Choices(tables.EVAL_METRICS, (_eval_metric_range,)),
        deps=("objective",),
        check=(Item(_eval_metric_auc, until="1.2-1"), Item(_eval_metric, since="1.2-1")),
    ),
    Param("seed", "int", Interval(min_open=-(2**31), max_open=2**31 - 1)),
    Param("num_parallel_tree", "int", _AT_LEAST_1, since="0.90-2"),
    Param("save_model_on_termination", "cat", _TRUE_FALSE, since="1.0-1", default="false"),
    Param("aft_loss_distribution", "cat", Choices(["normal", "logistic", "extreme"]), since="1.2-1"),
    Param("aft_loss_distribution_scale", "float", _AT_LEAST_0, since="1.2-1"),
    Param("single_precision_histogram", "cat", _TRUE_FALSE, since="1.2-1", until="1.7-1"),
    Param("deterministic_histogram", "cat", _TRUE_FALSE, since="1.2-1"),
    Param("sampling_method", "cat", Choices(["uniform", "gradient_based"]), since="1.3-1"),
    Param("prob_buffer_row", "int", Interval(min_open=1.0), since="1.3-1"),
    Param("use_dask_gpu_training", "cat", _TRUE_FALSE, since="1.5-1", default="false"),
)
PARAMS_BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}
