"""``train``: what the built-in XGBoost image runs when SageMaker starts it (reference §1, §3, §4, §12).

``python -m sagelocal.algorithms.xgboost train [--ml-root DIR] [--image-version V]`` reads
the container layout (``sagelocal.contract``) under DIR, validates, loads the channels, trains, writes
``xgboost-model`` into the model folder, and on failure writes the failure file (``ClientError: …`` for the
customer's mistakes, ``AlgorithmError: …`` otherwise) and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sagelocal.algorithms.xgboost.errors import AlgorithmFailure, UserError
from sagelocal.algorithms.xgboost.failure import at
from sagelocal.algorithms.xgboost.imports import import_xgboost
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import ImageVersion, UnknownImage, get_version
from sagelocal.contract import CONTAINER_ROOT, FIRST_HOST, Layout, read_layout

FAILURE_EXIT_CODE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sagelocal.algorithms.xgboost",
        description=f"Run SageMaker's built-in XGBoost algorithm over an {CONTAINER_ROOT} layout.",
    )
    parser.add_argument("command", choices=["train", "serve"], help="what SageMaker passes to the image")
    parser.add_argument(
        "--ml-root",
        default=CONTAINER_ROOT,
        help=f"root of the {CONTAINER_ROOT} layout (default {CONTAINER_ROOT})",
    )
    parser.add_argument(
        "--image-version",
        default=None,
        help="image version, e.g. 1.7-1 or 1 (0.72); default $SAGELOCAL_XGBOOST_IMAGE_VERSION, else 3.0-5",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="serve: port (default $SAGEMAKER_BIND_TO_PORT, else 8080)"
    )
    parser.add_argument(
        "--host",
        default="0.0.0.0",
        help="serve: address to listen on (default 0.0.0.0, as in the container; 127.0.0.1 on a host)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``train`` (returns 0, or 1 after writing the failure file) or ``serve`` (runs until stopped)."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    # OpenMP threads that spin while waiting slow training down badly on a busy machine.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import_xgboost()  # before anything imports it with scikit-learn and pandas
    _line_buffer_stdout()
    log = Log()
    ml_root = os.path.abspath(args.ml_root)
    version: ImageVersion | None = None
    try:
        version = get_version(args.image_version)
        layout = read_layout(ml_root)
        if version.legacy:
            _run_legacy(layout, version, log)
        else:
            _run(layout, version, log, os.environ)
        return 0
    except (AlgorithmFailure, UnknownImage) as e:
        kind = getattr(e, "kind", "AlgorithmError")
        message = getattr(e, "message", str(e))
        return _fail(ml_root, version, log, f"{kind}: {message}", e)
    except Exception as e:
        return _fail(ml_root, version, log, f"AlgorithmError: {_describe(e)}", e)


def _serve(args: argparse.Namespace) -> int:
    """``serve`` (the serving package imports XGBoost and uvicorn only when it starts)."""
    from sagelocal.algorithms.xgboost.serving.server import serve

    _line_buffer_stdout()
    try:
        version = get_version(args.image_version)
    except UnknownImage as e:
        Log().error(str(e))
        return FAILURE_EXIT_CODE
    return serve(os.path.abspath(args.ml_root), version, args.port, host=args.host)


def _describe(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _fail(
    ml_root: str,
    version: ImageVersion | None,
    log: Log,
    reason: str,
    exc: BaseException,
) -> int:
    """Write the failure file and log what the image logs. Open-source images: sagemaker-containers' generic
    handler logs ``Reporting training FAILURE`` and writes ``framework error: \n<traceback>\n<message>``, the
    traceback naming the image's modules (``failure.py``). 0.72: one line, ``ClientError: …``/``AlgorithmError: …``.
    The host's traceback goes to the log only when ``SAGELOCAL_DEBUG`` is set."""
    if os.environ.get("SAGELOCAL_DEBUG"):
        log.line("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n"))
    layout = Layout(Path(ml_root))
    if version is not None and not version.legacy:
        from sagelocal.algorithms.xgboost.failure import failure_text

        reason = layout.container_text(failure_text(version, exc))  # e.g. a loader naming the file it read
        log.error("Reporting training FAILURE")
        log.error(reason)
        note = getattr(exc, "note", None)
        if note:
            log.line(f"sagelocal: {note}")  # sagelocal's own line, beside the image's
    else:
        reason = layout.container_text(reason)
        log.error(reason)
    path = layout.failure_file
    try:
        os.makedirs(path.parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(reason)
    except OSError as e:
        log.error(f"Could not write {path}: {e}")
    return FAILURE_EXIT_CODE


def _line_buffer_stdout() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(line_buffering=True)
            except (ValueError, OSError):
                pass


# --- open-source images (0.90-1 … 3.0-5) --------------------------------------------------------------------


def _run(layout: Layout, version: ImageVersion, log: Log, environ: Mapping[str, str]) -> None:
    from sagelocal.algorithms.xgboost import channels, hyperparameters
    from sagelocal.algorithms.xgboost.debugger import Debugger

    debugger = Debugger(
        version,
        log,
        host=str(layout.resource_config.get("current_host") or FIRST_HOST),
        configs=dict(layout.debugger_configs),
        has_checkpoint_config=bool(layout.checkpoint_config),
    )
    debugger.on_import()  # training.py imports algorithm_mode.train, which imports smdebug
    log.info("Imported framework sagemaker_xgboost_container.training")
    for key, value in layout.hyperparameters.items():
        try:
            json.loads(value) if isinstance(value, str) else None
        except ValueError:
            log.info(
                f"Failed to parse hyperparameter {key} value {value} to Json.\nReturning the value itself"
            )
    log.info("No GPUs detected (normal if no gpus installed)")
    log.info("Running XGBoost Sagemaker in algorithm mode")

    env = layout.sm_env(environ)
    _reread_configs(layout, env)
    with at("chan"):
        train_path = env["SM_CHANNEL_TRAIN"]  # a job without a train channel fails here, with a bare KeyError
    val_path = env.get("SM_CHANNEL_VALIDATION")
    hosts = json.loads(env["SM_HOSTS"])
    model_dir = env["SM_MODEL_DIR"]

    with at("hp"):
        validated = hyperparameters.validate_hyperparameters(layout.hyperparameters, version)
        cfg = hyperparameters.training_config(validated, version)
    with at("ch"):
        channels.validate_channels(layout.input_data_config, version)
    with at("dm"):
        _load_channels(
            layout, version, log, env, train_path, val_path, validated, cfg, hosts, model_dir, debugger
        )


def _load_channels(
    layout: Layout,
    version: ImageVersion,
    log: Log,
    env: Mapping[str, str],
    train_path: str,
    val_path: str | None,
    validated: Mapping[str, Any],
    cfg: Any,
    hosts: list[str],
    model_dir: str,
    debugger: Any = None,
) -> None:
    """``sagemaker_train`` after validation: the data checks and loading, then ``train_job``."""
    from sagelocal.algorithms.xgboost import channels, data, matrices, pipes
    from sagelocal.algorithms.xgboost.training import JobContext, train_job

    name_of = layout.container_path
    train_channel = layout.input_data_config["train"]
    data_format = channels.data_format(train_channel, version)
    has_validation_channel = "validation" in layout.input_data_config
    is_pipe = train_channel.get("TrainingInputMode") == "Pipe"

    if val_path is not None:
        if train_path == val_path or os.path.basename(train_path) == os.path.basename(val_path):
            log.warning(
                "Found same path for training and validation. This is not recommended and results may not "
                "be correct."
            )
        elif not is_pipe:
            data.check_redundancy(train_path, val_path, log, name_of)

    if version.at_least("1.5-1"):
        log.info(f"Determined {int(env.get('SM_NUM_GPUS', '0') or 0)} GPU(s) available on the instance.")
    num_gpus = int(env.get("SM_NUM_GPUS", "0") or 0)
    if cfg.use_dask_gpu_training and version.at_least("1.5-1"):
        _check_dask_gpu(validated, num_gpus, len(hosts), data_format, layout.input_data_config)
    if is_pipe:
        train_size = pipes.pipe_size(train_path, log, name_of)
        val_size = pipes.pipe_size(val_path, log, name_of) if val_path else 0
    else:
        train_size = data.channel_size(train_path)
        val_size = data.channel_size(val_path) if val_path else 0
        if train_size > 0:
            data.validate_first_lines(train_path, data_format, version, log)
        if val_size > 0 and val_path:
            data.validate_first_lines(val_path, data_format, version, log)

    plan = matrices.DMATRIX
    if train_size > 0:
        paths = [train_path] + ([val_path] if val_path and val_size > 0 else [])
        size = train_size + val_size
        plan = matrices.choose(
            cfg, version, data_format, is_pipe, len(hosts), paths, size, log, name_of, os.environ
        )
    try:
        dtrain = (
            _load(train_path, data_format, cfg.csv_weights, version, log, name_of, is_pipe, plan, "train")
            if train_size > 0
            else None
        )
        val_plan = plan if dtrain is not None and not _is_loaded(dtrain) else matrices.DMATRIX
        ref = dtrain
        dval = (
            _load(val_path, data_format, cfg.csv_weights, version, log, name_of, is_pipe, val_plan, "validation", ref)
            if val_size > 0 and val_path
            else None
        )
        dtrain, dval = _align_widths(dtrain, dval)

        def run_train_job(is_master: bool) -> None:
            ctx = JobContext(
                version=version,
                log=log,
                model_dir=model_dir,
                checkpoint_dir=layout.checkpoint_config.get("LocalPath"),
                container_path=name_of,
                output_data_dir=env["SM_OUTPUT_DATA_DIR"],
                is_master=is_master,
                debugger=debugger,
            )
            if plan.kind == "external":
                ctx.extra["external_memory"] = True
            combined = _dmatrix(_concat(dtrain, dval)) if cfg.kfold and version.at_least("1.2-2") else None
            if combined is not None:
                log.info("Read both train and validation data into one DMatrix")
            with at("job"):
                train_job(cfg, _dmatrix(dtrain), _dmatrix(dval) if dval is not None else None, ctx, combined)

        if len(hosts) > 1:
            current_host = env["SM_CURRENT_HOST"]
            validation_channel = layout.input_data_config.get("validation") if dval is None else None
            _train_distributed(
                run_train_job, dtrain is not None, validation_channel, hosts, current_host, version, log
            )
            return
        if has_validation_channel and dval is None and dtrain is not None:
            with at("no_val"):
                raise UserError(
                    f"No data in validation channel path {name_of(val_path or layout.channel_dir('validation'))}"
                )
        if dtrain is None:
            with at("no_train"):
                raise UserError(f"No data in training channel path {name_of(train_path)}")
        log.info("Single node training.")
        run_train_job(True)
    finally:
        matrices.clean_up(plan)


#: Where the images' no-data warnings send the reader (1.7-1 on).
_DIVIDE_DATA_LINK = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html#Instance-XGBoost-distributed-training-divide-data"
)


