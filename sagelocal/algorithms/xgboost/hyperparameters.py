"""Hyperparameter validation as each image version does it (reference §6).

The open-source images (0.90-1 … 3.0-5) validate with sagemaker_algorithm_toolkit: aliases, the required
check, parsing in the user's key order (an unknown key is rejected), range checks, then dependency checks in
topological order. Each image has its own parameter, objective and metric lists; :func:`_spec_table` builds
the table of one version. The legacy 0.72 image (version ``1``) checks a fixed list of parameters in a fixed
order, with its own wording, and silently ignores keys it does not know (:func:`_validate_legacy`).

:func:`training_config` turns validated values into what ``xgb.train`` of the installed XGBoost 3 accepts.
Parameters that XGBoost 3 no longer has are mapped or dropped, and each mapping is recorded in
``TrainingConfig.compat_notes``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sagelocal.algorithms.xgboost.errors import AlgorithmError, UserError
from sagelocal.algorithms.xgboost.versions import ImageVersion


@dataclass
class TrainingConfig:
    """What training needs, split out of the validated hyperparameters."""

    num_round: int
    xgb_params: dict[str, Any]  # passed to xgb.train(params=…): SageMaker-only keys and eval_metric removed
    eval_metrics: list[str] = field(
        default_factory=list
    )  # as given; may include container metrics (accuracy…)
    early_stopping_rounds: int | None = None
    csv_weights: bool = False
    save_model_on_termination: bool = False
    tuning_objective_metric: str | None = None
    kfold: int | None = None
    num_cv_round: int | None = None
    nfold: int | None = None  # 1.2-1 only: ``_nfold`` ran ``xgb.cv`` (replaced by ``_kfold`` in 1.2-2)
    use_dask_gpu_training: bool = False
    silent: int | None = None  # 0.72 … 1.0-1; 0.72 with silent=1 prints no XGBoost C++ lines
    compat_notes: list[str] = field(
        default_factory=list
    )  # how the params were adapted to the installed XGBoost 3


# ----------------------------------------------------------------------------------------------------
# Ranges, printed the way the toolkit prints them in messages.


@dataclass(frozen=True)
class Interval:
    """A numeric range: ``[1, +inf)``, ``(0, 1]``, ``(-2147483648, 2147483647)`` …"""

    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __str__(self) -> str:
        if self.min_open is not None:
            low = f"({self.min_open}, "
        elif self.min_closed is not None:
            low = f"[{self.min_closed}, "
        else:
            low = "(-inf, "
        if self.max_open is not None:
            high = f"{self.max_open})"
        elif self.max_closed is not None:
            high = f"{self.max_closed}]"
        else:
            high = "+inf)"
        return low + high

    def __contains__(self, value: Any) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )


class Choices:
    """A list of allowed values, printed as a Python list. ``check`` replaces the plain membership test
    (and may raise a more specific UserError), as the toolkit's ``range_validator`` does."""

    def __init__(self, values: Sequence[Any], check: Callable[[Any], bool] | None = None) -> None:
        self.values = list(values)
        self.check = check

    def __str__(self) -> str:
        return str(self.values)

    def __contains__(self, value: Any) -> bool:
        if self.check is not None:
            return self.check(value)
        return value in self.values


Kind = Literal["int", "float", "cat", "list", "nested", "tuple"]
DependencyCheck = Callable[[Any, dict[str, Any]], None]


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    range: Interval | Choices
    deps: tuple[str, ...] = ()
    check: DependencyCheck | None = None
    required: bool = False

    def parse(self, raw: Any) -> Any:
        if self.kind == "int":
            return int(raw)
        if self.kind == "float":
            return float(raw)
        if self.kind == "list":
            return raw.split(",")
        if self.kind in ("nested", "tuple"):
            # The images use ast.literal_eval (nested lists) and eval (tuples); literal_eval is the safe
            # equivalent.
            return ast.literal_eval(raw) if isinstance(raw, str) else raw
        return raw

    def validate_range(self, value: Any) -> None:
        rng = self.range
        if self.kind == "list":
            # a list comprehension, as upstream: every item is checked, so a validator error on a later
            # item wins
            if any([v not in rng for v in value]):
                raise UserError(f"Hyperparameter {self.name}: value {value} not in range {rng}")
        elif self.kind == "nested":
            if any([element not in rng for outer in value for element in outer]):
                raise UserError(f"Hyperparameter {self.name}: value {value} not in range {rng}")
        elif self.kind == "tuple":
            if any([element not in rng for element in value]):
                raise UserError(f"Hyperparameter {self.name}: value {value} not in range {rng}")
        elif value not in rng:
            raise UserError(f"Hyperparameter {self.name}: {value} is not in {rng}")


# ----------------------------------------------------------------------------------------------------
# Per-version facts (``constants/xgb_constants.py`` and ``algorithm_mode/hyperparameter_validation.py``
# of each branch).


