"""The bad-input catalogue: every hyperparameter, data and request error a user can make, driven through the
real ``sagelocal train`` console script (and, where the CLI cannot express the mistake, through the emulated
API), each checked for

* the exact outcome: a ValidationException/ResourceInUse at create time, or a Failed job (or, where the real
  image accepts the input, a Completed one that did what the image does);
* the exact FailureReason or error text, which names the problem so a user can act on it;
* the CLI: a non-zero exit code, the error as one line on stderr, and no Python traceback of sagelocal's
  own (the emulated container's ``framework error:`` log record is SageMaker's output, not a crash);
* a store that stays consistent: SQLite's integrity check, no job left InProgress, no temp file in a bucket.

All cases run at once (one shared state directory, several CLIs in parallel), which also exercises
concurrent writers.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.builders import write_files
from support.reliability_cases import (
    BUCKET,
    ROLE,
    assert_store_consistent,
    channel,
    csv_rows,
    libsvm_rows,
    parquet_bytes,
    request,
    run_cli,
    wait_terminal,
)

from sagelocal.aws.errors import ServiceError
from sagelocal.backends.local import LocalBackend
from sagelocal.cli.errors import one_line

REGION = "us-east-1"
HEADER_CSV = "label,a,b,c\n" + csv_rows()
NON_NUMERIC_CELL = csv_rows().replace("\n", "\n1,abc,0.5,0.2\n", 1)
NON_NUMERIC_FIRST = "1,abc,0.5,0.2\n" + csv_rows()


def _no_objects(uri: str, bucket: str) -> str:
    return (
        f'ClientError: Data download failed:No S3 objects found under S3 URL "{uri}" given in input data '
        f"source. Please ensure that the bucket exists in the selected region ({REGION}), that objects exist "
        f'under that S3 prefix, and that the role "{ROLE}" has "s3:ListBucket" permissions on bucket '
        f'"{bucket}".'
    )


def _channel_not_supported(name: str, content_type: str, mode: str = "File") -> str:
    config = {
        "ContentType": content_type,
        "TrainingInputMode": mode,
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
    }
    return f"Channel configuration for '{name}' channel is not supported: {config!r}"


def _instance_types() -> str:
    from botocore.loaders import Loader

    shapes = Loader().load_service_model("sagemaker", "service-2")["shapes"]
    return ", ".join(shapes["TrainingInstanceType"]["enum"])


PARQUET_FAILURE = (
    "framework error: UserError: Failed to load parquet data with exception:\nCould not open Parquet input source "
    "'/opt/ml/input/data/train/train.parquet': Parquet magic bytes not found in footer. Either the file is "
    "corrupted or this is not a parquet file."
)
EVAL_METRICS = (
    "'accuracy', 'auc', 'aucpr', 'balanced_accuracy', 'f1', 'f1_binary', 'f1_macro', 'map', 'ndcg', "
    "'precision', 'r2', 'recall', 'precision_macro', 'precision_micro', 'recall_macro', 'recall_micro', "
    "'aft-nloglik', 'cox-nloglik', 'error', 'gamma-deviance', 'gamma-nloglik', 'interval-regression-accuracy', "
    "'logloss', 'mae', 'mape', 'merror', 'mlogloss', 'mphe', 'mse', 'poisson-nloglik', 'rmse', 'rmsle', "
    "'tweedie-nloglik'"
)


@dataclass(frozen=True)
class CliCase:
    """``sagelocal train --job-name <name> --train <folder|uri> [args]``.

    ``outcome``: ``Failed`` (``message`` is the exact FailureReason), ``Completed`` (``log`` must appear in the
    job's log), or an AWS error code raised by CreateTrainingJob (``message`` is its exact text).
    ``pattern``: ``message`` is a regular expression (only where the real text carries a clock time)."""

    id: str
    outcome: str
    message: str = ""
    files: dict[str, str | bytes] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    train: str | None = None  # an s3:// URI instead of the case's train/ folder
    name: str | None = None
    log: str | None = None
    pattern: bool = False

    @property
    def job_name(self) -> str:
        return self.name if self.name is not None else "bad-" + self.id.replace(".", "-")


def hp(*pairs: str) -> tuple[str, ...]:
    return tuple(arg for pair in pairs for arg in ("-H", pair))


CSV = ("--content-type", "csv")
TRAIN = {"train/train.csv": csv_rows()}
V072 = ("--xgboost-version", "1")
NUM_ROUND = hp("num_round=2")

CLI_CASES: list[CliCase] = [
    # --- hyperparameters: the open-source images' toolkit messages (reference xgboost-algorithm §6) ---
    CliCase("hp-missing-num-round", "Failed", "framework error: UserError: Missing required hyperparameter: num_round",
            TRAIN, CSV),
    CliCase("hp-silent-1.7-1", "Failed", "framework error: UserError: Extraneous hyperparameter found: silent",
            TRAIN, (*CSV, "--xgboost-version", "1.7-1", *NUM_ROUND, *hp("silent=0"))),
    CliCase("hp-unknown", "Failed", "framework error: UserError: Extraneous hyperparameter found: colour",
            TRAIN, (*CSV, *NUM_ROUND, *hp("colour=blue"))),
    CliCase("hp-num-round-abc", "Failed",
            "framework error: UserError: Hyperparameter num_round: could not parse value (caused by ValueError)",
            TRAIN, (*CSV, *hp("num_round=abc"))),
    CliCase("hp-num-round-1.5", "Failed",
            "framework error: UserError: Hyperparameter num_round: could not parse value (caused by ValueError)",
            TRAIN, (*CSV, *hp("num_round=1.5"))),
    CliCase("hp-num-round-0", "Failed",
            "framework error: UserError: Hyperparameter num_round: 0 is not in [1, +inf)",
            TRAIN, (*CSV, *hp("num_round=0"))),
    CliCase("hp-eta-1.5", "Failed", "framework error: UserError: Hyperparameter eta: 1.5 is not in [0, 1]",
            TRAIN, (*CSV, *NUM_ROUND, *hp("eta=1.5"))),
    CliCase("hp-subsample-0", "Failed",
            "framework error: UserError: Hyperparameter subsample: 0.0 is not in (0, 1]",
            TRAIN, (*CSV, *NUM_ROUND, *hp("subsample=0"))),
    CliCase("hp-tree-method-gpu", "Failed",
            "framework error: UserError: Hyperparameter tree_method: gpu is not in ['auto', 'exact', 'approx', 'hist', "
            "'gpu_hist']",
            TRAIN, (*CSV, *NUM_ROUND, *hp("tree_method=gpu"))),
    CliCase("hp-eval-metric-foo", "Failed",
            f"framework error: UserError: Hyperparameter eval_metric: value ['foo'] not in range [{EVAL_METRICS}]",
            TRAIN, (*CSV, *NUM_ROUND, *hp("objective=binary:logistic", "eval_metric=foo"))),
    CliCase("hp-eval-metric-rmsle-threshold", "Failed",
            "framework error: UserError: Metric 'rmsle@0.3' is not supported. Parameter 'eval_metric' with "
            "customized threshold should be one of these options: 'error', 'ndcg', 'map'.",
            TRAIN, (*CSV, *NUM_ROUND, *hp("objective=binary:logistic", "eval_metric=rmsle@0.3"))),
    CliCase("hp-eval-metric-error-x", "Failed",
            "framework error: UserError: Threshold value 't' in 'error@t' expects float input.",
            TRAIN, (*CSV, *NUM_ROUND, *hp("objective=binary:logistic", "eval_metric=error@x"))),
    CliCase("hp-softmax-no-num-class", "Failed",
            "framework error: UserError: Require input for parameter 'num_class' for multi-classification",
            TRAIN, (*CSV, *NUM_ROUND, *hp("objective=multi:softmax"))),
    CliCase("hp-auc-regression", "Failed",
            "framework error: UserError: Metric 'auc' can only be applied for classification and ranking problems.",
            TRAIN, (*CSV, *NUM_ROUND, *hp("objective=reg:squarederror", "eval_metric=auc"))),
    CliCase("hp-monotone-no-tree-method", "Failed",
            "framework error: UserError: monotone_constraints can be used only when the tree_method parameter is "
            "set to either 'exact' or 'hist'.",
            TRAIN, (*CSV, *NUM_ROUND, *hp("monotone_constraints=(1,0,0)"))),
    CliCase("hp-eval-metric-no-objective", "Failed",
            "framework error: KeyError: 'objective'",  # eval_metric_dep_validator reads deps["objective"]
            TRAIN, (*CSV, *NUM_ROUND, *hp("eval_metric=auc"))),
    CliCase("hp-0.72-missing-num-round", "Failed", "ClientError: Require input for parameter num_round, exit code: 1",
            TRAIN, (*CSV, *V072)),
    CliCase("hp-0.72-eta", "Failed", "ClientError: Parameter 'eta' should be in range [0,1]., exit code: 1",
            TRAIN, (*CSV, *V072, *NUM_ROUND, *hp("eta=1.5"))),
    # --- CSV headers and non-numeric cells, as each image treats them (reference §7, §15) ---
    CliCase("csv-header-0.72", "Failed",
            "ClientError: Non-numeric value 'l' found in the header line 'label,a,b,c\n...' of file 'train.csv'. "
            "CSV format require no header line in it. If header line is already removed, XGBoost does not accept "
            "non-numeric value in the data., exit code: 1",
            {"train/train.csv": HEADER_CSV}, (*CSV, *V072, *NUM_ROUND)),
    CliCase("csv-header-3.0-5", "Completed", files={"train/train.csv": HEADER_CSV}, args=(*CSV, *NUM_ROUND),
            log="Train matrix has 41 rows and 3 columns"),
    CliCase("csv-header-0.90-1", "Completed", files={"train/train.csv": HEADER_CSV},
            args=(*CSV, "--xgboost-version", "0.90-1", *NUM_ROUND), log="Train matrix has 41 rows"),
    CliCase("csv-non-numeric-first-line-0.72", "Failed",
            "ClientError: Non-numeric value 'a' found in the header line '1,abc,0.5,0.2\n...' of file "
            "'train.csv'. CSV format require no header line in it. If header line is already removed, XGBoost "
            "does not accept non-numeric value in the data., exit code: 1",
            {"train/train.csv": NON_NUMERIC_FIRST}, (*CSV, *V072, *NUM_ROUND)),
    CliCase("csv-non-numeric-cell-3.0-5", "Completed", files={"train/train.csv": NON_NUMERIC_CELL},
            args=(*CSV, *NUM_ROUND), log="Train matrix has 41 rows and 3 columns"),
    CliCase("csv-label-out-of-range", "Failed",
            r"framework error: UserError: \[\d\d:\d\d:\d\d\] /workspace/src/objective/regression_obj\.cu:\d+: "
            r"label must be in \[0,1\] for logistic regression",
            {"train/train.csv": csv_rows(labels=(0, 1, 2))}, (*CSV, *NUM_ROUND, *hp("objective=binary:logistic")),
            pattern=True),
    # --- the wrong format for the content type ---
    CliCase("libsvm-sent-as-csv-0.72", "Failed",
            f"ClientError: Blankspace and colon found in firstline '{libsvm_rows().splitlines()[0]}\n...' of file "
            "'train.libsvm'. Please ensure the file is in csv format., exit code: 1",
            {"train/train.libsvm": libsvm_rows()}, (*CSV, *V072, *NUM_ROUND)),
    CliCase("csv-sent-as-libsvm", "Failed",
            f"framework error: UserError: First line '{csv_rows().splitlines()[0]}\n...' of file 'train.csv' is "
            "not 'LIBSVM' format. Please ensure the file is in 'LIBSVM' format.",
            TRAIN, NUM_ROUND),
    CliCase("csv-sent-as-libsvm-0.72", "Failed",
            f"ClientError: Blankspace and colon not found in firstline '{csv_rows().splitlines()[0]}\n...' of file "
            "'train.csv'. ContentType by defaullt is in libsvm. Please ensure the file is in libsvm format., "
            "exit code: 1",
            TRAIN, (*V072, *NUM_ROUND)),
    CliCase("content-type-unknown", "Failed",
            f"framework error: UserError: {_channel_not_supported('train', 'text/foo')}",
            TRAIN, ("--content-type", "text/foo", *NUM_ROUND)),
    CliCase("content-type-with-parameter", "Failed",
            f"framework error: UserError: {_channel_not_supported('train', 'text/csv; label_size=1')}",
            TRAIN, ("--content-type", "text/csv; label_size=1", *NUM_ROUND)),
    # --- files and folders in a channel ---
    CliCase("hidden-file", "Failed",
            "framework error: UserError: Hidden file found in the data path! Remove that before training.",
            {"train/train.csv": csv_rows(), "train/.DS_Store": "x"}, (*CSV, *NUM_ROUND)),
    CliCase("folders-deeper-than-3", "Failed",
            "framework error: UserError: Could not determine delimiter on line :\nCould not determine delimiter",
            {"train/a/b/c/d/train.csv": csv_rows()}, (*CSV, *NUM_ROUND),
            log=":WARNING] The depth of folder /opt/ml/input/data/train exceed the limit 3. Files in deeper sub "
            "dirs won't be loaded. Please adjust the folder structure accordingly."),
    CliCase("zero-byte-train-file", "Failed",
            "framework error: UserError: No data in training channel path /opt/ml/input/data/train",
            {"train/train.csv": ""}, (*CSV, *NUM_ROUND)),
    CliCase("zero-byte-validation-file", "Failed",
            "framework error: UserError: No data in validation channel path /opt/ml/input/data/validation",
            {"train/train.csv": csv_rows(), "validation/validation.csv": ""}, (*CSV, *NUM_ROUND)),
    CliCase("parquet-truncated", "Failed",
            PARQUET_FAILURE,
            {"train/train.parquet": parquet_bytes()[:100]}, ("--content-type", "application/x-parquet", *NUM_ROUND)),
    CliCase("parquet-corrupt", "Failed",
            PARQUET_FAILURE,
            {"train/train.parquet": b"PAR1" + b"\x00not parquet" * 20},
            ("--content-type", "application/x-parquet", *NUM_ROUND)),
    # --- S3 locations ---
    CliCase("missing-bucket", "Failed", _no_objects("s3://no-such-bucket/train", "no-such-bucket"),
            train="s3://no-such-bucket/train", args=(*CSV, *NUM_ROUND)),
    CliCase("missing-prefix", "Failed",
            _no_objects(f"s3://{BUCKET}/nothing/here", BUCKET),
            train=f"s3://{BUCKET}/nothing/here", args=(*CSV, *NUM_ROUND)),
    CliCase("s3-uri-without-bucket", "ValidationException",
            "1 validation error detected: Value 's3://' at 'inputDataConfig.1.member.dataSource.s3DataSource.s3Uri' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$",
            train="s3://", args=(*CSV, *NUM_ROUND)),
    CliCase("output-path-not-s3", "ValidationException",
            "3 validation errors detected: "
            + "; ".join(
                f"Value 'bucket/out' at '{member}.s3OutputPath' failed to satisfy constraint: Member must satisfy "
                "regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$"
                # The SDK sends the output path as DebugHookConfig's and ProfilerConfig's too.
                for member in ("outputDataConfig", "debugHookConfig", "profilerConfig")
            ),
            TRAIN, (*CSV, *NUM_ROUND, "--output-path", "bucket/out")),
    # --- the request itself (reference sagemaker-api §2-3) ---
    CliCase("name-underscore", "ValidationException",
            "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            TRAIN, (*CSV, *NUM_ROUND), name="bad_name"),
    CliCase("name-dot-dot", "ValidationException",
            "1 validation error detected: Value '..' at 'trainingJobName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            TRAIN, (*CSV, *NUM_ROUND), name=".."),
    CliCase("name-64-chars", "ValidationException",
            "2 validation errors detected: "
            f"Value '{'n' * 64}' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular "
            "expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; "
            f"Value '{'n' * 64}' at 'trainingJobName' failed to satisfy constraint: Member must have length less "
            "than or equal to 63",
            TRAIN, (*CSV, *NUM_ROUND), name="n" * 64),
    CliCase("name-duplicate", "ResourceInUse",
            "Training job names must be unique within an AWS account and region, and a training job with this "
            "name already exists",
            TRAIN, (*CSV, *NUM_ROUND), name="bad-first-of-its-name"),
    CliCase("hyperparameters-101", "ValidationException",
            "1 validation error detected: Value '{"
            + ", ".join(["num_round=2", *(f"k{i}=1" for i in range(100))])
            + "}' at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal "
            "to 100",
            TRAIN, (*CSV, *NUM_ROUND, *hp(*(f"k{i}=1" for i in range(100))))),
    CliCase("hyperparameter-2501-chars", "ValidationException",
            "1 validation error detected: Value '{num_round=2, objective=" + "x" * 2501 + "}' at "
            "'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: [Member must "
            "have length less than or equal to 2500, Member must have length greater than or equal to 0, Member "
            "must satisfy regular expression pattern: .*]",
            TRAIN, (*CSV, *NUM_ROUND, *hp("objective=" + "x" * 2501))),
    CliCase("instance-type-unknown", "ValidationException",
            "1 validation error detected: Value 'ml.foo.bar' at 'resourceConfig.instanceType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{_instance_types()}]",
            TRAIN, (*CSV, *NUM_ROUND, "--instance-type", "ml.foo.bar")),
    CliCase("max-run-0", "ValidationException",
            "1 validation error detected: Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1",
            TRAIN, (*CSV, *NUM_ROUND, "--max-run", "0")),
    CliCase("role-not-an-arn", "ValidationException",
            "2 validation errors detected: Value 'admin' at 'roleArn' failed to satisfy constraint: Member must "
            r"satisfy regular expression pattern: ^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$; "
            "Value 'admin' at 'roleArn' failed to satisfy constraint: Member must have length greater than or "
            "equal to 20",
            TRAIN, (*CSV, *NUM_ROUND, "--role", "admin")),
]  # fmt: skip


@dataclass(frozen=True)
class ApiCase:
    """A request the CLI never builds, sent to CreateTrainingJob as boto3 would send it."""

    id: str
    outcome: str
    message: str
    build: Callable[[str, str], dict[str, Any]]  # (job name, train URI) -> request


API_CASES: list[ApiCase] = [
    ApiCase("no-train-channel", "Failed", "framework error: KeyError: 'SM_CHANNEL_TRAIN'",
            lambda n, uri: request(n, [channel("validation", uri)])),
    ApiCase("extraneous-channel", "Failed", "framework error: UserError: Extraneous channel found: test",
            lambda n, uri: request(n, [channel("train", uri), channel("test", uri)])),
    ApiCase("libsvm-in-pipe-mode", "Failed",
            f"framework error: UserError: {_channel_not_supported('train', 'text/libsvm', 'Pipe')}",
            lambda n, uri: request(n, [channel("train", uri, "text/libsvm", mode="Pipe")])),
    ApiCase("empty-channel-name-set", "ValidationException",
            "1 validation error detected: Value '[]' at 'inputDataConfig' failed to satisfy constraint: Member "
            "must have length greater than or equal to 1",
            lambda n, uri: request(n, [])),
    ApiCase("duplicate-channel", "ValidationException",
            "Channel names must be unique within a training job. Duplicate channel name: train",
            lambda n, uri: request(n, [channel("train", uri), channel("train", uri)])),
    ApiCase("s3-uri-not-a-uri", "ValidationException",
            "1 validation error detected: Value 'bucket/train' at "
            "'inputDataConfig.1.member.dataSource.s3DataSource.s3Uri' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$",
            lambda n, uri: request(n, [channel("train", "bucket/train")])),
    ApiCase("unknown-image", "Failed",
            "ClientError: Image '123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1' is not a built-in "
            "SageMaker XGBoost image sagelocal knows. Known versions: 1, 0.90-1, 0.90-2, 1.0-1, 1.2-1, 1.2-2, "
            "1.3-1, 1.5-1, 1.7-1, 3.0-5; run other images with --backend docker.",
            lambda n, uri: {
                **request(n, [channel("train", uri)]),
                "AlgorithmSpecification": {
                    "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1",
                    "TrainingInputMode": "File",
                },
            }),
    ApiCase("hyperparameter-value-not-a-string", "SerializationException",
            "NUMBER_VALUE can not be converted to a String",
            lambda n, uri: request(n, [channel("train", uri)], hyperparameters={"num_round": 3})),  # type: ignore[dict-item]
    ApiCase("nul-in-hyperparameter", "Failed",
            "framework error: UserError: Hyperparameter num_round: could not parse value (caused by ValueError)",
            lambda n, uri: request(n, [channel("train", uri)], hyperparameters={"num_round": "2\x00"})),
]  # fmt: skip


def all_case_ids() -> list[str]:
    return [c.id for c in CLI_CASES] + [c.id for c in API_CASES]


# --- running the catalogue ---------------------------------------------------------------------------------


@dataclass
class CliResult:
    case: CliCase
    process: subprocess.CompletedProcess[str]
    description: dict[str, Any] | None
    describe_error: str | None


@dataclass
class ApiResult:
    case: ApiCase
    name: str
    create_error: ServiceError | None
    description: dict[str, Any] | None
    follow: subprocess.CompletedProcess[str] | None


@dataclass
class Catalogue:
    home: Path
    cli: dict[str, CliResult]
    api: dict[str, ApiResult]


def _run_cli_case(home: Path, root: Path, case: CliCase) -> subprocess.CompletedProcess[str]:
    folder = write_files(root / case.id, case.files)
    args = ["train", "--job-name", case.job_name]
    args += ["--train", case.train or str(folder / "train")]
    if (folder / "validation").exists():
        args += ["--validation", str(folder / "validation")]
    return run_cli(home, *args, *case.args)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    root = tmp_path_factory.mktemp("bad-input")
    home = root / "home"
    backend = LocalBackend(home=home)
    backend.default_bucket()
    train_uri = backend.upload_input(write_files(root / "api-data", TRAIN), f"s3://{BUCKET}/api/train")

    # The job whose name the duplicate case reuses.
    first = run_cli(home, "train", "--job-name", "bad-first-of-its-name", "--train", train_uri, *CSV)
    assert first.returncode == 1, first.stderr

    api: dict[str, ApiResult] = {}
    for case in API_CASES:
        name = f"api-{case.id}"
        try:
            backend.create_training_job(case.build(name, train_uri))
            api[case.id] = ApiResult(case, name, None, None, None)
        except ServiceError as error:
            api[case.id] = ApiResult(case, name, error, None, None)

    with ThreadPoolExecutor(max_workers=6) as pool:
        processes = dict(
            zip(
                [c.id for c in CLI_CASES],
                pool.map(lambda c: _run_cli_case(home, root, c), CLI_CASES),
                strict=True,
            )
        )
    cli: dict[str, CliResult] = {}
    for case in CLI_CASES:
        try:
            description, error = backend.describe_training_job(case.job_name), None
        except ServiceError as e:
            description, error = None, str(e)
        cli[case.id] = CliResult(case, processes[case.id], description, error)

    for result in api.values():
        if result.create_error is None:
            result.description = wait_terminal(backend.describe_training_job, result.name)
            result.follow = run_cli(home, "jobs", "logs", result.name, "--follow")
    return Catalogue(home, cli, api)


def _last_line(text: str) -> str:
    lines = text.rstrip("\n").splitlines()
    return lines[-1] if lines else ""


#: An expected message ``framework error: <Exception>: <message>`` means the open-source image's failure:
#: sagemaker-containers writes ``framework error: \n<traceback>\n<message>`` for every exception
#: (aws/sagemaker-containers v2.8.6.post2 ``_trainer.py``), SageMaker keeps 1,024 characters prefixed
#: ``AlgorithmError: `` (aws/amazon-sagemaker-examples#1740), and sagelocal's CLI adds one line of its own naming
#: the exception.
FRAMEWORK = "framework error: "
TOOLKIT = "sagemaker_algorithm_toolkit.exceptions"


def _assert_image_failure(reason: str, expected: str, pattern: bool, stderr: str, job_name: str) -> None:
    kind, _, message = expected[len(FRAMEWORK) :].partition(": ")
    assert reason.startswith(
        'AlgorithmError: framework error: \nTraceback (most recent call last):\n  File "/miniconda3/lib/python3.'
    ), reason
    assert len(reason) <= 1024
    for host in ("/work/", "/tmp/", "/root/", "sagelocal"):
        assert host not in reason, host
    exception = f"{TOOLKIT}.{kind}" if kind in ("UserError", "AlgorithmError") else kind
    tail = re.escape(f"\n{exception}: ") + (message if pattern else re.escape(message))
    tail += r"\n\n" + (message if pattern else re.escape(message)) + re.escape(", exit code: 1")
    assert len(reason) == 1024 or re.search(tail + "$", reason), reason[-400:]
    *_, error_line, own_line = stderr.rstrip("\n").splitlines()
    assert error_line == f"Error for Training job {job_name}: Failed. Reason: " + one_line(reason)
    root = "sagelocal: the algorithm failed with " + f"{kind}: "
    if pattern:
        assert re.fullmatch(re.escape(root) + message, own_line), own_line
    else:
        assert own_line == root + one_line(message)


def _assert_no_sagelocal_traceback(process: subprocess.CompletedProcess[str]) -> None:
    """sagelocal's own output (stderr) never holds a traceback; stdout may only hold the emulated
    container's ``framework error:`` record, as CloudWatch shows it for the open-source images."""
    # the FailureReason line quotes the image's traceback (one line, "\\n" for newlines), never sagelocal's
    assert "Traceback (most recent call last):\n" not in process.stderr, process.stderr
    assert 'File "/work' not in process.stderr and "sagelocal/" not in process.stderr, process.stderr
    first = process.stdout.find("Traceback (most recent call last)")
    if first >= 0:
        record = process.stdout.rfind(":ERROR] framework error: \n", 0, first)
        assert record >= 0 and process.stdout.rfind("\n20", record, first) < 0, process.stdout[:first]


def test_catalogue_size() -> None:
    ids = all_case_ids()
    assert len(ids) == len(set(ids))
    assert len(ids) >= 30


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_cli_case(catalogue: Catalogue, case: CliCase) -> None:
    result = catalogue.cli[case.id]
    process = result.process
    _assert_no_sagelocal_traceback(process)
    if case.outcome == "Completed":
        assert process.returncode == 0, process.stderr
        assert result.description is not None
        assert result.description["TrainingJobStatus"] == "Completed"
        assert case.log is not None and case.log in process.stdout
        return
    assert process.returncode == 1, (process.returncode, process.stderr)
    if case.outcome == "Failed":
        assert result.description is not None, result.describe_error
        assert result.description["TrainingJobStatus"] == "Failed"
        assert result.description["SecondaryStatus"] == "Failed"
        reason = result.description["FailureReason"]
        if case.message.startswith(FRAMEWORK):
            _assert_image_failure(reason, case.message, case.pattern, process.stderr, case.job_name)
        else:
            if case.pattern:
                assert re.fullmatch(case.message, reason), reason
            else:
                assert reason == case.message
            assert _last_line(
                process.stderr
            ) == f"Error for Training job {case.job_name}: Failed. Reason: " + one_line(reason)
        assert "Failed - Training job failed" in process.stdout
        if case.log:
            assert case.log in process.stdout
    else:
        expected = (
            f"An error occurred ({case.outcome}) when calling the CreateTrainingJob operation: {case.message}"
        )
        assert _last_line(process.stderr) == one_line(expected)
        if case.outcome == "ValidationException":  # nothing was created
            assert result.describe_error == "ValidationException: Requested resource not found."
        assert process.stdout == ""


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.id)
def test_api_case(catalogue: Catalogue, case: ApiCase) -> None:
    result = catalogue.api[case.id]
    if case.outcome != "Failed":
        assert result.create_error is not None, f"{case.id} was accepted"
        assert result.create_error.code == case.outcome
        assert result.create_error.message == case.message
        return
    assert result.create_error is None, str(result.create_error)
    assert result.description is not None and result.follow is not None
    assert result.description["TrainingJobStatus"] == "Failed"
    follow = result.follow
    assert follow.returncode == 1
    _assert_no_sagelocal_traceback(follow)
    reason = result.description["FailureReason"]
    if case.message.startswith(FRAMEWORK):
        _assert_image_failure(reason, case.message, False, follow.stderr, result.name)
        return
    assert reason == case.message
    assert _last_line(follow.stderr) == f"Error for Training job {result.name}: Failed. Reason: " + one_line(
        case.message
    )


