"""``sagelocal tune``: one hyperparameter tuning job of the built-in XGBoost, like ``HyperparameterTuner.fit()``.

The request is the one SDK v2 sends (reference: the SDK's ``_get_tuning_request``): static hyperparameters from
``-H``, ranges from ``--range``, the objective, ResourceLimits and the strategy. While it runs, a live table of
the children (name, status, objective, hyperparameters) is shown when stdout is a terminal; when it is not, one
plain line per change of a child's status.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from sagelocal.backends import Backend, get_backend
from sagelocal.cli.errors import EXIT_FAILED, EXIT_STOPPED, handle_errors, operation
from sagelocal.cli.train import (
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_MAX_RUN,
    DEFAULT_VOLUME_SIZE,
    BackendOption,
    base_name_from_image,
    build_training_request,
    choose_image,
    dump_json,
    parse_hyperparameters,
    resolve_input,
    resolve_role,
)

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
TERMINAL = ("Completed", "Failed", "Stopped")
#: Scaling types ``--range`` accepts after the bounds, by their short spelling.
SCALINGS = {"log": "Logarithmic", "reverse-log": "ReverseLogarithmic", "linear": "Linear", "auto": "Auto"}


def parse_range(item: str) -> tuple[str, dict[str, Any]]:
    """``name=low:high[:int][:log|:reverse-log|:linear]`` (a continuous or, with ``int``, an integer range) or
    ``name=a,b,c`` (categorical) -> (range kind, range) in the request's shape."""
    name, sep, spec = item.partition("=")
    hint = "'--range'"
    if not sep or not name.strip() or not spec:
        raise typer.BadParameter(
            f"expected NAME=LOW:HIGH[:int][:log] or NAME=A,B,…, got '{item}'", param_hint=hint
        )
    name = name.strip()
    if ":" not in spec:
        return "CategoricalParameterRanges", {"Name": name, "Values": [v.strip() for v in spec.split(",")]}
    low, high, *flags = spec.split(":")
    integer = "int" in flags
    scaling = [SCALINGS[f] for f in flags if f in SCALINGS]
    unknown = [f for f in flags if f != "int" and f not in SCALINGS]
    if unknown or len(scaling) > 1:
        raise typer.BadParameter(
            f"unknown range flag in '{item}': use int and one of {', '.join(SCALINGS)}", param_hint=hint
        )
    try:
        float(low), float(high)
    except ValueError:
        raise typer.BadParameter(f"range bounds must be numbers: '{item}'", param_hint=hint) from None
    kind = "IntegerParameterRanges" if integer else "ContinuousParameterRanges"
    return kind, {
        "Name": name,
        "MinValue": low,
        "MaxValue": high,
        "ScalingType": scaling[0] if scaling else "Auto",
    }


def tuning_job_name(image: str) -> str:
    """As the SDK names a tuning job: the image's base name cut to 20 characters, then ``-%y%m%d-%H%M``."""
    return f"{base_name_from_image(image)[:20]}-{time.strftime('%y%m%d-%H%M')}"


def build_tuning_request(
    name: str,
    training: dict[str, Any],
    ranges: list[str],
    *,
    objective: str,
    minimize: bool,
    strategy: str,
    max_jobs: int,
    max_parallel: int,
    early_stopping: str,
    seed: int | None,
    max_runtime: int | None,
    min_resource: int | None,
    max_resource: int | None,
) -> dict[str, Any]:
    """The CreateHyperParameterTuningJob request over the CreateTrainingJob request ``training``."""
    parameter_ranges: dict[str, list[dict[str, Any]]] = {
        "ContinuousParameterRanges": [],
        "CategoricalParameterRanges": [],
        "IntegerParameterRanges": [],
    }
    for item in ranges:
        kind, spec = parse_range(item)
        parameter_ranges[kind].append(spec)
    tuned = {r["Name"] for specs in parameter_ranges.values() for r in specs}
    limits: dict[str, Any] = {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": max_parallel}
    if max_runtime is not None:
        limits["MaxRuntimeInSeconds"] = max_runtime
    config: dict[str, Any] = {
        "Strategy": strategy,
        "ResourceLimits": limits,
        "TrainingJobEarlyStoppingType": early_stopping,
        "HyperParameterTuningJobObjective": {
            "Type": "Minimize" if minimize else "Maximize",
            "MetricName": objective,
        },
        "ParameterRanges": parameter_ranges,
    }
    if seed is not None:
        config["RandomSeed"] = seed
    if strategy == "Hyperband" and (min_resource is not None or max_resource is not None):
        hyperband = {"MinResource": min_resource, "MaxResource": max_resource}
        config["StrategyConfig"] = {
            "HyperbandStrategyConfig": {k: v for k, v in hyperband.items() if v is not None}
        }
    definition = {
        "StaticHyperParameters": {k: v for k, v in training["HyperParameters"].items() if k not in tuned},
        "RoleArn": training["RoleArn"],
        "OutputDataConfig": training["OutputDataConfig"],
        "StoppingCondition": training["StoppingCondition"],
        "AlgorithmSpecification": training["AlgorithmSpecification"],
        "InputDataConfig": training["InputDataConfig"],
        "HyperParameterTuningResourceConfig": training["ResourceConfig"],
    }
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": definition,
    }