def metric_lists(version: ImageVersion) -> tuple[list[str], list[str]]:
    """(maximized, minimized) metric names the version's ``eval_metric`` accepts, in the image's order."""
    if version.at_least("1.3-1"):
        return (
            [
                "accuracy",
                "auc",
                "aucpr",
                "balanced_accuracy",
                "f1",
                "f1_binary",
                "f1_macro",
                "map",
                "ndcg",
                "precision",
                "r2",
                "recall",
                "precision_macro",
                "precision_micro",
                "recall_macro",
                "recall_micro",
            ],
            [
                "aft-nloglik",
                "cox-nloglik",
                "error",
                "gamma-deviance",
                "gamma-nloglik",
                "interval-regression-accuracy",
                "logloss",
                "mae",
                "mape",
                "merror",
                "mlogloss",
                "mphe",
                "mse",
                "poisson-nloglik",
                "rmse",
                "rmsle",
                "tweedie-nloglik",
            ],
        )
    if version.at_least("1.2-1"):
        maximize = ["accuracy", "auc", "aucpr", "f1", "map", "ndcg", "r2"]
        if version.at_least("1.2-2"):
            maximize = ["accuracy", "auc", "aucpr", "f1", "f1_binary", "f1_macro", "map", "ndcg", "r2"]
        return (
            maximize,
            [
                "aft-nloglik",
                "cox-nloglik",
                "error",
                "gamma-deviance",
                "gamma-nloglik",
                "interval-regression-accuracy",
                "logloss",
                "mae",
                "merror",
                "mlogloss",
                "mphe",
                "mse",
                "poisson-nloglik",
                "rmse",
                "rmsle",
                "tweedie-nloglik",
            ],
        )
    if version.at_least("1.0-1"):
        return (
            ["accuracy", "auc", "aucpr", "f1", "map", "ndcg"],
            [
                "cox-nloglik",
                "error",
                "gamma-deviance",
                "gamma-nloglik",
                "logloss",
                "mae",
                "merror",
                "mlogloss",
                "mse",
                "poisson-nloglik",
                "rmse",
                "rmsle",
                "tweedie-nloglik",
            ],
        )
    return (
        [
            "accuracy",
            "auc",
            "aucpr",
            "cox-nloglik",
            "f1",
            "gamma-nloglik",
            "map",
            "ndcg",
            "poisson-nloglik",
            "tweedie-nloglik",
        ],
        ["error", "gamma-deviance", "logloss", "mae", "merror", "mlogloss", "mse", "rmse"],
    )


def objectives(version: ImageVersion) -> list[str]:
    """The ``objective`` values the version accepts, in the image's order."""
    if version.legacy:
        return list(_LEGACY_OBJECTIVES)
    if not version.at_least("1.2-1"):
        names = [
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
            "reg:tweedie",
            "survival:cox",
        ]
        if version.at_least("1.0-1"):
            names.insert(names.index("reg:tweedie"), "reg:squaredlogerror")
        return names
    names = [
        "aft_loss_distribution",
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
        "reg:pseudohubererror",
        "reg:squaredlogerror",
        "reg:tweedie",
        "survival:aft",
        "survival:cox",
    ]
    if version.at_least("1.7-1"):
        names.insert(names.index("reg:tweedie"), "reg:absoluteerror")
    return names


ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}

# Keys the container handles itself; never passed to xgb.train.
SAGEMAKER_ONLY = (
    "num_round",
    "csv_weights",
    "early_stopping_rounds",
    "save_model_on_termination",
    "_kfold",
    "_num_cv_round",
    "_nfold",
    "_tuning_objective_metric",
    "use_dask_gpu_training",
    "eval_metric",
)

EVAL_METRIC_WITHOUT_OBJECTIVE = (
    "Hyperparameter eval_metric requires the objective hyperparameter to be set "
    "(the real image fails here with a bare KeyError: 'objective')."
)