def test_store_consistent_after_catalogue(catalogue: Catalogue) -> None:
    report = assert_store_consistent(catalogue.home)
    created_cli = {c.job_name for c in CLI_CASES if c.outcome in ("Failed", "Completed")} | {
        "bad-first-of-its-name"
    }
    created_api = {f"api-{c.id}" for c in API_CASES if c.outcome == "Failed"}
    assert set(report.statuses) == created_cli | created_api
    # A rejected request leaves nothing behind: the only job folders are those of recorded jobs.
    assert sorted(p.name for p in (catalogue.home / "jobs").iterdir()) == sorted(report.statuses)
    # A job ends Completed exactly when its case says the image accepts the input.
    completed = {name for name, status in report.statuses.items() if status == "Completed"}
    assert completed == {c.job_name for c in CLI_CASES if c.outcome == "Completed"}
    # Every Completed job has a complete model.tar.gz; no Failed job published one.
    for name, status in report.statuses.items():
        artifact = catalogue.home / "s3" / BUCKET / name / "output" / "model.tar.gz"
        assert artifact.exists() == (status == "Completed"), name


def test_cli_lists_every_job_after_catalogue(catalogue: Catalogue) -> None:
    listed = run_cli(catalogue.home, "jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    summaries = json.loads(listed.stdout)["TrainingJobSummaries"]
    assert {s["TrainingJobStatus"] for s in summaries} <= {"Completed", "Failed"}
