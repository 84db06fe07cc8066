"""The boosting loop of ``train_job`` (reference §6, §8, §9, §10): metrics, early stopping, checkpoints,
intermediate models, error mapping and the final model.

sagelocal drives XGBoost 3.0.5's ``CallbackContainer`` itself (the loop of ``xgb.train``) so that each image's
metric function receives what it received there: raw margins for ``feval`` on 1.2-x … 1.7-1, transformed
predictions otherwise.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sagelocal.algorithms.xgboost import metrics as metrics_mod
from sagelocal.algorithms.xgboost import treebuild
from sagelocal.algorithms.xgboost.errors import AlgorithmError, UserError
from sagelocal.algorithms.xgboost.hyperparameters import TrainingConfig
from sagelocal.algorithms.xgboost.logs import Log, metric_line
from sagelocal.algorithms.xgboost.model import MODEL_NAME, write_model
from sagelocal.algorithms.xgboost.notices import LibraryNotices
from sagelocal.algorithms.xgboost.tables import XGBOOST_MAXIMIZE_METRICS, metric_lists
from sagelocal.algorithms.xgboost.versions import ImageVersion

CHECKPOINT_FILENAME = "xgboost-checkpoint"
CHECKPOINTS_TO_KEEP = 5

#: ``constants/xgb_constants.py::CUSTOMER_ERRORS``: an XGBoost error containing one is the customer's.
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "Check failed: base_score > 0.0f && base_score < 1.0f base_score must be in (0,1) for logistic loss",
    "Check failed: label_correct PoissonRegression: label must be nonnegative",
    "Check failed: label_correct TweedieRegression: label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)

#: The 0.72 image rewrote the same errors in its own words (first commit b72aee2, ``train_helper.py``).
LEGACY_CUSTOMER_ERRORS = (
    (
        CUSTOMER_ERRORS[0],
        "Label must be in [0,1] for logistic regression task. If input is in csv format, ensure the first "
        "column is the label.",
    ),
    (
        CUSTOMER_ERRORS[1],
        "Label must be in [0, num_class) for multi classification task. If input is in csv format, "
        "ensure the first column is the label.",
    ),
    (
        CUSTOMER_ERRORS[3],
        "Feature names/Number of features mismatched between training and validation input. Please check "
        "features in training and validation data.",
    ),
    (
        CUSTOMER_ERRORS[4],
        "Given label size mismatched with prediction size. Please ensure the first column is label and the "
        "correct metric is applied.",
    ),
    (
        CUSTOMER_ERRORS[5],
        "Metric 'auc' cannot be computed with all positive or all negative samples. Please ensure labels in "
        "the datasets contain both positive and negative samples.",
    ),
    (CUSTOMER_ERRORS[6], "Base_score must be in (0,1) for logistic objective function."),
    (CUSTOMER_ERRORS[7], "For Poisson Regression, label must be non-negative"),
    (CUSTOMER_ERRORS[8], "For Tweedie Regression, label must be non-negative"),
    (CUSTOMER_ERRORS[9], "Parameter reg_lambda should be greater equal to 0"),
)

#: Parameters the old images passed that XGBoost 3.0.5 no longer reads (it would only warn about them).
_DROPPED_PARAMS = (
    "silent",
    "dsplit",
    "prob_buffer_row",
    "single_precision_histogram",
    "deterministic_histogram",
    "predictor",
)


@dataclass
class JobContext:
    version: ImageVersion
    log: Log
    model_dir: str
    output_data_dir: str  # SM_OUTPUT_DATA_DIR (k-fold predictions.csv)
    checkpoint_dir: str | None = None
    container_path: Any = str  # callable: host path -> container path, for log lines
    verbose_native: bool = True  # 0.72: print XGBoost's C++ "tree pruning end" lines (silent=0)
    is_master: bool = True  # one host, or the collective's master: the only host that saves (``train_job``)
    extra: dict[str, Any] = field(default_factory=dict)
    debugger: Any = None  # debugger.Debugger: the smdebug hook lines (0.90-2 … 1.7-1)
    notices: LibraryNotices | None = None  # the warnings of the image's XGBoost (set by train_job)


# --- parameters --------------------------------------------------------------------------------------------


def _version_defaults(params: dict[str, Any], version: ImageVersion) -> None:
    """What the image's older XGBoost did by default where XGBoost 3 does otherwise: before 2.0,
    ``base_score`` was 0.5 rather than estimated from the labels (``LearnerModelParam``; 2.0 added
    ``InitBaseScore`` from the labels). The ``auto`` tree method is resolved in ``treebuild``, once the number of
    rows is known."""
    upstream = tuple(int(p) for p in version.upstream_xgboost.split("."))
    if upstream < (2, 0):
        params.setdefault("base_score", 0.5)


def _default_metric(objective: str, version: ImageVersion) -> str | None:
    """XGBoost before 1.3 reported ``error``/``merror`` for classification (1.3 switched to logloss)."""
    upstream = tuple(int(p) for p in version.upstream_xgboost.split("."))
    if upstream >= (1, 3):
        return None
    if objective == "binary:logistic":
        return "error"
    if objective in ("multi:softmax", "multi:softprob"):
        return "merror"
    return None


def build_params(
    cfg: TrainingConfig, version: ImageVersion, log: Log
) -> tuple[dict[str, Any], list[str], list[str], list[str] | None]:
    """``(params, builtin_metrics, container_metrics, tuning_metrics)``."""
    params = {k: v for k, v in cfg.xgb_params.items() if k not in _DROPPED_PARAMS and k != "eval_metric"}
    if isinstance(params.get("updater"), list | tuple):
        params["updater"] = ",".join(params["updater"])
    if isinstance(params.get("monotone_constraints"), list | tuple):
        params["monotone_constraints"] = (
            "(" + ",".join(str(int(v)) for v in params["monotone_constraints"]) + ")"
        )

    tuning: list[str] | None = None
    if cfg.tuning_objective_metric:
        parts = cfg.tuning_objective_metric.split(":")
        name = parts[1] if len(parts) > 1 else parts[0]
        tuning = name.split(",")
        log.info(f"Setting up HPO optimized metric to be : {name}")
    wanted = list(cfg.eval_metrics)
    if tuning is not None:
        union = list(dict.fromkeys(tuning + wanted))
        wanted = sorted(union) if version.callback_early_stopping and cfg.eval_metrics else union
    builtin, custom = metrics_mod.split_metrics(version, wanted)
    if not builtin:
        default = _default_metric(str(params.get("objective", "")), version)
        if default:
            builtin = [default]
    if builtin:
        params["eval_metric"] = builtin
    _version_defaults(params, version)
    return params, builtin, custom, tuning


# --- callbacks ---------------------------------------------------------------------------------------------


def _rank() -> int:
    """This worker's rank in XGBoost's collective (0 when training alone). XGBoost's own callbacks print
    (``EvaluationMonitor``) and checkpoint (``TrainingCheckPoint``) on rank 0 only; so do sagelocal's."""
    from xgboost import collective

    return int(collective.get_rank())