def _train_distributed(
    run_train_job: Any,
    has_train_data: bool,
    missing_validation: Mapping[str, Any] | None,
    hosts: list[str],
    current_host: str,
    version: ImageVersion,
    log: Log,
) -> None:
    """``sagemaker_train`` when ``num_hosts > 1`` (``distributed.py`` for the collective itself).
    ``missing_validation`` is the validation channel's config when the job has one but this host no data in
    it."""
    from sagelocal.algorithms.xgboost import distributed

    log.info(f"Distributed node training with {len(hosts)} hosts: {hosts}")
    distributed.wait_hostname_resolution(hosts, os.environ)
    include = has_train_data
    if version.at_least("1.7-1"):
        if not has_train_data:
            log.warning(
                f"Host {current_host} does not have training data. Will broadcast to cluster and this host "
                f"{current_host} will not be used in distributed training. Please divide the training data "
                f"across instances properly. See {_DIVIDE_DATA_LINK}. "
            )
        if missing_validation is not None:
            log.warning(
                f"Host {current_host} does not have validation data in the validation channel : "
                f"{dict(missing_validation)}. Will broadcast to cluster and this host {current_host} "
                f"will not be used in distributed training. Please divide the validation data across "
                f"instances properly. See {_DIVIDE_DATA_LINK}. "
            )
            include = False
    elif not has_train_data:
        log.warning(
            f"Host {current_host} does not have data. Will broadcast to cluster and will not be used in "
            "distributed training."
        )
    with at("job"):
        distributed.rabit_run(run_train_job, include, hosts, current_host, os.environ, log, version)