def _updater_rules(version: ImageVersion) -> tuple[list[str], DependencyCheck]:
    """The ``updater`` range list and its dependency check (booster / process_type) for a version."""
    local = not version.at_least("1.7-1")  # grow_local_histmaker is gone from 1.7-1
    quantile = version.at_least("1.0-1")
    rng = [
        "grow_colmaker",
        "distcol",
        "grow_histmaker",
        "grow_local_histmaker",
        "grow_skmaker",
        "sync",
        "refresh",
        "prune",
        "grow_colmaker",
        "distcol",
        "grow_histmaker",
        "grow_local_histmaker",
        "grow_colmaker",
        "shotgun",
        "coord_descent",
        "refresh",
        "prune",
    ]
    tree = [
        "grow_colmaker",
        "distcol",
        "grow_histmaker",
        "grow_local_histmaker",
        "grow_skmaker",
        "sync",
        "refresh",
        "prune",
    ]
    build = ["grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker", "grow_colmaker"]
    if quantile:
        tree.append("grow_quantile_histmaker")
        build.append("grow_quantile_histmaker")
    if not local:
        rng = [u for u in rng if u != "grow_local_histmaker"]
        tree = [u for u in tree if u != "grow_local_histmaker"]
        build = [u for u in build if u != "grow_local_histmaker"]
    listed = ["'grow_colmaker'", "'distcol'", "'grow_histmaker'"]
    if local:
        listed.append("'grow_local_histmaker'")
    listed.append("'grow_skmaker'")
    tree_message = (
        "Tree updater should be selected from these options: "
        + ", ".join(listed + (["'grow_quantile_histmaker'"] if quantile else []))
        + ", 'sync', 'refresh', 'prune', 'shortgun', 'coord_descent'."
    )
    # (sic) "from thefollowing": the image's string concatenation has no space there.
    one_message = "Only one tree grow plugin can be selected. Choose one from thefollowing: " + ", ".join(
        listed
    )

    def check(value: list[str], deps: dict[str, Any]) -> None:
        if deps.get("booster") == "gblinear":
            if not (len(value) == 1 and value[0] in ("shotgun", "coord_descent")):
                # The image formats a generator object here and prints its repr character by character;
                # sagelocal prints the intended list instead.
                raise UserError("Linear updater should be one of these options: 'shotgun', 'coord_descent'.")
        elif deps.get("process_type") == "update":
            if not all(x in ("refresh", "prune") for x in value):
                raise UserError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
        else:
            if not all(x in tree for x in value):
                raise UserError(tree_message)
            if sum(1 for x in value if x in build) > 1:
                raise UserError(one_message)

    return rng, check