def _callbacks_base() -> Any:
    import xgboost as xgb

    return xgb.callback.TrainingCallback


def _in_order(callbacks: list[Any], version: ImageVersion) -> Any:
    """One callback running ``callbacks`` in list order, each on every round. XGBoost keeps callbacks in a
    set and stops at the first that asks to stop, so whether the last metric line is printed would depend on
    object addresses; sagelocal prints every round it trains. The round's values are first cut to the
    decimals the image's XGBoost printed them with (``ImageVersion.eval_decimals``)."""
    base = _callbacks_base()
    decimals = version.eval_decimals

    class InOrder(base):  # type: ignore[misc, valid-type]
        def before_training(self, model: Any) -> Any:
            for c in callbacks:
                model = c.before_training(model=model)
            return model

        def after_training(self, model: Any) -> Any:
            for c in callbacks:
                model = c.after_training(model=model)
            return model

        def before_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return any([c.before_iteration(model, epoch, evals_log) for c in callbacks])

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if decimals < 17:
                for metrics in evals_log.values():
                    for values in metrics.values():
                        if values and not isinstance(values[-1], tuple):
                            values[-1] = float(f"{values[-1]:.{decimals}f}")
            return any([c.after_iteration(model, epoch, evals_log) for c in callbacks])

    return InOrder()


