"""What the real images' libraries print besides the container's own lines (issue 12, item 7).

- smdebug (SageMaker Debugger), images 0.90-2 … 1.7-1, for the DebugHookConfig the SDK v2 ``Estimator`` sends by
  default. The sequences are those of public job logs: a 1.0-1 job (notebook output of 2024-06-02,
  ``sagemaker-xgboost:1.0-1-cpu-py3``) and a 1.3-1 job (github.com/btholath/sagemaker-mlops-lab,
  traffic/2_model_training, 2025-06-17); line numbers are those of awslabs/sagemaker-debugger at the release each
  image installs (requirements.txt / ``docker/<v>/final/Dockerfile.cpu`` of aws/sagemaker-xgboost-container).
- XGBoost's own warnings, as the PyPI wheel of each image's XGBoost prints them (the slow tests at the end run
  those wheels): unused parameters, the 1.3/1.5 default-metric notice, 1.7's ``feval`` deprecation and 3.0's
  UBJSON save notice.
- 3.0-5's ``CALLBACK_*`` lines for every k-fold model and its ``FINAL_MODEL_*`` lines (v3.0-5 tag,
  ``algorithm_mode/train.py`` and ``callback.py::get_callbacks``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sagelocal.algorithms.xgboost import main

HOOK = {
    "LocalPath": "/opt/ml/output/tensors",
    "S3OutputPath": "s3://bucket/out",
    "CollectionConfigurations": [],
}
PROFILER = {"DisableProfiler": False, "S3OutputPath": "s3://bucket/out"}
SMDEBUG_STAMP = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} algo-1:(\d+) ")
LOG_STAMP = re.compile(r"^\[\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d:(INFO|WARNING)\] ")
CXX_STAMP = re.compile(r"\[\d\d:\d\d:\d\d\] WARNING")


def rows(n: int = 60) -> str:
    return "".join(f"{i % 2},{(i * 7) % 11 + i % 2},{i % 5},{i / 10:.1f}\n" for i in range(n))


def job(
    ml_root: Any,
    hps: dict[str, str],
    configs: dict[str, dict[str, Any]] | None = None,
    validation: bool = False,
    checkpoint: dict[str, str] | None = None,
) -> Path:
    channels: dict[str, str | None] = {"train": "csv"}
    files = {"train/t.csv": rows()}
    if validation:
        channels["validation"] = "csv"
        files["validation/v.csv"] = rows(30)
    root: Path = ml_root(hps, channels, files, checkpoint=checkpoint)
    for name, document in (configs or {}).items():
        (root / "input" / "config" / name).write_text(json.dumps(document))
    return root


def run(root: Path, version: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code = main(["train", "--ml-root", str(root), "--image-version", version])
    out = capsys.readouterr().out
    assert code == 0, out
    return out.splitlines()


def plain(lines: list[str]) -> list[str]:
    """Timestamps and the process id out: ``[T algo-1:PID INFO …``, ``[LOG] …``, ``[HH] WARNING``."""
    out = []
    for line in lines:
        line = SMDEBUG_STAMP.sub(lambda m: "[T algo-1:PID ", line)
        line = LOG_STAMP.sub("[LOG] ", line)
        out.append(CXX_STAMP.sub("[HH] WARNING", line))
    return out


def after(lines: list[str], first: str, count: int) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    return lines[start : start + count]


SDK_DEFAULTS = {"debughookconfig.json": HOOK, "profilerconfig.json": PROFILER}


# --- smdebug --------------------------------------------------------------------------------------------------


def test_smdebug_lines_on_1_3_1_match_the_public_log(ml_root, capsys):
    """1.3-1 (smdebug 1.0.29, Python 3.7): the import lines come first, the hook's after the matrix size, its
    first-round lines after ``[0]`` — the public 1.3-1 log line for line."""
    root = job(ml_root, {"num_round": "3", "objective": "binary:logistic"}, SDK_DEFAULTS)
    lines = run(root, "1.3-1", capsys)
    assert all(int(m.group(1)) == os.getpid() for m in map(SMDEBUG_STAMP.match, lines) if m)
    out = plain(lines)
    assert out[:3] == [
        "[T algo-1:PID INFO utils.py:28] RULE_JOB_STOP_SIGNAL_FILENAME: None",
        "[T algo-1:PID INFO profiler_config_parser.py:111] User has disabled profiler.",
        "[LOG] Imported framework sagemaker_xgboost_container.training",
    ]
    assert after(out, "[LOG] Train matrix has", 9) == [
        "[LOG] Train matrix has 60 rows and 3 columns",
        "[T algo-1:PID INFO json_config.py:92] Creating hook from json_config at "
        "/opt/ml/input/config/debughookconfig.json.",
        "[T algo-1:PID INFO hook.py:207] tensorboard_dir has not been set for the hook. SMDebug will not be "
        "exporting tensorboard summaries.",
        "[T algo-1:PID INFO hook.py:259] Saving to /opt/ml/output/tensors",
        "[T algo-1:PID INFO state_store.py:77] The checkpoint config file "
        "/opt/ml/input/config/checkpointconfig.json does not exist.",
        "[LOG] Debug hook created from config",
        "[HH] WARNING: ../src/learner.cc:1061: Starting in XGBoost 1.3.0, the default evaluation metric used "
        "with the objective 'binary:logistic' was changed from 'error' to 'logloss'. Explicitly set eval_metric "
        "if you'd like to restore the old behavior.",
        "[0]\ttrain-logloss:0.67773",
        "[T algo-1:PID INFO hook.py:428] Monitoring the collections: metrics",
    ]
    assert after(out, "[T algo-1:PID INFO hook.py:428]", 3)[1:] == [
        f"[T algo-1:PID INFO hook.py:491] Hook is writing from the hook with pid: {os.getpid()}",
        "[1]\ttrain-logloss:0.66230",
    ]
    assert sum("algo-1:PID" in line for line in out) == 8


def test_smdebug_lines_on_1_0_1_match_the_public_log(ml_root, capsys):
    """1.0-1 (smdebug 1.0.10): the hook comes before the matrix size and logs the profiler's verdict itself;
    XGBoost 1.0.0 names ``num_round`` and ``silent``, which the image leaves in the parameters."""
    hps = {"num_round": "3", "objective": "binary:logistic", "max_depth": "5", "silent": "0"}
    out = plain(run(job(ml_root, hps, SDK_DEFAULTS), "1.0-1", capsys))
    assert out[0] == "[T algo-1:PID INFO utils.py:27] RULE_JOB_STOP_SIGNAL_FILENAME: None"
    assert out[1] == "[LOG] Imported framework sagemaker_xgboost_container.training"
    assert after(out, "[LOG] Single node training.", 16)[1:] == [
        "[T algo-1:PID INFO json_config.py:91] Creating hook from json_config at "
        "/opt/ml/input/config/debughookconfig.json.",
        "[T algo-1:PID INFO hook.py:201] tensorboard_dir has not been set for the hook. SMDebug will not be "
        "exporting tensorboard summaries.",
        "[T algo-1:PID INFO profiler_config_parser.py:102] User has disabled profiler.",
        "[T algo-1:PID INFO hook.py:255] Saving to /opt/ml/output/tensors",
        "[T algo-1:PID INFO state_store.py:77] The checkpoint config file "
        "/opt/ml/input/config/checkpointconfig.json does not exist.",
        "[LOG] Debug hook created from config",
        "[LOG] Train matrix has 60 rows",
        "[HH] WARNING: /workspace/src/learner.cc:328: ",
        "Parameters: { num_round, silent } might not be used.",
        "  This may not be accurate due to some parameters are only used in language bindings but",
        "  passed down to XGBoost core.  Or some parameters are not used but slip through this",
        "  verification. Please open an issue if you find above cases.",
        "[0]\ttrain-error:0.40000",
        "[T algo-1:PID INFO hook.py:423] Monitoring the collections: metrics",
        f"[T algo-1:PID INFO hook.py:486] Hook is writing from the hook with pid: {os.getpid()}",
    ]


def test_smdebug_on_python_3_8_plus_names_the_first_line_of_a_multiline_call(ml_root, capsys):
    """1.7-1 runs Python 3.9, which reports ``self.logger.info(`` at its first line (hook.py:206/427 of
    smdebug 1.0.29) where 1.3-1's Python 3.7 reports the argument's (207/428)."""
    out = plain(
        run(job(ml_root, {"num_round": "2", "objective": "reg:squarederror"}, SDK_DEFAULTS), "1.7-1", capsys)
    )
    assert any(
        line.startswith("[T algo-1:PID INFO hook.py:206] tensorboard_dir has not been set") for line in out
    )
    assert "[T algo-1:PID INFO hook.py:427] Monitoring the collections: metrics" in out


def test_smdebug_0_90_2_has_no_import_lines_and_no_claim_line(ml_root, capsys):
    """0.90-2 pins smdebug 0.4.13: no RULE_JOB/profiler lines, no state-store line at INFO, no claim line."""
    out = plain(
        run(job(ml_root, {"num_round": "2", "objective": "binary:logistic"}, SDK_DEFAULTS), "0.90-2", capsys)
    )
    assert [line for line in out if "algo-1:PID" in line] == [
        "[T algo-1:PID INFO json_config.py:90] Creating hook from json_config at "
        "/opt/ml/input/config/debughookconfig.json.",
        "[T algo-1:PID INFO hook.py:151] tensorboard_dir has not been set for the hook. SMDebug will not be "
        "exporting tensorboard summaries.",
        "[T algo-1:PID INFO hook.py:196] Saving to /opt/ml/output/tensors",
        "[T algo-1:PID INFO hook.py:325] Monitoring the collections: metrics",
    ]


@pytest.mark.parametrize("version", ["0.90-1", "3.0-5"])
def test_no_smdebug_in_0_90_1_and_3_0_5(ml_root, capsys, version):
    """0.90-1 has no smdebug; 3.0-5 comments ``add_debugging`` and its import out."""
    out = run(job(ml_root, {"num_round": "2", "objective": "binary:logistic"}, SDK_DEFAULTS), version, capsys)
    assert not any(SMDEBUG_STAMP.match(line) for line in out)
    assert not any("Debug hook created from config" in line for line in out)


def test_without_debug_hook_config_only_the_import_lines(ml_root, capsys):
    """No DebugHookConfig: ``hook_from_config`` finds no file and ``add_debugging`` logs nothing at INFO; importing
    smdebug still logs, and with no profilerconfig.json the parser says so
    (``ProfilerConfigParser.load_config``)."""
    out = plain(run(job(ml_root, {"num_round": "2", "objective": "binary:logistic"}), "1.5-1", capsys))
    assert [line for line in out if "algo-1:PID" in line] == [
        "[T algo-1:PID INFO utils.py:28] RULE_JOB_STOP_SIGNAL_FILENAME: None",
        "[T algo-1:PID INFO profiler_config_parser.py:111] Unable to find config at "
        "/opt/ml/input/config/profilerconfig.json. Profiler is disabled.",
    ]
    assert "[LOG] Debug hook created from config" not in out


def test_tensorboard_and_checkpoint_configs_silence_their_lines(ml_root, tmp_path, capsys):
    """A TensorBoardOutputConfig sets the hook's tensorboard_dir; a CheckpointConfig gives the state store its
    file: neither line is printed then. Configured collections are the ones monitored."""
    configs = {
        "debughookconfig.json": {
            **HOOK,
            "CollectionConfigurations": [{"CollectionName": "feature_importance"}],
        },
        "profilerconfig.json": PROFILER,
        "tensorboardoutputconfig.json": {"LocalPath": "/opt/ml/output/tensorboard"},
    }
    root = job(
        ml_root,
        {"num_round": "2", "objective": "binary:logistic"},
        configs,
        checkpoint={"LocalPath": str(tmp_path / "ck")},
    )
    out = plain(run(root, "1.3-1", capsys))
    assert not any("tensorboard_dir has not been set" in line for line in out)
    assert not any("state_store.py" in line for line in out)
    assert "[T algo-1:PID INFO hook.py:428] Monitoring the collections: feature_importance" in out


def test_kfold_builds_a_hook_per_model_and_only_the_first_writes(ml_root, capsys):
    """``add_debugging`` runs for every k-fold model (1.2-2 … 1.7-1); the first hook claims the output folder
    (``is_first_process``), so the next ones warn instead (smdebug ``hook.py::_initialize_writers``)."""
    hps = {"num_round": "2", "objective": "binary:logistic", "_kfold": "2"}
    out = plain(run(job(ml_root, hps, SDK_DEFAULTS, validation=True), "1.7-1", capsys))
    assert sum("Creating hook from json_config" in line for line in out) == 2
    assert sum("Debug hook created from config" in line for line in out) == 2
    assert sum("User has disabled profiler." in line for line in out) == 1  # one parser per process
    assert sum("Hook is writing from the hook" in line for line in out) == 1
    gap = " " * 28
    assert (
        "[T algo-1:PID WARNING hook.py:494] Unsupported Distributed Training Strategy Detected. "
        f"{gap}Sagemaker-Debugger will only write from one process. {gap}The process with pid: {os.getpid()} "
        "will not be writing any data. "
    ) in out
    hook_at = out.index("[LOG] Debug hook created from config")
    assert out[hook_at + 1] == "[LOG] Train cross validation fold 1"


# --- XGBoost's warnings -----------------------------------------------------------------------------------


UNUSED = {
    "1.0-1": [
        "[HH] WARNING: /workspace/src/learner.cc:328: ",
        "Parameters: { _tuning_objective_metric, csv_weights, early_stopping_rounds, num_round } might not be used.",
        "  This may not be accurate due to some parameters are only used in language bindings but",
        "  passed down to XGBoost core.  Or some parameters are not used but slip through this",
        "  verification. Please open an issue if you find above cases.",
    ],
    "1.2-1": [
        "[HH] WARNING: ../src/learner.cc:516: ",
        "Parameters: { _tuning_objective_metric, csv_weights, early_stopping_rounds } might not be used.",
        "  This may not be accurate due to some parameters are only used in language bindings but",
        "  passed down to XGBoost core.  Or some parameters are not used but slip through this",
        "  verification. Please open an issue if you find above cases.",
    ],
    "1.3-1": [
        "[HH] WARNING: ../src/learner.cc:541: ",
        "Parameters: { csv_weights } might not be used.",
        "  This may not be accurate due to some parameters are only used in language bindings but",
        "  passed down to XGBoost core.  Or some parameters are not used but slip through this",
        "  verification. Please open an issue if you find above cases.",
    ],
    "1.5-1": [
        "[HH] WARNING: ../src/learner.cc:576: ",
        'Parameters: { "csv_weights" } might not be used.',
        "  This could be a false alarm, with some parameters getting used by language bindings but",
        "  then being mistakenly passed down to XGBoost core, or some parameter actually being used",
        "  but getting flagged wrongly here. Please open an issue if you find any such cases.",
    ],
    "1.7-1": ["[HH] WARNING: ../src/learner.cc:767: ", 'Parameters: { "csv_weights" } are not used.'],
    "3.0-5": [
        "/miniconda3/lib/python3.10/site-packages/xgboost/training.py:183: UserWarning: [HH] WARNING: "
        "/workspace/src/learner.cc:738: ",
        'Parameters: { "csv_weights" } are not used.',
        "  bst.update(dtrain, iteration=i, fobj=obj)",
    ],
}


@pytest.mark.parametrize("version", sorted(UNUSED))
def test_unused_parameter_warning_names_what_the_image_leaves_in(ml_root, capsys, version):
    """``csv_weights`` is read with ``.get`` by every branch's ``sagemaker_train`` and so reaches ``xgb.train``;
    up to 1.0-1 ``num_round``, up to 1.2-1 ``early_stopping_rounds`` and ``_tuning_objective_metric`` do too.
    Printed before the first metric line (first ``update``)."""
    hps = {
        "num_round": "3",
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "csv_weights": "0",
        "early_stopping_rounds": "5",
        "_tuning_objective_metric": "validation:logloss",
    }
    out = plain(run(job(ml_root, hps, validation=True), version, capsys))
    expected = UNUSED[version]
    assert after(out, expected[0], len(expected) + 1) == [
        *expected,
        out[out.index(expected[0]) + len(expected)],
    ]
    assert out[out.index(expected[0]) + len(expected)].startswith("[0]\t")


@pytest.mark.parametrize("version", ["0.90-1", "0.90-2"])
def test_xgboost_0_90_has_no_parameter_check(ml_root, capsys, version):
    out = run(
        job(ml_root, {"num_round": "2", "objective": "binary:logistic", "csv_weights": "0"}), version, capsys
    )
    assert not any("Parameters:" in line for line in out)


def test_no_unused_parameter_warning_without_such_keys(ml_root, capsys):
    out = run(job(ml_root, {"num_round": "2", "objective": "binary:logistic"}), "1.7-1", capsys)
    assert not any("Parameters:" in line for line in out)


@pytest.mark.parametrize(
    ("version", "objective", "text"),
    [
        (
            "1.3-1",
            "binary:logistic",
            "../src/learner.cc:1061: Starting in XGBoost 1.3.0, the default evaluation "
            "metric used with the objective 'binary:logistic' was changed from 'error' to 'logloss'.",
        ),
        (
            "1.3-1",
            "multi:softprob",
            "../src/learner.cc:1061: Starting in XGBoost 1.3.0, the default evaluation "
            "metric used with the objective 'multi:softprob' was changed from 'merror' to 'mlogloss'.",
        ),
        (
            "1.5-1",
            "multi:softmax",
            "../src/learner.cc:1115: Starting in XGBoost 1.3.0, the default evaluation "
            "metric used with the objective 'multi:softmax' was changed from 'merror' to 'mlogloss'.",
        ),
        (
            "1.5-1",
            "binary:logitraw",
            "../src/learner.cc:1115: Starting in XGBoost 1.4.0, the default evaluation "
            "metric used with the objective 'binary:logitraw' was changed from 'auc' to 'logloss'.",
        ),
    ],
)
def test_default_metric_notice_on_1_3_and_1_5(ml_root, capsys, version, objective, text):
    hps = {"num_round": "2", "objective": objective}
    if objective.startswith("multi"):
        hps["num_class"] = "2"
    out = plain(run(job(ml_root, hps), version, capsys))
    line = f"[HH] WARNING: {text} Explicitly set eval_metric if you'd like to restore the old behavior."
    assert line in out
    assert out[out.index(line) + 1].startswith("[0]\t")


@pytest.mark.parametrize(
    ("version", "hps"),
    [
        ("1.3-1", {"eval_metric": "error"}),  # a metric is set
        ("1.3-1", {"objective": "binary:logitraw"}),  # 1.4.0 changed that one
        ("1.7-1", {}),  # XGBoost 1.7 no longer says so
        ("1.2-2", {}),  # before the change
    ],
)
def test_no_default_metric_notice(ml_root, capsys, version, hps):
    out = run(job(ml_root, {"num_round": "2", "objective": "binary:logistic", **hps}), version, capsys)
    assert not any("Starting in XGBoost" in line for line in out)


FEVAL = [
    "/miniconda3/lib/python3.9/site-packages/xgboost/training.py:39: UserWarning: `feval` is deprecated, use "
    "`custom_metric` instead.  They have different behavior when custom objective is also used.See "
    "https://xgboost.readthedocs.io/en/latest/tutorials/custom_metric_obj.html for details on the `custom_metric`.",
    "  warnings.warn(",
]


def test_feval_deprecation_on_1_7_1_once_per_process(ml_root, capsys):
    """1.7-1 passes ``feval=configured_feval``: set for a container metric (accuracy), so XGBoost 1.7.4 warns;
    Python prints it once per call site, so once for all k-fold models."""
    hps = {"num_round": "2", "objective": "binary:logistic", "eval_metric": "accuracy", "_kfold": "2"}
    out = run(job(ml_root, hps, validation=True), "1.7-1", capsys)
    assert out.count(FEVAL[0]) == 1
    assert out[out.index(FEVAL[0]) + 1] == FEVAL[1]
    assert out.index(FEVAL[0]) > out.index(
        next(line for line in out if "Train cross validation fold 1" in line)
    )


@pytest.mark.parametrize(
    ("version", "metric"), [("1.7-1", "logloss"), ("1.5-1", "accuracy"), ("3.0-5", "accuracy")]
)
def test_no_feval_deprecation(ml_root, capsys, version, metric):
    """No container metric on 1.7-1: feval is None; 1.5.2 has no ``custom_metric`` yet; 3.0-5 passes
    ``custom_metric=``."""
    out = run(
        job(ml_root, {"num_round": "2", "objective": "binary:logistic", "eval_metric": metric}),
        version,
        capsys,
    )
    assert not any("`feval` is deprecated" in line for line in out)


UBJSON = (
    "UserWarning: [HH] WARNING: /workspace/src/c_api/c_api.cc:1427: Saving model in the UBJSON format as default.  "
    "You can use file extension: `json`, `ubj` or `deprecated` to choose between formats."
)
SITE = "/miniconda3/lib/python3.10/site-packages/sagemaker_xgboost_container"


def test_ubjson_notice_after_the_final_model_lines_on_3_0_5(ml_root, capsys):
    out = plain(run(job(ml_root, {"num_round": "2", "objective": "binary:logistic"}), "3.0-5", capsys))
    assert out[-6:] == [
        "[LOG] FINAL_MODEL_DEBUG: is_master=True, model_dir=/opt/ml/model",
        "FINAL_MODEL_DEBUG: is_master=True, model_dir=/opt/ml/model",
        "[LOG] FINAL_MODEL_SAVE: Saving final model as master",
        "FINAL_MODEL_SAVE: Saving final model as master",
        f"{SITE}/algorithm_mode/train.py:480: {UBJSON}",
        "  bst.save_model(model_location)",
    ]


def test_ubjson_notice_for_intermediate_saves(ml_root, capsys):
    """``save_model_on_termination``: ``SaveIntermediateModel`` saves to a temporary name without extension
    after every round; Python prints a message again only once its timestamp changes."""
    hps = {"num_round": "2", "objective": "binary:logistic", "save_model_on_termination": "true"}
    out = plain(run(job(ml_root, hps), "3.0-5", capsys))
    site = f"{SITE}/checkpointing.py:428: {UBJSON}"
    assert 1 <= out.count(site) <= 2
    assert out[out.index(site) - 1] == "[0]\ttrain-logloss:0.67773"
    assert out[out.index(site) + 1] == "  model.save_model(tf.name)"


def test_no_ubjson_notice_before_3_0_5(ml_root, capsys):
    out = run(job(ml_root, {"num_round": "2", "objective": "binary:logistic"}), "1.7-1", capsys)
    assert not any("UBJSON" in line for line in out)


# --- 3.0-5 k-fold ----------------------------------------------------------------------------------------


def test_kfold_on_3_0_5_prints_the_callback_lines_per_model_and_the_final_lines_once(ml_root, capsys):
    """``get_callbacks(fold=…)`` runs for every model before its "Train cross validation fold" line; after the
    predictions and the overall metrics ``train_job`` prints the FINAL_MODEL lines and saves every model."""
    hps = {"num_round": "2", "objective": "binary:logistic", "_kfold": "2", "_num_cv_round": "2"}
    root = job(ml_root, hps, validation=True)
    out = plain(run(root, "3.0-5", capsys))
    setup = "[LOG] CALLBACK_SETUP_DEBUG: save_model_on_termination=false, is_master=True"
    skip = "[LOG] CALLBACK_SKIPPING save_model_on_termination=false, is_master=True)"
    assert out.count(setup) == 4 and out.count(skip) == 4
    for fold in (1, 2):
        at = out.index(f"[LOG] Train cross validation fold {fold}")
        assert out[at - 2 : at] == [setup, skip]
    tail = out[
        out.index("[LOG] Storing predictions on validation set(s) in /opt/ml/output/data/predictions.csv") :
    ]
    assert tail[1] == "[LOG] The overall metrics of 2-round cross validation"
    assert tail[3:7] == [
        "[LOG] FINAL_MODEL_DEBUG: is_master=True, model_dir=/opt/ml/model",
        "FINAL_MODEL_DEBUG: is_master=True, model_dir=/opt/ml/model",
        "[LOG] FINAL_MODEL_SAVE: Saving final model as master",
        "FINAL_MODEL_SAVE: Saving final model as master",
    ]
    assert tail[7:9] == [
        f"{SITE}/algorithm_mode/train.py:485: {UBJSON}",
        "  bst[fold].save_model(model_location)",
    ]
    assert sorted(p.name for p in (root / "model").iterdir()) == [f"xgboost-model-{i}" for i in range(4)]


# --- the tables against the real libraries (slow: installs each image's XGBoost from PyPI) -----------------

PROBE = """
import json, sys, numpy as np, xgboost as xgb
params, feval = json.loads(sys.argv[1]), sys.argv[2] == "1"
X = np.random.RandomState(0).rand(40, 3); d = xgb.DMatrix(X, label=(X[:, 0] > 0.5).astype(float))
kw = {"feval": lambda p, m: ("acc", 0.5)} if feval else {}
xgb.train(params, d, 1, evals=[(d, "train")], verbose_eval=False, **kw)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("release", "version"),
    [("1.0.0", "1.0-1"), ("1.2.0", "1.2-1"), ("1.3.3", "1.3-1"), ("1.5.2", "1.5-1"), ("1.7.4", "1.7-1")],
)
def test_tables_match_each_images_xgboost(ml_root, capsys, tmp_path, release, version):
    """Run the image's XGBoost with the parameters the image passes and compare with what sagelocal prints."""
    from support.upstream_xgboost import upstream_python

    python = upstream_python(release)
    # what the image leaves in the parameters it passes (algorithm_mode/train.py of the branch)
    params: dict[str, Any] = {"objective": "binary:logistic", "csv_weights": 0}
    if version == "1.0-1":
        params["num_round"] = 2
    if version == "1.2-1":
        params["early_stopping_rounds"] = 5
    feval = version == "1.7-1"
    probe = subprocess.run(
        [str(python), "-c", PROBE, json.dumps(params), "1" if feval else "0"], capture_output=True, text=True
    )
    real = [
        line
        for line in plain((probe.stdout + probe.stderr).splitlines())
        if line and "py:" not in line and "warnings.warn(" not in line
    ]
    hps = {k: str(v) for k, v in params.items()}
    hps["num_round"] = "2"
    if feval:
        hps["eval_metric"] = "accuracy"
    out = plain(run(job(ml_root, hps), version, capsys))
    ours = [
        line
        for line in out
        if line.startswith(
            ("[HH] WARNING", "Parameters:", "  This", "  passed", "  verif", "  then", "  but")
        )
    ]
    if version in ("1.3-1", "1.5-1"):
        assert real == ours
    else:
        assert real == [line for line in ours if "Starting in" not in line]
    if feval:
        warning = next(line for line in (probe.stderr.splitlines()) if "UserWarning" in line)
        assert warning.split("site-packages/", 1)[1] == FEVAL[0].split("site-packages/", 1)[1]


def test_kfold_save_model_on_termination_adds_a_saver_per_model_on_3_0_5(ml_root, capsys):
    """``get_callbacks(fold=…)`` with save_model_on_termination: ``CALLBACK_ADDING`` for every model, whose
    ``SaveIntermediateModelCallBack`` saves ``xgboost-model-<fold>`` (v3.0-5 ``callback.py``)."""
    hps = {"num_round": "2", "objective": "binary:logistic", "_kfold": "2", "save_model_on_termination": "true"}
    root = job(ml_root, hps, validation=True)
    out = plain(run(root, "3.0-5", capsys))
    adding = "[LOG] CALLBACK_ADDING: Adding SaveIntermediateModelCallBack on master"
    assert out.count(adding) == 2
    assert out.count("[LOG] CALLBACK_SETUP_DEBUG: save_model_on_termination=true, is_master=True") == 2
    assert sorted(p.name for p in (root / "model").iterdir()) == ["xgboost-model-0", "xgboost-model-1"]