@functools.cache
def _spec_table(version: ImageVersion) -> dict[str, Param]:
    """The parameter table of an open-source image version, keyed by canonical name."""
    at = version.at_least
    maximize, minimize = metric_lists(version)
    gpu = at("1.2-1")  # first GPU images

    def no_gpu(categories: list[str]) -> Callable[[Any], bool]:
        def contains(value: Any) -> bool:
            if not gpu and "gpu" in value:
                raise UserError("GPU training is not supported yet.")
            return value in categories

        return contains

    tree_methods = ["auto", "exact", "approx", "hist"] + (["gpu_hist"] if gpu else [])
    predictors = ["auto", "cpu_predictor", "gpu_predictor"] if gpu else ["cpu_predictor"]

    def objective_check(value: Any, deps: dict[str, Any]) -> None:
        if value in ("multi:softmax", "multi:softprob") and deps.get("num_class") is None:
            raise UserError("Require input for parameter 'num_class' for multi-classification")

    metrics = maximize + minimize

    def eval_metric_contains(metric: str) -> bool:
        if "<function" in metric:
            raise UserError(f"User defined evaluation metric {metric} is not supported yet.")
        if "@" in metric:
            name, threshold = metric.split("@")[0].strip(), metric.split("@")[1].strip()
            if name not in ("error", "ndcg", "map"):
                raise UserError(
                    f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold "
                    "should be one of these options: 'error', 'ndcg', 'map'."
                )
            try:
                float(threshold)
            except ValueError:
                raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None
            return True
        return metric in metrics

    def eval_metric_check(value: list[str], deps: dict[str, Any]) -> None:
        # 1.2-1+ reads the objective first; before, only when 'auc' is asked for. Either way the image crashes
        # with KeyError when no objective is set.
        if (at("1.2-1") or "auc" in value) and "objective" not in deps:
            raise UserError(EVAL_METRIC_WITHOUT_OBJECTIVE)
        objective = deps.get("objective", "")
        if "auc" in value and not any(objective.startswith(p) for p in ("binary:", "rank:")):
            raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
        if at("1.2-1") and "aft-nloglik" in value and objective != "survival:aft":
            raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")

    def monotone_check(value: Any, deps: dict[str, Any]) -> None:
        if value is not None and deps.get("tree_method") not in ("exact", "hist"):
            raise UserError(
                "monotone_constraints can be used only when the tree_method parameter is set to "
                "either 'exact' or 'hist'."
            )

    def interaction_check(value: Any, deps: dict[str, Any]) -> None:
        if value is not None and deps.get("tree_method") not in ("exact", "hist", "approx"):
            raise UserError(
                "interaction_constraints can be used only when the tree_method parameter is set to "
                "either 'exact', 'hist' or 'approx'."
            )

    updater_range, updater_check = _updater_rules(version)
    true_false = Choices(["true", "false"])
    zero_one = Interval(min_closed=0, max_closed=1)
    at_least_0 = Interval(min_closed=0)
    at_least_1 = Interval(min_closed=1)
    fraction = Interval(min_open=0, max_closed=1)

    params: list[tuple[Param, bool]] = [
        (Param("num_round", "int", at_least_1, required=True), True),
        (Param("csv_weights", "int", zero_one), True),
        (Param("early_stopping_rounds", "int", at_least_1), True),
        (Param("booster", "cat", Choices(["gbtree", "gblinear", "dart"])), True),
        (Param("silent", "int", zero_one), not at("1.2-1")),
        (Param("verbosity", "int", Interval(min_closed=0, max_closed=3)), True),
        (Param("_nfold", "int", Interval(min_closed=2)), at("1.2-1") and not at("1.2-2")),
        (Param("nthread", "int", at_least_1), True),
        (Param("eta", "float", zero_one), True),
        (Param("gamma", "float", at_least_0), True),
        (Param("max_depth", "int", at_least_0), True),
        (Param("min_child_weight", "float", at_least_0), True),
        (Param("max_delta_step", "float", at_least_0), True),
        (Param("subsample", "float", fraction), True),
        (Param("colsample_bytree", "float", fraction), True),
        (Param("colsample_bylevel", "float", fraction), True),
        (Param("colsample_bynode", "float", fraction), True),
        (Param("lambda", "float", at_least_0), True),
        (Param("alpha", "float", at_least_0), True),
        (Param("tree_method", "cat", Choices(tree_methods, no_gpu(tree_methods))), True),
        (Param("sketch_eps", "float", Interval(min_open=0, max_open=1)), True),
        (Param("scale_pos_weight", "float", Interval(min_open=0)), True),
        (Param("updater", "list", Choices(updater_range), ("booster", "process_type"), updater_check), True),
        (Param("dsplit", "cat", Choices(["row", "col"])), True),
        (Param("refresh_leaf", "int", zero_one), True),
        (Param("process_type", "cat", Choices(["default", "update"])), True),
        (Param("grow_policy", "cat", Choices(["depthwise", "lossguide"])), True),
        (Param("max_leaves", "int", at_least_0), True),
        (Param("max_bin", "int", at_least_0), True),
        (Param("predictor", "cat", Choices(predictors, no_gpu(predictors))), True),
        (
            Param("monotone_constraints", "tuple", Choices([-1, 0, 1]), ("tree_method",), monotone_check),
            at("1.0-1"),
        ),
        # (sic) feature indices must be >= 1 here: the image's range is Interval(min_closed=1).
        (
            Param("interaction_constraints", "nested", at_least_1, ("tree_method",), interaction_check),
            at("1.0-1"),
        ),
        (Param("sample_type", "cat", Choices(["uniform", "weighted"])), True),
        (Param("normalize_type", "cat", Choices(["tree", "forest"])), True),
        (Param("rate_drop", "float", zero_one), True),
        (Param("one_drop", "int", zero_one), True),
        (Param("skip_drop", "float", zero_one), True),
        (Param("lambda_bias", "float", zero_one), True),
        (Param("tweedie_variance_power", "float", Interval(min_open=1, max_open=2)), True),
        (Param("objective", "cat", Choices(objectives(version)), ("num_class",), objective_check), True),
        (Param("num_class", "int", Interval(min_closed=2)), True),
        (Param("base_score", "float", at_least_0), True),
        (Param("_kfold", "int", Interval(min_closed=2)), at("1.2-2")),
        (Param("_num_cv_round", "int", at_least_1), at("1.2-2")),
        (Param("_tuning_objective_metric", "cat", Choices([f"validation:{m}" for m in metrics])), True),
        (
            Param(
                "eval_metric",
                "list",
                Choices(metrics, eval_metric_contains),
                ("objective",),
                eval_metric_check,
            ),
            True,
        ),
        (Param("seed", "int", Interval(min_open=-(2**31), max_open=2**31 - 1)), True),
        (Param("num_parallel_tree", "int", at_least_1), at("0.90-2")),
        (Param("save_model_on_termination", "cat", true_false), at("1.0-1")),
        (Param("aft_loss_distribution", "cat", Choices(["normal", "logistic", "extreme"])), at("1.2-1")),
        (Param("aft_loss_distribution_scale", "float", at_least_0), at("1.2-1")),
        (Param("single_precision_histogram", "cat", true_false), at("1.2-1") and not at("1.7-1")),
        (Param("deterministic_histogram", "cat", true_false), at("1.2-1")),
        (Param("sampling_method", "cat", Choices(["uniform", "gradient_based"])), at("1.3-1")),
        (Param("prob_buffer_row", "int", Interval(min_open=1.0)), at("1.3-1")),
        (Param("use_dask_gpu_training", "cat", true_false), at("1.5-1")),
    ]
    return {p.name: p for p, present in params if present}


def parameter_names(version: ImageVersion) -> list[str]:
    """The hyperparameter names a version accepts (canonical names; aliases from 0.90-2 on are extra)."""
    if version.legacy:
        return [name for name, *_ in _LEGACY_RULES] + ["num_round", "early_stopping_rounds", "csv_weights"]
    return list(_spec_table(version))


# ----------------------------------------------------------------------------------------------------
# Validation, open-source images.