def _check_dask_gpu(
    validated: Mapping[str, Any],
    num_gpus: int,
    num_hosts: int,
    data_format: str,
    data_config: Mapping[str, Any],
) -> None:
    """``use_dask_gpu_training=true`` (1.5-1+): sagelocal has no GPU, so this always fails as the image does
    on a CPU instance (``distributed_gpu_training.validate_gpu_train_configuration``)."""
    problems = []
    if validated.get("tree_method") != "gpu_hist" or num_gpus == 0:
        problems.append("Dask training is only available for `gpu_hist` training on GPU instances.")
    if data_config["train"].get("TrainingInputMode") == "Pipe":
        problems.append("Dask training is not supported for pipe mode input. Please use File mode.")
    if data_format not in ("csv", "parquet"):
        problems.append("Dask training is only supported for CSV and Parquet input.")
    replicated = all(c.get("S3DistributionType") == "FullyReplicated" for c in data_config.values())
    if not replicated and num_hosts > 1:
        problems.append("Dask distributed training requires FullyReplicated data.")
    if problems:
        raise UserError(
            f"Some configurations unsuitable for Dask GPU training were found: {'. '.join(problems)}"
        )


def _reread_configs(layout: Layout, env: Mapping[str, str]) -> None:
    """``SM_INPUT_TRAINING_CONFIG_FILE``, ``SM_INPUT_DATA_CONFIG_FILE`` and ``SM_CHECKPOINT_CONFIG_FILE``
    set in the environment name the files the image reads. ``env`` is :meth:`Layout.sm_env`'s, so each is a
    container path already resolved inside the job's folder."""
    defaults = layout.sm_env({})
    for key, attr in (
        ("SM_INPUT_TRAINING_CONFIG_FILE", "hyperparameters"),
        ("SM_INPUT_DATA_CONFIG_FILE", "input_data_config"),
        ("SM_CHECKPOINT_CONFIG_FILE", "checkpoint_config"),
    ):
        path = env[key]
        if path == defaults[key]:
            continue
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                setattr(layout, attr, json.load(f))
            local_path = layout.checkpoint_config.get("LocalPath")
            if attr == "checkpoint_config" and isinstance(local_path, str):
                layout.checkpoint_config["LocalPath"] = str(layout.resolve(local_path))
        elif attr == "checkpoint_config":
            layout.checkpoint_config = {}