# --- following the job --------------------------------------------------------------------------------


def child_rows(be: Backend, name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    token = None
    while True:
        params: dict[str, Any] = {"HyperParameterTuningJobName": name, "MaxResults": 100}
        if token:
            params["NextToken"] = token
        page = be.list_training_jobs_for_hyper_parameter_tuning_job(**params)
        rows += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return rows


def objective_text(child: dict[str, Any]) -> str:
    metric = child.get("FinalHyperParameterTuningJobObjectiveMetric")
    return f"{metric['Value']:.5f}" if metric else ""


def tuned_text(child: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(child["TunedHyperParameters"].items()))


def children_table(described: dict[str, Any], rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    counters = described["TrainingJobStatusCounters"]
    title = (
        f"{described['HyperParameterTuningJobName']}: {described['HyperParameterTuningJobStatus']} "
        f"({counters['Completed']} completed, {counters['InProgress']} in progress, {counters['Stopped']} stopped, "
        f"{counters['RetryableError'] + counters['NonRetryableError']} failed)"
    )
    table = Table(title=title, title_justify="left")
    for column in ("Training job", "Status", "Objective", "Hyperparameters"):
        table.add_column(column)
    best = (described.get("BestTrainingJob") or {}).get("TrainingJobName")
    for child in sorted(rows, key=lambda c: c["TrainingJobName"]):
        mark = " *" if child["TrainingJobName"] == best else ""
        table.add_row(
            child["TrainingJobName"] + mark,
            child["TrainingJobStatus"],
            objective_text(child),
            tuned_text(child),
        )
    return table


def follow(be: Backend, name: str, interval: float) -> dict[str, Any]:
    """Until the tuning job ends: a live table on a terminal, else a line per child status change."""
    from sagelocal.cli.output import console as _console

    console = _console()
    if console.is_terminal:
        from rich.live import Live

        with Live(console=console, refresh_per_second=4) as live:
            while True:
                with operation("DescribeHyperParameterTuningJob"):
                    described = be.describe_hyper_parameter_tuning_job(name)
                live.update(children_table(described, child_rows(be, name)))
                if described["HyperParameterTuningJobStatus"] in TERMINAL:
                    return described
                time.sleep(interval)
    seen: dict[str, str] = {}
    while True:
        with operation("DescribeHyperParameterTuningJob"):
            described = be.describe_hyper_parameter_tuning_job(name)
        for child in sorted(child_rows(be, name), key=lambda c: c["TrainingJobName"]):
            if seen.get(child["TrainingJobName"]) != child["TrainingJobStatus"]:
                seen[child["TrainingJobName"]] = child["TrainingJobStatus"]
                parts = [
                    child["TrainingJobName"],
                    child["TrainingJobStatus"],
                    objective_text(child),
                    tuned_text(child),
                ]
                print(" ".join(p for p in parts if p), flush=True)
        if described["HyperParameterTuningJobStatus"] in TERMINAL:
            return described
        time.sleep(interval)


def summary_lines(described: dict[str, Any]) -> list[str]:
    lines = [
        f"Tuning job {described['HyperParameterTuningJobName']}: {described['HyperParameterTuningJobStatus']}"
    ]
    if described.get("FailureReason"):
        lines.append(f"Failure reason: {described['FailureReason']}")
    best = described.get("BestTrainingJob")
    if best:
        metric = best["FinalHyperParameterTuningJobObjectiveMetric"]
        lines.append(f"Best training job: {best['TrainingJobName']}")
        lines.append(f"  {metric['MetricName']} = {metric['Value']}")
        lines += [f"  {k} = {v}" for k, v in sorted(best["TunedHyperParameters"].items())]
    return lines


def exit_code(described: dict[str, Any]) -> int:
    status = described["HyperParameterTuningJobStatus"]
    return {"Completed": 0, "Stopped": EXIT_STOPPED}.get(status, EXIT_FAILED)


@handle_errors
def tune(
    train_input: Annotated[
        str, typer.Option("--train", help="Training data: an s3:// URI, or a local file/folder.")
    ],
    validation: Annotated[
        str | None, typer.Option("--validation", help="Validation data: like --train.")
    ] = None,
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="Channel ContentType, e.g. csv.")
    ] = None,
    hyperparameter: Annotated[
        list[str] | None, typer.Option("--hyperparameter", "-H", help="Static KEY=VALUE (repeatable).")
    ] = None,
    range_: Annotated[
        list[str] | None,
        typer.Option(
            "--range",
            "-r",
            help="A tuned hyperparameter (repeatable): NAME=LOW:HIGH[:int][:log|:reverse-log|:linear] or NAME=A,B,C.",
        ),
    ] = None,
    objective: Annotated[str, typer.Option("--objective", help="Objective metric.")] = "validation:auc",
    minimize: Annotated[
        bool, typer.Option("--minimize", help="Minimize the objective (default: maximize).")
    ] = False,
    strategy: Annotated[
        str, typer.Option("--strategy", help=f"One of {', '.join(STRATEGIES)}.")
    ] = "Bayesian",
    max_jobs: Annotated[int, typer.Option("--max-jobs", min=1, help="MaxNumberOfTrainingJobs.")] = 10,
    max_parallel: Annotated[int, typer.Option("--max-parallel", min=1, help="MaxParallelTrainingJobs.")] = 1,
    early_stopping: Annotated[str, typer.Option("--early-stopping", help="Off or Auto.")] = "Off",
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="RandomSeed.")] = None,
    max_runtime: Annotated[
        int | None, typer.Option("--max-runtime", help="The tuning job's MaxRuntimeInSeconds.")
    ] = None,
    min_resource: Annotated[int | None, typer.Option("--min-resource", help="Hyperband MinResource.")] = None,
    max_resource: Annotated[int | None, typer.Option("--max-resource", help="Hyperband MaxResource.")] = None,
    image_uri: Annotated[str | None, typer.Option("--image-uri", help="Training image URI.")] = None,
    xgboost_version: Annotated[
        str | None, typer.Option("--xgboost-version", help="Built-in XGBoost version (default 3.0-5).")
    ] = None,
    instance_type: Annotated[str, typer.Option("--instance-type")] = DEFAULT_INSTANCE_TYPE,
    output_path: Annotated[str | None, typer.Option("--output-path", help="S3OutputPath.")] = None,
    job_name: Annotated[
        str | None,
        typer.Option("--job-name", help="Default: sagemaker-xgboost-YYMMDD-HHMM, as the SDK names it."),
    ] = None,
    role: Annotated[str | None, typer.Option("--role", help="RoleArn (required for sagemaker).")] = None,
    max_run: Annotated[
        int, typer.Option("--max-run", help="Each child's MaxRuntimeInSeconds.")
    ] = DEFAULT_MAX_RUN,
    backend: BackendOption = "local",
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the tuning job until it ends.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final DescribeHyperParameterTuningJob document as JSON.")
    ] = False,
) -> None:
    """Run a hyperparameter tuning job of the built-in XGBoost, like HyperparameterTuner.fit().

    Exit codes: 0 completed, 1 failed or rejected, 2 usage, 3 stopped, 4 internal error, 130 interrupted.
    """
    if strategy not in STRATEGIES:
        raise typer.BadParameter(
            f"'{strategy}' is not one of {', '.join(STRATEGIES)}.", param_hint="'--strategy'"
        )
    if early_stopping not in ("Off", "Auto"):
        raise typer.BadParameter(
            f"'{early_stopping}' is not one of Off, Auto.", param_hint="'--early-stopping'"
        )
    static = parse_hyperparameters(hyperparameter)
    for item in range_ or []:
        parse_range(item)  # usage errors before anything is uploaded
    be = get_backend(backend)
    image = choose_image(be, image_uri, xgboost_version)
    role_arn = resolve_role(be, role)
    name = job_name or tuning_job_name(image)
    bucket = be.default_bucket() if output_path is None or not train_input.startswith("s3://") else ""
    channels = {"train": resolve_input(be, "train", train_input, bucket, f"{name}/input")}
    if validation:
        channels["validation"] = resolve_input(be, "validation", validation, bucket, f"{name}/input")
    training = build_training_request(
        job_name=name,
        image_uri=image,
        role_arn=role_arn,
        output_path=output_path or f"s3://{bucket}/",
        channels=channels,
        hyperparameters=static,
        content_type=content_type,
        instance_type=instance_type,
        volume_size=DEFAULT_VOLUME_SIZE,
        max_run=max_run,
        sdk_defaults=False,
    )
    request = build_tuning_request(
        name,
        training,
        range_ or [],
        objective=objective,
        minimize=minimize,
        strategy=strategy,
        max_jobs=max_jobs,
        max_parallel=max_parallel,
        early_stopping=early_stopping,
        seed=seed,
        max_runtime=max_runtime,
        min_resource=min_resource,
        max_resource=max_resource,
    )
    with operation("CreateHyperParameterTuningJob"):
        be.create_hyper_parameter_tuning_job(request)
    progress = sys.stderr if as_json else sys.stdout
    print(f"Creating hyperparameter tuning job with name: {name}", file=progress, flush=True)
    if not wait:
        return
    if as_json:
        stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            described = follow(be, name, max(1.0, be.poll_interval))
        finally:
            sys.stdout = stdout
        print(dump_json(described))
    else:
        described = follow(be, name, max(1.0, be.poll_interval))
        print("\n".join(summary_lines(described)))
    code = exit_code(described)
    if code:
        raise typer.Exit(code)
