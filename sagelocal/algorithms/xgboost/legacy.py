"""Hyperparameter validation of the legacy 0.72 image (``xgboost:1`` and ``:latest``, closed source).

After ``train_helper.get_params`` / ``train_job`` of the image (commit b72aee2): a fixed list of parameters is
checked in a fixed order with the image's own wording, and keys it does not know are silently ignored (they
never reach XGBoost). The name lists live in ``tables.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sagelocal.algorithms.xgboost import tables
from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.params import check_metric_threshold

_LINEAR = "Linear updater should be one of these options: 'shotgun', 'coor_descent'."  # (sic)
_UPDATE = "process_type 'update' can only be used with updater 'refresh' and 'prune'"


def _options(name: str, values: Sequence[str]) -> str:
    return f"Parameter '{name}' should be one of these options: " + ", ".join(f"'{v}'" for v in values) + "."


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (ValueError, TypeError):
        raise UserError(f"Parameter {name} expects integer input.") from None


def _float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (ValueError, TypeError):
        raise UserError(f"Parameter {name} expects float input.") from None


# ---- the parameters with their own logic: each gets every given value (some look at others)


def _booster(cfg: Mapping[str, Any]) -> Any:
    value = cfg["booster"]
    if value not in ("gbtree", "gblinear", "dart"):
        raise UserError(_options("booster", ["gbtree", "gblinear", "dart"]))
    if value == "gblinear" and "updater" not in cfg:
        raise UserError(_LINEAR)
    return value


def _tree_method(cfg: Mapping[str, Any]) -> Any:
    value = cfg["tree_method"]
    if "gpu" in value:
        raise UserError("GPU training is not supported yet.")
    if value not in tables.LEGACY_TREE_METHODS:
        raise UserError(_options("tree_method", tables.LEGACY_TREE_METHODS))
    return value


def _updater(cfg: Mapping[str, Any]) -> Any:
    value = cfg["updater"]
    if "[" in value or "]" in value:
        raise UserError("Do not expect bracket for input value of 'updater'. Use format as 'A,B,C...'.")
    items = value.split(",")
    if cfg.get("booster") == "gblinear":
        if not (len(items) == 1 and items[0] in tables.LINEAR_UPDATERS):
            raise UserError(_LINEAR)
    elif cfg.get("process_type") == "update":
        if not all(x in tables.UPDATE_UPDATERS for x in items):
            raise UserError(_UPDATE)
    else:
        tree = tables.LEGACY_TREE_UPDATERS
        if not all(x in tree for x in items):
            raise UserError(
                "Tree updater should be selected from these options: "
                + ", ".join(f"'{u}'" for u in tree)
                + ", 'shortgun', 'coord_descent'."
            )
        if sum(1 for x in items if x in tables.LEGACY_GROW_UPDATERS) > 1:
            raise UserError(
                "Only one tree grow plugin can be selected. Choose one from thefollowing: 'grow_colmaker', "
                "'distcol', 'grow_histmaker', 'grow_local_histmaker', 'grow_skmaker'"
            )
    return value


def _process_type(cfg: Mapping[str, Any]) -> Any:
    value = cfg["process_type"]
    if value not in ("default", "update"):
        raise UserError(_options("process_type", ["default", "update"]))
    if value == "update" and "updater" not in cfg:
        raise UserError(_UPDATE)
    return value


def _predictor(cfg: Mapping[str, Any]) -> Any:
    value = cfg["predictor"]
    if "gpu" in value:
        raise UserError("GPU training is not supported yet.")
    if value not in ("cpu_predictor", "gpu_predictor"):
        raise UserError(_options("predictor", ["cpu_predictor"]))
    return value


def _objective(cfg: Mapping[str, Any]) -> Any:
    value = cfg["objective"]
    if value not in tables.LEGACY_OBJECTIVES:
        raise UserError(_options("objective", tables.LEGACY_OBJECTIVES))
    if value in tables.MULTI_CLASS_OBJECTIVES and "num_class" not in cfg:
        raise UserError("Require input for parameter 'num_class' for multi classification.")
    return value


def _num_class(cfg: Mapping[str, Any]) -> Any:
    if cfg.get("objective") not in tables.MULTI_CLASS_OBJECTIVES:
        raise UserError(
            "Do not need to setup parameter 'num_class' for learning task other than multi classification."
        )
    num_class = _int(cfg["num_class"], "num_class")
    if num_class < 2:
        raise UserError("Parameter 'num_class' should be greater or equal to 2.")
    return num_class


def _eval_metric(cfg: Mapping[str, Any]) -> Any:
    value = cfg["eval_metric"]
    if "[" in value or "]" in value:
        raise UserError("Do not expect bracket for input value of 'eval_metric'. Use format as 'A,B,C...'.")
    metrics = value.split(",")
    for metric in metrics:
        if metric == "auc" and cfg.get("objective") not in tables.LEGACY_AUC_OBJECTIVES:
            raise UserError("Metric 'auc' can only be applied for classification and ranking problem.")
        if "<function" in metric:
            raise UserError(f"User defined evaluation metric {metric} is not supported yet.")
        if "@" not in metric and metric not in tables.LEGACY_METRICS:
            raise UserError(
                f"Metric '{metric}' is not supported. Parameter 'eval_metric' should be one of these options:"
                + ", ".join(f"'{m}'" for m in tables.LEGACY_METRICS)
                + "."
            )
        if "@" in metric:
            check_metric_threshold(metric)
    return metrics


def _tuning_metric(metric: str) -> None:
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
    if name not in tables.LEGACY_TUNABLE:
        raise UserError(
            f"The metric {metric} is not a supported metric. Please set a valid objective metric name "
            "and retry."
        )


# ---- the table


@dataclass(frozen=True)
class Rule:
    """One parameter of the image's ``get_params``: parsed as ``kind``, then rejected with ``message`` when
    ``bad`` holds (a "bad" test, as the image writes it, so NaN passes every range check). ``cat`` takes one
    of ``choices``; ``special`` hands all the values to ``special``."""

    name: str
    kind: Literal["int", "float", "cat", "raw", "special"]
    bad: Callable[[Any], bool] | None = None
    message: str = ""
    choices: tuple[str, ...] = ()
    special: Callable[[Mapping[str, Any]], Any] | None = None


def _at_least_0(name: str, kind: Literal["int", "float"]) -> Rule:
    return Rule(name, kind, lambda x: x < 0, f"Parameter '{name}' should be greater than or equal to 0.")


def _in(name: str, text: str, bad: Callable[[float], bool]) -> Rule:
    return Rule(name, "float", bad, f"Parameter '{name}' should be in range {text}.")


def _cat(name: str, *choices: str) -> Rule:
    return Rule(name, "cat", message=_options(name, choices), choices=choices)


def _closed01(x: float) -> bool:
    return x > 1 or x < 0


def _half_open01(x: float) -> bool:
    return x <= 0 or x > 1


#: In the image's order: the first failing parameter in this order is the one reported.
RULES: tuple[Rule, ...] = (
    Rule("booster", "special", special=_booster),
    Rule("silent", "int", lambda x: x not in (0, 1), "Parameter 'silent' should be either '0' or '1'."),
    Rule("nthread", "int", lambda x: x < 1, "Parameter 'nthread' should be greater or equal to 1."),
    _in("eta", "[0,1]", _closed01),
    _at_least_0("gamma", "float"),
    _at_least_0("max_depth", "int"),
    _at_least_0("min_child_weight", "float"),
    _at_least_0("max_delta_step", "float"),
    _in("subsample", "(0,1]", _half_open01),
    _in("colsample_bytree", "(0,1]", _half_open01),
    _in("colsample_bylevel", "(0,1]", _half_open01),
    Rule("lambda", "float"),
    Rule("alpha", "float"),
    Rule("tree_method", "special", special=_tree_method),
    _in("sketch_eps", "(0,1)", lambda x: x <= 0 or x >= 1),
    Rule("scale_pos_weight", "float"),
    Rule("updater", "special", special=_updater),
    _cat("dsplit", "row", "col"),
    Rule("prob_buffer_row", "float"),
    Rule(
        "refresh_leaf",
        "int",
        lambda x: x not in (0, 1),
        "Parameter 'refresh_leaf' should be either '0' or '1'.",
    ),
    Rule("process_type", "special", special=_process_type),
    _cat("grow_policy", "depthwise", "lossguide"),
    Rule("max_leaves", "int"),
    Rule("max_bins", "int"),  # (sic) XGBoost's name is max_bin; the image passes max_bins, which is unused
    Rule("predictor", "special", special=_predictor),
    _cat("sample_type", "uniform", "weighted"),
    _cat("normalize_type", "tree", "forest"),
    _in("rate_drop", "[0,1]", _closed01),
    Rule("one_drop", "int", lambda x: x not in (0, 1), "Parameter 'one_drop' should be either 0 or 1."),
    _in("skip_drop", "[0,1]", _closed01),
    Rule("lambda_bias", "float"),
    _in("tweedie_variance_power", "(1,2)", lambda x: x <= 1 or x >= 2),
    Rule("objective", "special", special=_objective),
    Rule("num_class", "special", special=_num_class),
    Rule("base_score", "float"),
    Rule("_tuning_objective_metric", "raw"),
    Rule("eval_metric", "special", special=_eval_metric),
    Rule("seed", "int"),
)
#: Checked by ``train_job`` after ``get_params``.
TRAINING_KEYS = ("num_round", "early_stopping_rounds", "csv_weights")


def validate(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Known keys are checked in the image's order; unknown keys are ignored."""
    out: dict[str, Any] = {}
    for rule in RULES:
        if rule.name not in cfg:
            continue
        value = cfg[rule.name]
        if rule.special is not None:
            out[rule.name] = rule.special(cfg)
            continue
        parsed: Any
        if rule.kind == "cat":
            if value not in rule.choices:
                raise UserError(rule.message)
            parsed = value
        elif rule.kind == "int":
            parsed = _int(value, rule.name)
        elif rule.kind == "float":
            parsed = _float(value, rule.name)
        else:
            parsed = value
        if rule.bad is not None and rule.bad(parsed):
            raise UserError(rule.message)
        out[rule.name] = parsed
    if cfg.get("num_round") is None:
        raise UserError("Require input for parameter num_round")
    if cfg.get("early_stopping_rounds") is not None:
        out["early_stopping_rounds"] = _int(cfg["early_stopping_rounds"], "early_stopping_rounds")
    out["num_round"] = _int(cfg["num_round"], "num_round")
    if cfg.get("csv_weights") is not None:
        csv_weights = _int(cfg["csv_weights"], "csv_weights")
        if csv_weights not in (0, 1):
            raise UserError("Parameter 'csv_weights' should be either '0' or '1'.")
        out["csv_weights"] = csv_weights
    if out.get("_tuning_objective_metric") is not None:
        _tuning_metric(out["_tuning_objective_metric"])
    return out


def parameter_names() -> list[str]:
    return [rule.name for rule in RULES] + list(TRAINING_KEYS)