def _load(
    path: str,
    data_format: str,
    csv_weights: bool,
    version: ImageVersion,
    log: Log,
    name_of: Any,
    is_pipe: bool = False,
    plan: Any = None,
    channel: str = "train",
    ref: Any = None,
) -> Any:
    """A channel as ``data.LoadedData`` (None: RecordIO without records), or, when ``plan`` streams it
    (``matrices.py``), as an XGBoost matrix (``ref``: the train matrix, for the validation channel)."""
    from sagelocal.algorithms.xgboost import data, matrices, pipes

    if plan is not None and plan.streamed and not is_pipe:
        return matrices.load(plan, channel, path, data_format, csv_weights, version, log, name_of, ref)
    if is_pipe and os.path.exists(pipes.fifo(path)):
        loaded = pipes.load_pipe(path, data_format, csv_weights, version, log, name_of)
        if loaded is not None and loaded.labels.size == 0:
            raise UserError(data.NO_LABELS)
        return loaded
    files = data.channel_files(path, version, log, name_of)
    loaded, _ = data.load_channel(files, data_format, csv_weights, log, unparsed=version.unparsed_csv_cell)
    if loaded is None:
        return None
    if loaded.labels.size == 0:
        raise UserError(data.NO_LABELS)
    return loaded


def _is_loaded(d: Any) -> bool:
    from sagelocal.algorithms.xgboost.data import LoadedData

    return isinstance(d, LoadedData)


def _align_widths(a: Any, b: Any) -> tuple[Any, Any]:
    """Sparse channels (LIBSVM, RecordIO) get the same number of columns, as XGBoost's loader pads them."""
    import scipy.sparse as sp

    if not (_is_loaded(a) and _is_loaded(b)):
        return a, b
    if not (sp.issparse(a.features) and sp.issparse(b.features)):
        return a, b
    width = max(a.num_col, b.num_col)
    for d in (a, b):
        if d.num_col < width:
            f = d.features.tocsr()
            d.features = sp.csr_matrix((f.data, f.indices, f.indptr), shape=(f.shape[0], width))
    return a, b


def _concat(a: Any, b: Any | None) -> Any:
    import numpy as np
    import scipy.sparse as sp

    from sagelocal.algorithms.xgboost.data import LoadedData

    if b is None:
        return a
    features: Any
    if sp.issparse(a.features) or sp.issparse(b.features):
        features = sp.vstack([sp.csr_matrix(a.features), sp.csr_matrix(b.features)]).tocsr()
    else:
        features = np.vstack([a.features, b.features])
    weights = None
    if a.weights is not None or b.weights is not None:
        weights = np.concatenate(
            [
                w if w is not None else np.ones(d.num_row, np.float32)
                for d, w in ((a, a.weights), (b, b.weights))
            ]
        )
    return LoadedData(features=features, labels=np.concatenate([a.labels, b.labels]), weights=weights)


