"""Hyperparameter validation as each image version does it, and what ``xgb.train`` gets.

The open-source images (0.90-1 … 3.0-5) validate with sagemaker_algorithm_toolkit: aliases, the required
check, parsing in the user's key order (an unknown key is rejected), range checks, then dependency checks in
topological order. This module is that engine; what each image declares is data: ``params.py`` (the
parameters, each with the images it exists in) and ``tables.py`` (objective, metric and updater lists). The
legacy 0.72 image (version ``1``) has its own fixed-order rules (``legacy.py``).

:func:`training_config` turns validated values into what ``xgb.train`` of the installed XGBoost 3 accepts.
Parameters that XGBoost 3 no longer has are mapped or dropped, and each mapping is recorded in
``TrainingConfig.compat_notes``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagelocal.algorithms.xgboost import legacy
from sagelocal.algorithms.xgboost.errors import AlgorithmError, UserError
from sagelocal.algorithms.xgboost.params import PARAMS, PARAMS_BY_NAME
from sagelocal.algorithms.xgboost.spec import Spec
from sagelocal.algorithms.xgboost.tables import at
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
    gpu_hist: bool = False  # tree_method=gpu_hist: the image's XGBoost fails on a CPU instance (training.py)
    interaction_constraints: bool = (
        False  # given as a list: XGBoost ≥ 1.5 looks its items up as feature names
    )
    compat_notes: list[str] = field(
        default_factory=list
    )  # how the params were adapted to the installed XGBoost 3
    given: tuple[str, ...] = ()  # the validated hyperparameter names, as the image's ``train_cfg`` holds them


# ----------------------------------------------------------------------------------------------------
# One image's table, resolved from the declarations.


@functools.cache
def _specs(version: ImageVersion) -> dict[str, Spec]:
    """The parameters an open-source image has, keyed by canonical name, in declaration order."""
    return {p.name: Spec.of(p, version) for p in PARAMS if version.within(p.since, p.until)}


@functools.cache
def _aliases(version: ImageVersion) -> dict[str, str]:
    return {
        alias: name for name, spec in _specs(version).items() for alias in at(spec.param.aliases, version)
    }


def parameter_names(version: ImageVersion) -> list[str]:
    """The hyperparameter names a version accepts (canonical names; aliases from 0.90-2 on are extra)."""
    if version.legacy:
        return legacy.parameter_names()
    return list(_specs(version))


# ----------------------------------------------------------------------------------------------------
# Validation, open-source images.


def _caused_by(message: str, exc: BaseException) -> str:
    return f"{message} (caused by {exc.__class__.__name__})"


def _dependency_order(names: Sequence[str], table: Mapping[str, Spec]) -> list[str]:
    """The order the toolkit checks dependencies in: a depth-first post-order over the user's keys, so a
    parameter's dependencies (when given) are validated before it."""
    visited = dict.fromkeys(names, False)
    order: list[str] = []

    def visit(name: str) -> None:
        visited[name] = True
        for dep in table[name].param.deps:
            if dep in visited and not visited[dep]:
                visit(dep)
        order.append(name)

    for name in names:
        if not visited[name]:
            visit(name)
    return order


def _validate_toolkit(raw: Mapping[str, Any], version: ImageVersion) -> dict[str, Any]:
    table = _specs(version)
    aliases = _aliases(version)
    # 0. aliases; a later key overwrites an earlier one, at the earlier one's position
    user: dict[str, Any] = {}
    for key, value in raw.items():
        user[aliases.get(key, key)] = value
    # 1. required
    for name, spec in table.items():
        if spec.param.required and name not in user:
            raise UserError(f"Missing required hyperparameter: {name}")
    # 2. parse, in the user's key order
    parsed: dict[str, Any] = {}
    for key, value in user.items():
        found = table.get(key)
        if found is None:
            raise UserError(f"Extraneous hyperparameter found: {key}")
        try:
            parsed[key] = found.param.parse(value)
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
        spec = table[key]
        if spec.check is not None:
            deps = {d: validated[d] for d in spec.param.deps if d in validated}
            spec.check(parsed[key], deps, version)
        validated[key] = parsed[key]
    return validated


def validate_hyperparameters(raw: Mapping[str, str], version: ImageVersion) -> dict[str, Any]:
    """Validate ``hyperparameters.json`` (all values strings) as ``version``'s image does. Returns the parsed
    values keyed by canonical name (aliases resolved). Raises UserError with the image's exact message."""
    if version.legacy:
        return legacy.validate(raw)
    return _validate_toolkit(raw, version)


# ----------------------------------------------------------------------------------------------------
# From validated values to xgb.train on the installed XGBoost 3.

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


def _given_or_default(hps: Mapping[str, Any], name: str) -> Any:
    return hps.get(name, PARAMS_BY_NAME[name].default)


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
        csv_weights=_given_or_default(hps, "csv_weights") == 1,
        save_model_on_termination=_given_or_default(hps, "save_model_on_termination") == "true",
        tuning_objective_metric=hps.get("_tuning_objective_metric"),
        kfold=hps.get("_kfold"),
        num_cv_round=hps.get("_num_cv_round"),
        nfold=hps.get("_nfold"),
        use_dask_gpu_training=_given_or_default(hps, "use_dask_gpu_training") == "true",
        silent=hps.get("silent"),
        compat_notes=notes,
        given=tuple(hps),
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
    config.gpu_hist = gpu_hist
    config.interaction_constraints = hps.get("interaction_constraints") is not None
    return config