def _caused_by(message: str, exc: BaseException) -> str:
    return f"{message} (caused by {exc.__class__.__name__})"


def _dependency_order(names: Sequence[str], table: Mapping[str, Param]) -> list[str]:
    """The order the toolkit checks dependencies in: a depth-first post-order over the user's keys, so a
    parameter's dependencies (when given) are validated before it."""
    visited = dict.fromkeys(names, False)
    order: list[str] = []

    def visit(name: str) -> None:
        visited[name] = True
        for dep in table[name].deps:
            if dep in visited and not visited[dep]:
                visit(dep)
        order.append(name)

    for name in names:
        if not visited[name]:
            visit(name)
    return order


def _validate_toolkit(raw: Mapping[str, Any], version: ImageVersion) -> dict[str, Any]:
    table = _spec_table(version)
    # 0. aliases (0.90-2+); a later key overwrites an earlier one, at the earlier one's position
    user: dict[str, Any] = {}
    for key, value in raw.items():
        if version.at_least("0.90-2"):
            key = ALIASES.get(key, key)
        user[key] = value
    # 1. required
    for name, param in table.items():
        if param.required and name not in user:
            raise UserError(f"Missing required hyperparameter: {name}")
    # 2. parse, in the user's key order
    parsed: dict[str, Any] = {}
    for key, value in user.items():
        param = table.get(key)
        if param is None:
            raise UserError(f"Extraneous hyperparameter found: {key}")
        try:
            parsed[key] = param.parse(value)
        except ValueError as e:
            raise UserError(_caused_by(f"Hyperparameter {key}: could not parse value", e)) from e
        except (SyntaxError, TypeError, MemoryError, RecursionError) as e:
            # The image lets these escape as a bare exception (eval/literal_eval of a malformed tuple or
            # list).
            raise UserError(_caused_by(f"Hyperparameter {key}: could not parse value", e)) from e
    # 3. ranges
    for key, value in parsed.items():
        try:
            table[key].validate_range(value)
        except UserError:
            raise
        except Exception as e:
            raise AlgorithmError(
                _caused_by(f"Hyperparameter {key}: unexpected failure when validating {value}", e)
            ) from e
    # 4. dependencies
    validated: dict[str, Any] = {}
    for key in _dependency_order(list(parsed), table):
        param = table[key]
        if param.check is not None:
            deps = {d: validated[d] for d in param.deps if d in validated}
            param.check(parsed[key], deps)
        validated[key] = parsed[key]
    return validated


def validate_hyperparameters(raw: Mapping[str, str], version: ImageVersion) -> dict[str, Any]:
    """Validate ``hyperparameters.json`` (all values strings) as ``version``'s image does. Returns the parsed
    values keyed by canonical name (aliases resolved). Raises UserError with the image's exact message."""
    if version.legacy:
        return _validate_legacy(raw)
    return _validate_toolkit(raw, version)


# ----------------------------------------------------------------------------------------------------
# Validation, legacy 0.72 image (``xgboost:1``), after train_helper.get_params / train_job of commit b72aee2.