def _make_monitor(ctx: JobContext, custom: list[str], offset: int) -> Any:
    base = _callbacks_base()
    version, log = ctx.version, ctx.log

    class Monitor(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if version.legacy and ctx.verbose_native:
                _log_pruning(model, log)
            if evals_log:
                line = metric_line(version, epoch + offset, evals_log, custom)
                self.lines.append(line)
                if _rank() == 0:
                    log.line(line)
            return False

    return Monitor()


def _log_pruning(model: Any, log: Log) -> None:
    """0.72 printed XGBoost 0.72's pruner line before each metric line. sagelocal counts the nodes of the new
    trees; XGBoost 3 does not report how many nodes pruning removed, so that count is always 0. The linear
    booster has no pruner, and no line."""
    import xgboost as xgb

    rounds = model.num_boosted_rounds()
    try:
        # The last round's trees only: dumping the whole model every round costs O(rounds) each time.
        dump = model[rounds - 1 : rounds].get_dump() if rounds else []
    except xgb.core.XGBoostError:
        return  # gblinear: no trees, so no pruner ran
    for tree in dump:
        lines = [t for t in tree.splitlines() if t.strip()]
        depth = max((len(t) - len(t.lstrip("\t")) for t in lines), default=0)
        log.native(
            f"src/tree/updater_prune.cc:74: tree pruning end, 1 roots, {len(lines) - 1} extra nodes, "
            f"0 pruned nodes, max_depth={depth}"
        )


def _make_checkpointer(ctx: JobContext, start: int) -> Any:
    base = _callbacks_base()
    directory: str = ctx.checkpoint_dir or ""
    assert directory
    fmt = ctx.version if ctx.version.serialization == "ubjson" else _BINARY_OF[ctx.version.name]

    class Checkpointer(base):  # type: ignore[misc, valid-type]
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if _rank() != 0:
                return False
            iteration = start + epoch
            write_model(model, fmt, os.path.join(directory, f"{CHECKPOINT_FILENAME}.{iteration}"))
            stale = os.path.join(directory, f"{CHECKPOINT_FILENAME}.{iteration - CHECKPOINTS_TO_KEEP}")
            if os.path.exists(stale):
                os.unlink(stale)
            return False

    return Checkpointer()


def _make_training_checkpoint(ctx: JobContext, iterations: int) -> Any:
    """1.3-1 on: the image passes XGBoost's own ``TrainingCheckPoint(directory, iterations=<resume iteration>,
    name="xgboost-checkpoint")`` (``train.py``/``callback.py``), which saves ``<name>_<epoch>.json``
    (``.ubj`` in XGBoost 3, whose epoch counts the loaded model's rounds too) whenever its counter equals
    ``iterations`` — with 0 on a fresh job, only after the first round. The image's loader
    (``checkpointing.load_checkpoint``) matches ``xgboost-checkpoint.<n>`` only, so these files never resume a
    job."""
    base = _callbacks_base()
    directory: str = ctx.checkpoint_dir or ""
    extension = "ubj" if ctx.version.serialization == "ubjson" else "json"
    counts_loaded = ctx.version.serialization == "ubjson"

    class TrainingCheckPoint(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self._epoch = 0
            self._start = 0

        def before_training(self, model: Any) -> Any:
            self._start = model.num_boosted_rounds() if counts_loaded else 0
            return model

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if self._epoch == iterations and _rank() == 0:
                model.save_model(
                    os.path.join(directory, f"{CHECKPOINT_FILENAME}_{epoch + self._start}.{extension}")
                )
                self._epoch = 0
            self._epoch += 1
            return False

    return TrainingCheckPoint()


def _make_intermediate_saver(ctx: JobContext, name: str = MODEL_NAME) -> Any:
    base = _callbacks_base()
    fmt = ctx.version if ctx.version.serialization == "ubjson" else _BINARY_OF[ctx.version.name]
    path = os.path.join(ctx.model_dir, name)
    notices = ctx.notices

    class IntermediateSaver(base):  # type: ignore[misc, valid-type]
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if ctx.is_master:  # ``SaveIntermediateModelCallBack(model_dir, name, is_master)``
                write_model(model, fmt, path)
                if notices is not None:
                    notices.ubjson_save("intermediate")
            return False

    return IntermediateSaver()


class _BinaryOf(dict[str, Any]):
    """The version with the same name but XGBoost's binary format: intermediate saves and checkpoints use
    ``save_model``, never pickle."""

    def __missing__(self, name: str) -> Any:
        from dataclasses import replace

        from sagelocal.algorithms.xgboost.versions import VERSIONS

        value = replace(VERSIONS[name], serialization="binary")
        self[name] = value
        return value


_BINARY_OF = _BinaryOf()


def install_sigterm_handler(model_dir: str, log: Log) -> bool:
    """On SIGTERM keep only the model in ``model_dir`` (saved after the last round) and exit 0, as
    ``callback.add_sigterm_handler`` does. Returns False when not on the main thread (in-process use)."""
    if threading.current_thread() is not threading.main_thread():
        return False

    def _on_sigterm(signo: int, frame: Any) -> None:
        try:
            for name in os.listdir(model_dir):
                path = os.path.join(model_dir, name)
                if os.path.isfile(path) and not name.startswith(MODEL_NAME):
                    os.unlink(path)
            log.stream.flush()
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, _on_sigterm)
    return True


def load_checkpoint(directory: str | None) -> tuple[str | None, int]:
    """Newest ``xgboost-checkpoint.<n>`` in ``directory`` and the iteration to resume from (n + 1)."""
    if not directory or not os.path.isdir(directory):
        return None, 0
    pattern = re.compile(rf"^{CHECKPOINT_FILENAME}\.[0-9]+$")
    found = sorted((f for f in os.listdir(directory) if pattern.match(f)), key=lambda f: int(f.split(".")[1]))
    if not found:
        return None, 0
    latest = found[-1]
    return os.path.join(directory, latest), int(latest.split(".")[1]) + 1


# --- the job -----------------------------------------------------------------------------------------------


def xgboost_message(e: BaseException) -> str:
    """An XGBoost error without the native stack trace it carries (``\nStack trace:\n  [bt] (0) …``, host
    library paths and addresses): the part a user can act on."""
    return str(e).split("\nStack trace:", 1)[0].rstrip()


def _map_training_error(e: Exception, version: ImageVersion) -> Exception:
    text = xgboost_message(e)
    if version.legacy:
        for needle, message in LEGACY_CUSTOMER_ERRORS:
            if needle in text:
                return UserError(message)
        return AlgorithmError(f"XGB train call failed with exception:\n {text}")
    for needle in CUSTOMER_ERRORS:
        if needle in text:
            return UserError(text)
    return AlgorithmError(f"XGB train call failed with exception:\n {text}")


def train_job(
    cfg: TrainingConfig, dtrain: Any, dval: Any | None, ctx: JobContext, dtrain_val: Any | None = None
) -> Any:
    """Train, print one line per round, save ``xgboost-model``. Returns the booster (None for k-fold, which
    saves ``xgboost-model-<i>`` and ``predictions.csv``). ``dtrain_val`` holds train + validation rows."""

    version, log = ctx.version, ctx.log
    if ctx.notices is None:
        ctx.notices = LibraryNotices(version, log)
    is_3 = version.name == "3.0-5"
    master = ctx.is_master
    if version.debug_lines:
        log.info(f"TRAIN_JOB_DEBUG: Received is_master={master}")
        log.line(f"TRAIN_JOB_DEBUG: Received is_master={master}")

    params, builtin, custom, tuning = build_params(cfg, version, log)
    treebuild.resolve_tree_method(
        params,
        version,
        int(dtrain.num_row()),
        log,
        _distributed(),
        external_memory=bool(ctx.extra.get("external_memory")),
    )

    # 0.90-2 … 1.2-1 call add_debugging before logging the matrix sizes; 1.2-2 on, per model in train_job's try
    hook_first = not version.at_least("1.2-2")
    early_hook = _debug_hook(ctx) if hook_first else None
    if not version.legacy:
        if version.at_least("1.2-1"):
            log.info(f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns")
        else:
            log.info(f"Train matrix has {dtrain.num_row()} rows")
        if dval is not None:
            log.info(f"Validation matrix has {dval.num_row()} rows")

    evals = [(dtrain, "train")]
    if dval is not None:
        evals.append((dval, "validation"))

    if cfg.kfold and dtrain_val is not None:
        _cross_validate(cfg, params, builtin, custom, tuning, dtrain, dval, dtrain_val, ctx)
        return None

    xgb_model, iteration = load_checkpoint(ctx.checkpoint_dir)
    if xgb_model is not None:
        log.info(f"Checkpoint loaded from {ctx.container_path(xgb_model)}")
        log.info(f"Resuming from iteration {iteration}")

    offset = 0 if version.callback_early_stopping else iteration
    monitor = _make_monitor(ctx, custom, offset)
    callbacks: list[Any] = [monitor]
    if ctx.checkpoint_dir and (master or not is_3):  # 3.0-5: ``if checkpoint_dir and is_master``
        os.makedirs(ctx.checkpoint_dir, exist_ok=True)
        # 1.3-1 moved to XGBoost's callback API (EvaluationMonitor, EarlyStopping, TrainingCheckPoint).
        new_api = version.callback_early_stopping
        callbacks.append(
            _make_training_checkpoint(ctx, iteration) if new_api else _make_checkpointer(ctx, iteration)
        )
    _termination_lines(ctx, cfg)
    if cfg.save_model_on_termination and version.at_least("1.0-1") and (master or not is_3):
        os.makedirs(ctx.model_dir, exist_ok=True)
        callbacks.append(_make_intermediate_saver(ctx))
        install_sigterm_handler(ctx.model_dir, log)

    early_stop = _early_stopping(cfg, version, builtin, custom, tuning, dval is not None, evals, log)
    if early_stop is not None:
        callbacks.append(early_stop)
    hook = early_hook if hook_first else _debug_hook(ctx)
    if hook is not None:
        callbacks.append(hook)

    feval = metrics_mod.make_custom_metric(version, custom)
    _fail_as_the_image(cfg, version)
    booster, _ = _boost(
        params,
        dtrain,
        evals,
        cfg.num_round - iteration,
        callbacks,
        feval,
        version,
        xgb_model,
        _notice(ctx, cfg),
    )

    if version.legacy and early_stop is not None and booster.num_boosted_rounds() < cfg.num_round:
        best = int(booster.attr("best_iteration") or 0)
        best_line = next((ln for ln in monitor.lines if ln.startswith(f"[{best}]")), f"[{best}]")
        log.line("Stopping. Best iteration:")
        log.line(best_line)

    os.makedirs(ctx.model_dir, exist_ok=True)
    _final_model_lines(ctx)
    if not master:
        return booster  # only the master saves (``if is_master:``)
    write_model(booster, version, os.path.join(ctx.model_dir, MODEL_NAME))
    ctx.notices.ubjson_save("final")
    return booster


def _debug_hook(ctx: JobContext) -> Any | None:
    """``callback.add_debugging`` (0.90-2 … 1.7-1): the hook's creation lines, and its callback."""
    return ctx.debugger.add_debugging() if ctx.debugger is not None else None


def _termination_lines(ctx: JobContext, cfg: TrainingConfig) -> None:
    """3.0-5's ``get_callbacks`` diagnostics, printed for the job and for every k-fold model."""
    if not ctx.version.debug_lines:
        return
    text = "true" if cfg.save_model_on_termination else "false"
    master = ctx.is_master
    ctx.log.info(f"CALLBACK_SETUP_DEBUG: save_model_on_termination={text}, is_master={master}")
    if cfg.save_model_on_termination and master:
        ctx.log.info("CALLBACK_ADDING: Adding SaveIntermediateModelCallBack on master")
    else:
        ctx.log.info(f"CALLBACK_SKIPPING save_model_on_termination={text}, is_master={master})")


def _final_model_lines(ctx: JobContext) -> None:
    """3.0-5's ``train_job`` before it saves the model(s): each line logged and printed."""
    if not ctx.version.debug_lines:
        return
    model_dir = ctx.container_path(ctx.model_dir)
    debug = f"FINAL_MODEL_DEBUG: is_master={ctx.is_master}, model_dir={model_dir}"
    saving = ["FINAL_MODEL_SAVE: Saving final model as master"] if ctx.is_master else []
    for text in (debug, *saving):
        ctx.log.info(text)
        ctx.log.line(text)


#: (before the first round: given the params; when ``xgb.train`` is called: given the feval)
Announcements = tuple[Callable[[dict[str, Any]], None], Callable[[Any], None]]


def _notice(ctx: JobContext, cfg: TrainingConfig) -> Announcements:
    """What ``_boost`` prints, as the image's ``xgb.train`` call did, before the first metric line."""
    notices = ctx.notices

    def before(params: dict[str, Any]) -> None:
        if notices is None:
            return
        notices.unused_parameters(cfg.given)
        notices.default_metric(str(params.get("objective", "reg:squarederror")), "eval_metric" in params)

    def at_call(feval: Any) -> None:
        if notices is not None and feval is not None:
            notices.feval_deprecated()

    return before, at_call


def _distributed() -> bool:
    from xgboost import collective

    return bool(collective.is_distributed())


def _fail_as_the_image(cfg: TrainingConfig, version: ImageVersion) -> None:
    """Where the image's ``xgb.train`` call fails and XGBoost 3 with sagelocal's parameters would not: a GPU
    tree method on a CPU instance, list-valued interaction constraints from 1.5-1 (``tables.py``)."""
    import time

    from sagelocal.algorithms.xgboost import tables

    prefix = "XGB train call failed with exception:\n "
    if cfg.gpu_hist and version.upstream_xgboost in tables.NO_GPU_ERRORS:
        stamp = time.strftime("%H:%M:%S", time.gmtime())
        raise AlgorithmError(f"{prefix}[{stamp}] {tables.NO_GPU_ERRORS[version.upstream_xgboost]}")
    if cfg.interaction_constraints and version.at_least(tables.INTERACTION_CONSTRAINTS_BY_NAME_SINCE):
        raise AlgorithmError(prefix + tables.INTERACTION_CONSTRAINTS_ERROR)


def _boost(
    params: dict[str, Any],
    dtrain: Any,
    evals: list[tuple[Any, str]],
    num_rounds: int,
    callbacks: list[Any],
    feval: Any,
    version: ImageVersion,
    xgb_model: str | None = None,
    notices: Announcements | None = None,
) -> Any:
    """The loop of ``xgb.train``. ``notices``: what the image's library printed when the call began and before
    its first round (:func:`_notice`)."""
    import xgboost as xgb

    params = dict(params)
    try:
        if notices is not None:
            notices[1](feval)
        sampler = treebuild.row_sampler(params, version, dtrain)
        own_gradient = sampler is not None and treebuild.reproduces_gradient(params)
        booster = xgb.Booster(params, [dtrain] + [d for d, _ in evals], model_file=xgb_model)
        container = xgb.callback.CallbackContainer(
            [_in_order(callbacks, version)], metric=feval, output_margin=metrics_mod.receives_margin(version)
        )
        booster = container.before_training(booster)
        if notices is not None and num_rounds > 0:
            notices[0](params)
        for i in range(num_rounds):
            if container.before_iteration(booster, i, dtrain, evals):
                break
            if sampler is None:
                booster.update(dtrain, iteration=i)
            elif own_gradient:
                margin = booster.predict(dtrain, output_margin=True)
                booster.boost(dtrain, i, *treebuild.sampled_gradient(params, margin, dtrain, sampler.next_tree()))
            else:
                booster.update(dtrain.slice(sampler.next_tree()), iteration=i)
            if container.after_iteration(booster, i, dtrain, evals):
                break
        booster = container.after_training(booster)
        if sampler is not None:  # the saved configuration shows the job's subsample, not the 1 XGBoost 3 ran
            booster.set_param("subsample", sampler.probability_text)
        return booster, container.history
    except (UserError, AlgorithmError):
        raise
    except Exception as e:
        raise _map_training_error(e, version) from e


def _cross_validate(
    cfg: TrainingConfig,
    params: dict[str, Any],
    builtin: list[str],
    custom: list[str],
    tuning: list[str] | None,
    dtrain: Any,
    dval: Any | None,
    dtrain_val: Any,
    ctx: JobContext,
) -> None:
    """``_kfold`` (1.2-2+): repeated (stratified) k-fold over train + validation rows; one model per fold,
    fold-mean metric lines, and the out-of-fold predictions in ``output/data/predictions.csv``.

    1.7-1 and 3.0-5 evaluate every fold on the full train/validation sets (their watchlist is not the fold's);
    earlier images evaluate on the fold. The folds are drawn with ``random_state=0`` (the image draws them at
    random), so reruns are identical."""
    import numpy as np
    from scipy import stats
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

    version, log = ctx.version, ctx.log
    kfold = int(cfg.kfold or 0)
    repeats = int(cfg.num_cv_round or 1)
    rows = int(dtrain_val.num_row())
    log.info(f"Run {repeats}-round of {kfold}-fold cross validation with {rows} rows")
    objective = str(params.get("objective", ""))
    classification = bool(params.get("num_class")) or objective.startswith("binary:")
    labels = dtrain_val.get_label()
    splitter = (
        RepeatedStratifiedKFold(n_splits=kfold, n_repeats=repeats, random_state=0)
        if classification
        else RepeatedKFold(n_splits=kfold, n_repeats=repeats, random_state=0)
    )
    predicted = np.zeros((rows, repeats))
    probability = np.zeros((rows, repeats))
    seen = np.zeros(rows, dtype=int)
    histories: list[Any] = []
    boosters: list[Any] = []
    feval = metrics_mod.make_custom_metric(version, custom)
    os.makedirs(ctx.model_dir, exist_ok=True)
    full_watchlist = [(dtrain, "train")] + ([(dval, "validation")] if dval is not None else [])
    for fold, (train_idx, val_idx) in enumerate(
        splitter.split(X=np.zeros(rows), y=labels if classification else None)
    ):
        fold_train = dtrain_val.slice(train_idx)
        fold_val = dtrain_val.slice(val_idx)
        evals = (
            full_watchlist if version.at_least("1.7-1") else [(fold_train, "train"), (fold_val, "validation")]
        )
        # get_callbacks(fold=…) and add_debugging run for every model, before its "Train cross validation" line
        callbacks: list[Any] = [_make_monitor(ctx, custom, 0)]
        _termination_lines(ctx, cfg)
        if cfg.save_model_on_termination:
            callbacks.append(_make_intermediate_saver(ctx, f"{MODEL_NAME}-{fold}"))
            install_sigterm_handler(ctx.model_dir, log)
        stop = _early_stopping(cfg, version, builtin, custom, tuning, True, evals, log)
        if stop is not None:
            callbacks.append(stop)
        hook = _debug_hook(ctx)
        if hook is not None:
            callbacks.append(hook)
        log.info(f"Train cross validation fold {fold % kfold + 1}")
        _fail_as_the_image(cfg, version)
        booster, history = _boost(
            params, fold_train, evals, cfg.num_round, callbacks, feval, version, notices=_notice(ctx, cfg)
        )
        histories.append(history)
        boosters.append(booster)
        output = booster.predict(fold_val)
        column = seen[val_idx]
        if classification and output.ndim > 1:
            chosen = np.argmax(output, axis=-1)
            predicted[val_idx, column] = chosen
            probability[val_idx, column] = output[np.arange(len(chosen)), chosen]
        elif classification:
            predicted[val_idx, column] = 1 * (output > 0.5)
            probability[val_idx, column] = output
        else:
            predicted[val_idx, column] = output
        seen[val_idx] += 1
        if (fold + 1) % kfold == 0:
            log.info(f"The metrics of round {(fold + 1) // kfold} cross validation")
            log.line(_cv_line(version, cfg.num_round, histories[-kfold:]))

    columns = [labels]
    if classification:
        columns.append(probability.mean(axis=-1))
        columns.append(np.ravel(stats.mode(predicted, axis=1, keepdims=True).mode[:, 0]))
    else:
        columns.append(predicted.mean(axis=-1))
    os.makedirs(ctx.output_data_dir, exist_ok=True)
    path = os.path.join(ctx.output_data_dir, "predictions.csv")
    if version.at_least("1.3-1"):  # prediction_utils.ValidationPredictionRecorder.save
        log.info(f"Storing predictions on validation set(s) in {ctx.container_path(path)}")
    else:
        log.info(
            f"Storing predictions on cv folds averaged over all cv rounds in {ctx.container_path(path)} "
        )
    # Written aside, then renamed: the folder may hold a channel's files, which are the object store's own
    # (hardlinked), and writing through one would change the stored object.
    fd, tmp = tempfile.mkstemp(dir=ctx.output_data_dir, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        np.savetxt(f, np.vstack(columns).T, delimiter=",", fmt="%f")
    os.replace(tmp, path)
    if repeats > 1:
        log.info(f"The overall metrics of {repeats}-round cross validation")
        log.line(_cv_line(version, cfg.num_round, histories))

    # train_job saves the models once cross validation is done
    _final_model_lines(ctx)
    for fold, booster in enumerate(boosters if ctx.is_master else []):  # only the master saves
        write_model(booster, version, os.path.join(ctx.model_dir, f"{MODEL_NAME}-{fold}"))
        if ctx.notices is not None:
            ctx.notices.ubjson_save("fold")


def _cv_line(version: ImageVersion, num_round: int, histories: list[Any]) -> str:
    """``print_cv_metric``: ``[<num_round>]`` then, metric by metric, each set's fold mean."""
    import numpy as np

    parts = [f"[{num_round}]"]
    data_names = list(histories[0].keys())
    for metric in histories[0]["train"]:
        for data in data_names:
            values = [float(h[data][metric][-1]) for h in histories]
            parts.append(f"{data}-{metric}:{np.mean(values):.5f}")
    return "\t".join(parts)


def _early_stopping(
    cfg: TrainingConfig,
    version: ImageVersion,
    builtin: list[str],
    custom: list[str],
    tuning: list[str] | None,
    has_validation: bool,
    evals: list[tuple[Any, str]],
    log: Log,
) -> Any | None:
    import xgboost as xgb

    rounds = cfg.early_stopping_rounds
    if not rounds:
        return None
    if version.callback_early_stopping:
        metric = tuning[-1] if tuning else (cfg.eval_metrics[-1] if cfg.eval_metrics else None)
        if not (has_validation and metric):
            return None
        return xgb.callback.EarlyStopping(
            rounds=rounds,
            metric_name=metric,
            data_name="validation",
            maximize=metric in metric_lists(version)[0],
            save_best=True,
        )
    # XGBoost's legacy rule: the last metric of the last evaluation set.
    data_name = evals[-1][1]
    metric = custom[-1] if custom else (builtin[-1] if builtin else None)
    maximize: bool | None = None
    if metric is not None:
        maximize = metric in XGBOOST_MAXIMIZE_METRICS or any(
            metric.startswith(m + "@") for m in XGBOOST_MAXIMIZE_METRICS
        )
    if version.legacy and metric is not None:
        log.line(f"Will train until {data_name}-{metric} hasn't improved in {rounds} rounds.")
    return xgb.callback.EarlyStopping(
        rounds=rounds, metric_name=metric, data_name=data_name, maximize=maximize, save_best=False
    )


__all__ = ["JobContext", "load_checkpoint", "train_job"]