def _dmatrix(loaded: Any) -> Any:
    """``loaded`` as a DMatrix; a matrix ``matrices.load`` built already is returned as it is."""
    from sagelocal.algorithms.xgboost import data

    return data.to_dmatrix(loaded) if _is_loaded(loaded) else loaded


# --- the legacy 0.72 image ------------------------------------------------------------------------


def _available_memory_mb() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _run_legacy(layout: Layout, version: ImageVersion, log: Log) -> None:
    from sagelocal.algorithms.xgboost import channels, data, hyperparameters
    from sagelocal.algorithms.xgboost.training import JobContext, train_job

    log.line("Arguments: train")
    log.info("Running standalone xgboost training.")
    name_of = layout.container_path
    validated = hyperparameters.validate_hyperparameters(layout.hyperparameters, version)
    cfg = hyperparameters.training_config(validated, version)
    channels.validate_channels(layout.input_data_config, version)
    data_format = channels.data_format(layout.input_data_config["train"], version)
    hosts = layout.resource_config.get("hosts") or [FIRST_HOST]

    train_path = str(layout.channel_dir("train"))
    val_path = str(layout.channel_dir("validation"))
    train_size = data.legacy_channel_size(train_path, name_of(train_path))
    val_size = data.legacy_channel_size(val_path, name_of(val_path))
    distribution = layout.input_data_config["train"].get("S3DistributionType")
    share = len(hosts) if distribution == "FullyReplicated" else 1
    memory = _available_memory_mb() - 5120 - 1024
    log.info(
        f"File size need to be processed in the node: {round((train_size + val_size) / share / 2**20, 2)}mb. "
        f"Available memory size in the node: {round(memory, 2)}mb"
    )
    data.validate_first_lines(train_path, data_format, version, log) if train_size else None
    data.validate_first_lines(val_path, data_format, version, log) if val_size else None

    def load(path: str, weights: bool, first: bool) -> Any:
        files = data.channel_files(path, version, log, name_of)
        loaded, delimiter = data.load_channel(
            files, data_format, weights, log, legacy=True, unparsed=version.unparsed_csv_cell
        )
        if first:
            log.native(f"S3DistributionType set as {distribution}")
        leaf = name_of(data.first_leaf(path))
        uri = leaf
        if data_format == "csv":
            uri = f"{leaf}?format=csv&label_column=0&delimiter={delimiter}" + (
                "&weight_column=1" if weights else ""
            )
        if loaded is None or loaded.labels.size == 0:
            raise UserError(data.NO_LABELS)
        log.native(
            f"{loaded.num_row}x{loaded.num_col} matrix with {_entries(loaded)} entries loaded from {uri}"
        )
        return loaded

    if not train_size and len(hosts) == 1:
        raise UserError(f"No data in training channel path {name_of(train_path)}")
    dtrain = load(train_path, cfg.csv_weights, True) if train_size else None
    dval = load(val_path, False, False) if val_size else None
    dtrain, dval = _align_widths(dtrain, dval)

    def run_train_job(is_master: bool) -> None:
        ctx = JobContext(
            version=version,
            log=log,
            model_dir=str(layout.model_dir),
            output_data_dir=str(layout.output_data_dir),
            checkpoint_dir=layout.checkpoint_config.get("LocalPath"),
            container_path=name_of,
            verbose_native=cfg.silent != 1,
            is_master=is_master,
        )
        train_job(cfg, _dmatrix(dtrain), _dmatrix(dval) if dval is not None else None, ctx)

    if len(hosts) > 1:
        # 0.72's own multi-host log lines are not public: the 0.90-1 image's lines stand in for them.
        current_host = str(layout.resource_config.get("current_host") or hosts[0])
        _train_distributed(run_train_job, dtrain is not None, None, hosts, current_host, version, log)
        return
    run_train_job(True)


def _entries(loaded: Any) -> int:
    import numpy as np
    import scipy.sparse as sp

    features: Any = loaded.features
    if sp.issparse(features):
        sparse: Any = features  # issparse narrows to scipy-stubs' SparseABC, which does not declare nnz
        return int(sparse.nnz)
    return int(np.count_nonzero(~np.isnan(features)))