_LEGACY_OBJECTIVES = (
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
_LEGACY_METRICS = (
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
_LEGACY_AUC_OBJECTIVES = (
    "binary:logistic",
    "binary:logitraw",
    "multi:softmax",
    "multi:softprob",
    "reg:logistic",
    "rank:pairwise",
    "binary:hinge",
)
_LEGACY_TUNABLE = ("rmse", "mae", "logloss", "error", "merror", "mlogloss", "auc", "ndcg", "map")
_LEGACY_LINEAR = "Linear updater should be one of these options: 'shotgun', 'coor_descent'."  # (sic)
_LEGACY_UPDATE = "process_type 'update' can only be used with updater 'refresh' and 'prune'"


def _options(name: str, values: Sequence[str]) -> str:
    return f"Parameter '{name}' should be one of these options: " + ", ".join(f"'{v}'" for v in values) + "."


def _ge0(name: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda x: x < 0), f"Parameter '{name}' should be greater than or equal to 0."


def _unit(name: str, text: str, bad: Callable[[Any], bool]) -> tuple[Callable[[Any], bool], str]:
    return bad, f"Parameter '{name}' should be in range {text}."


def _closed01(x: float) -> bool:
    return x > 1 or x < 0


def _half_open01(x: float) -> bool:
    return x <= 0 or x > 1


# (name, kind, bad-value test, message); kind "special" is handled in _validate_legacy. The checks compare
# with # "bad" conditions as the image does, so NaN passes every range check.
_LegacyRule = tuple[str, str, Callable[[Any], bool] | None, str | None]
_LEGACY_RULES: list[_LegacyRule] = [
    ("booster", "special", None, None),
    ("silent", "int", lambda x: x not in (0, 1), "Parameter 'silent' should be either '0' or '1'."),
    ("nthread", "int", lambda x: x < 1, "Parameter 'nthread' should be greater or equal to 1."),
    ("eta", "float", *_unit("eta", "[0,1]", _closed01)),
    ("gamma", "float", *_ge0("gamma")),
    ("max_depth", "int", *_ge0("max_depth")),
    ("min_child_weight", "float", *_ge0("min_child_weight")),
    ("max_delta_step", "float", *_ge0("max_delta_step")),
    ("subsample", "float", *_unit("subsample", "(0,1]", _half_open01)),
    ("colsample_bytree", "float", *_unit("colsample_bytree", "(0,1]", _half_open01)),
    ("colsample_bylevel", "float", *_unit("colsample_bylevel", "(0,1]", _half_open01)),
    ("lambda", "float", None, None),
    ("alpha", "float", None, None),
    ("tree_method", "special", None, None),
    ("sketch_eps", "float", *_unit("sketch_eps", "(0,1)", lambda x: x <= 0 or x >= 1)),
    ("scale_pos_weight", "float", None, None),
    ("updater", "special", None, None),
    ("dsplit", "cat", None, _options("dsplit", ["row", "col"])),
    ("prob_buffer_row", "float", None, None),
    (
        "refresh_leaf",
        "int",
        lambda x: x not in (0, 1),
        "Parameter 'refresh_leaf' should be either '0' or '1'.",
    ),
    ("process_type", "special", None, None),
    ("grow_policy", "cat", None, _options("grow_policy", ["depthwise", "lossguide"])),
    ("max_leaves", "int", None, None),
    (
        "max_bins",
        "int",
        None,
        None,
    ),  # (sic) XGBoost's name is max_bin; the image passes max_bins, which is unused
    ("predictor", "special", None, None),
    ("sample_type", "cat", None, _options("sample_type", ["uniform", "weighted"])),
    ("normalize_type", "cat", None, _options("normalize_type", ["tree", "forest"])),
    ("rate_drop", "float", *_unit("rate_drop", "[0,1]", _closed01)),
    ("one_drop", "int", lambda x: x not in (0, 1), "Parameter 'one_drop' should be either 0 or 1."),
    ("skip_drop", "float", *_unit("skip_drop", "[0,1]", _closed01)),
    ("lambda_bias", "float", None, None),
    (
        "tweedie_variance_power",
        "float",
        *_unit("tweedie_variance_power", "(1,2)", lambda x: x <= 1 or x >= 2),
    ),
    ("objective", "special", None, None),
    ("num_class", "special", None, None),
    ("base_score", "float", None, None),
    ("_tuning_objective_metric", "raw", None, None),
    ("eval_metric", "special", None, None),
    ("seed", "int", None, None),
]

_LEGACY_CATEGORIES = {
    "dsplit": ("row", "col"),
    "grow_policy": ("depthwise", "lossguide"),
    "sample_type": ("uniform", "weighted"),
    "normalize_type": ("tree", "forest"),
}


def _legacy_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (ValueError, TypeError):
        raise UserError(f"Parameter {name} expects integer input.") from None


def _legacy_float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (ValueError, TypeError):
        raise UserError(f"Parameter {name} expects float input.") from None


def _legacy_updater(cfg: Mapping[str, Any]) -> str:
    value = cfg["updater"]
    if "[" in value or "]" in value:
        raise UserError("Do not expect bracket for input value of 'updater'. Use format as 'A,B,C...'.")
    items = value.split(",")
    tree = (
        "grow_colmaker",
        "distcol",
        "grow_histmaker",
        "grow_local_histmaker",
        "grow_skmaker",
        "sync",
        "refresh",
        "prune",
    )
    build = ("grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker")
    if cfg.get("booster") == "gblinear":
        if not (len(items) == 1 and items[0] in ("shotgun", "coord_descent")):
            raise UserError(_LEGACY_LINEAR)
    elif cfg.get("process_type") == "update":
        if not all(x in ("refresh", "prune") for x in items):
            raise UserError(_LEGACY_UPDATE)
    else:
        if not all(x in tree for x in items):
            raise UserError(
                "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', "
                "'grow_histmaker', 'grow_local_histmaker', 'grow_skmaker', 'sync', 'refresh', 'prune', "
                "'shortgun', 'coord_descent'."
            )
        if sum(1 for x in items if x in build) > 1:
            raise UserError(
                "Only one tree grow plugin can be selected. Choose one from thefollowing: 'grow_colmaker', "
                "'distcol', 'grow_histmaker', 'grow_local_histmaker', 'grow_skmaker'"
            )
    return value


def _legacy_eval_metric(cfg: Mapping[str, Any]) -> list[str]:
    value = cfg["eval_metric"]
    if "[" in value or "]" in value:
        raise UserError("Do not expect bracket for input value of 'eval_metric'. Use format as 'A,B,C...'.")
    metrics = value.split(",")
    for metric in metrics:
        if metric == "auc" and cfg.get("objective") not in _LEGACY_AUC_OBJECTIVES:
            raise UserError("Metric 'auc' can only be applied for classification and ranking problem.")
        if "<function" in metric:
            raise UserError(f"User defined evaluation metric {metric} is not supported yet.")
        if "@" not in metric and metric not in _LEGACY_METRICS:
            raise UserError(
                f"Metric '{metric}' is not supported. Parameter 'eval_metric' should be one of these options:"
                + ", ".join(f"'{m}'" for m in _LEGACY_METRICS)
                + "."
            )
        if "@" in metric:
            name, threshold = metric.split("@")[0].strip(), metric.split("@")[1].strip()
            if name not in ("error", "ndcg", "map"):
                raise UserError(
                    f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold "
                    "should be one of these options: 'error', 'ndcg', 'map'."
                )
            _legacy_threshold(threshold, name)
    return metrics


def _legacy_threshold(threshold: str, name: str) -> None:
    try:
        float(threshold)
    except ValueError:
        raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None


def _legacy_special(name: str, cfg: Mapping[str, Any]) -> Any:
    value = cfg[name]
    if name == "booster":
        if value not in ("gbtree", "gblinear", "dart"):
            raise UserError(_options("booster", ["gbtree", "gblinear", "dart"]))
        if value == "gblinear" and "updater" not in cfg:
            raise UserError(_LEGACY_LINEAR)
        return value
    if name == "tree_method":
        if "gpu" in value:
            raise UserError("GPU training is not supported yet.")
        if value not in ("auto", "exact", "approx", "hist"):
            raise UserError(_options("tree_method", ["auto", "exact", "approx", "hist"]))
        return value
    if name == "updater":
        return _legacy_updater(cfg)
    if name == "process_type":
        if value not in ("default", "update"):
            raise UserError(_options("process_type", ["default", "update"]))
        if value == "update" and "updater" not in cfg:
            raise UserError(_LEGACY_UPDATE)
        return value
    if name == "predictor":
        if "gpu" in value:
            raise UserError("GPU training is not supported yet.")
        if value not in ("cpu_predictor", "gpu_predictor"):
            raise UserError(_options("predictor", ["cpu_predictor"]))
        return value
    if name == "objective":
        if value not in _LEGACY_OBJECTIVES:
            raise UserError(_options("objective", _LEGACY_OBJECTIVES))
        if value in ("multi:softmax", "multi:softprob") and "num_class" not in cfg:
            raise UserError("Require input for parameter 'num_class' for multi classification.")
        return value
    if name == "num_class":
        if cfg.get("objective") not in ("multi:softmax", "multi:softprob"):
            raise UserError(
                "Do not need to setup parameter 'num_class' for learning task other than multi "
                "classification."
            )
        num_class = _legacy_int(value, "num_class")
        if num_class < 2:
            raise UserError("Parameter 'num_class' should be greater or equal to 2.")
        return num_class
    return _legacy_eval_metric(cfg)


def _legacy_tuning_metric(metric: str) -> None:
    """XGBoostPerformanceMetrics.validate_objective_metric, run after the num_round checks."""
    if not metric:
        return
    parts = metric.split(":")
    if len(parts) < 2 or len(parts) > 3:
        raise UserError(
            f"Expected encoded metric string to have 2 or 3 components separated by :. Got {metric}."
        )
    segment, name = parts[0], parts[1]
    if segment not in ("train", "validation"):
        # The image also raises this when the segment's channel is missing from inputdataconfig.json;
        # sagelocal checks only the segment name here (channels are validated separately).
        raise UserError(
            f"Objective metric {metric} is reported on the {segment} data segment. Data channel {segment} "
            "is not provided. Please consider adding it to InputDataConfig and try again."
        )
    if name not in _LEGACY_TUNABLE:
        raise UserError(
            f"The metric {metric} is not a supported metric. Please set a valid objective metric name "
            "and retry."
        )


def _validate_legacy(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The 0.72 image: known keys are checked in its fixed order; unknown keys are ignored (they never
    reach XGBoost)."""
    out: dict[str, Any] = {}
    for name, kind, bad, message in _LEGACY_RULES:
        if name not in cfg:
            continue
        value = cfg[name]
        if kind == "special":
            out[name] = _legacy_special(name, cfg)
            continue
        if kind == "cat":
            if value not in _LEGACY_CATEGORIES[name]:
                raise UserError(message or "")
            parsed: Any = value
        elif kind == "int":
            parsed = _legacy_int(value, name)
        elif kind == "float":
            parsed = _legacy_float(value, name)
        else:
            parsed = value
        if bad is not None and bad(parsed):
            raise UserError(message or "")
        out[name] = parsed
    if cfg.get("num_round") is None:
        raise UserError("Require input for parameter num_round")
    if cfg.get("early_stopping_rounds") is not None:
        out["early_stopping_rounds"] = _legacy_int(cfg["early_stopping_rounds"], "early_stopping_rounds")
    out["num_round"] = _legacy_int(cfg["num_round"], "num_round")
    if cfg.get("csv_weights") is not None:
        csv_weights = _legacy_int(cfg["csv_weights"], "csv_weights")
        if csv_weights not in (0, 1):
            raise UserError("Parameter 'csv_weights' should be either '0' or '1'.")
        out["csv_weights"] = csv_weights
    if out.get("_tuning_objective_metric") is not None:
        _legacy_tuning_metric(out["_tuning_objective_metric"])
    return out


# ----------------------------------------------------------------------------------------------------
# From validated values to xgb.train on the installed XGBoost 3.

# Parameters the image passes to XGBoost that XGBoost 3 no longer has; XGBoost 3 would only warn
# "Parameters: { … } are not used", so sagelocal leaves them out.
_GONE_IN_XGBOOST3 = {
    "predictor": "predictor was removed in XGBoost 2.0 (prediction follows 'device')",
    "single_precision_histogram": "single_precision_histogram was removed in XGBoost 2.0",
    "deterministic_histogram": "deterministic_histogram is not an XGBoost 3 parameter",
    "dsplit": "dsplit is not an XGBoost 3 parameter",
    "lambda_bias": "lambda_bias is not an XGBoost 3 parameter",
    "sketch_eps": "sketch_eps was removed in XGBoost 2.0 (approx uses max_bin)",
    "prob_buffer_row": "prob_buffer_row is not an XGBoost 3 parameter",
    "max_bins": "max_bins (sic) is not an XGBoost parameter; the 0.72 image passed it and XGBoost ignored it",
}
# Tree updaters that XGBoost 3 no longer knows ("Unknown tree updater"), and the closest one it has.
_UPDATER_MAP = {
    "distcol": "grow_colmaker",
    "grow_skmaker": "grow_histmaker",
    "grow_local_histmaker": "grow_histmaker",
}


def _format_monotone(value: Any) -> str:
    items = value if isinstance(value, list | tuple) else (value,)
    return "(" + ",".join(str(int(v)) for v in items) + ")"


def training_config(hyperparameters: Mapping[str, Any], version: ImageVersion) -> TrainingConfig:
    """Split validated hyperparameters into what xgb.train gets and what the container handles itself."""
    hps = dict(hyperparameters)
    notes: list[str] = []
    eval_metric = hps.get("eval_metric")
    config = TrainingConfig(
        num_round=int(hps["num_round"]),
        xgb_params={},
        eval_metrics=list(eval_metric) if eval_metric else [],
        early_stopping_rounds=hps.get("early_stopping_rounds"),
        csv_weights=hps.get("csv_weights", 0) == 1,
        save_model_on_termination=hps.get("save_model_on_termination", "false") == "true",
        tuning_objective_metric=hps.get("_tuning_objective_metric"),
        kfold=hps.get("_kfold"),
        num_cv_round=hps.get("_num_cv_round"),
        nfold=hps.get("_nfold"),
        use_dask_gpu_training=hps.get("use_dask_gpu_training", "false") == "true",
        silent=hps.get("silent"),
        compat_notes=notes,
    )

    params: dict[str, Any] = {}
    gpu_hist = False
    for key, value in hps.items():
        if key in SAGEMAKER_ONLY:
            continue
        if key == "silent":
            notes.append("silent was removed in XGBoost 1.0 and is not passed (it does not change training)")
            continue
        if key in _GONE_IN_XGBOOST3:
            notes.append(f"{_GONE_IN_XGBOOST3[key]}; not passed")
            continue
        if key == "tree_method" and value == "gpu_hist":
            gpu_hist = True
            notes.append(
                "tree_method 'gpu_hist' runs as 'hist' on the CPU (no GPU in sagelocal; XGBoost 3 "
                "replaced gpu_hist by device='cuda')"
            )
            value = "hist"
        elif key == "objective" and value == "reg:linear":
            notes.append(
                "objective 'reg:linear' runs as 'reg:squarederror' (renamed in XGBoost 0.90, same loss)"
            )
            value = "reg:squarederror"
        elif key == "updater":
            items = value.split(",") if isinstance(value, str) else list(value)
            mapped = [_UPDATER_MAP.get(u, u) for u in items]
            for old, new in zip(items, mapped, strict=True):
                if old != new:
                    notes.append(f"updater '{old}' runs as '{new}' (XGBoost 3 has no '{old}')")
            value = ",".join(mapped)
        elif key == "monotone_constraints":
            value = _format_monotone(value)
        elif key == "interaction_constraints":
            value = str(value)
        params[key] = value
    if gpu_hist and params.get("sampling_method") == "gradient_based":
        notes.append(
            "sampling_method 'gradient_based' needs a GPU; runs as 'uniform' with tree_method 'hist'"
        )
        params["sampling_method"] = "uniform"
    config.xgb_params = params
    return config
