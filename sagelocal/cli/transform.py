"""``sagelocal transform <training job | model> --input s3://… --output s3://…``: one batch transform job, as
``estimator.transformer(...).transform(...)`` runs it, and ``sagelocal transforms list|describe|stop``.

Given a training job, the model is made as the SDK makes it (``INFO:sagemaker:Creating model with name: …``, named
``<image repository>-<timestamp>``, the job's image, artifacts and role); given a model's name, that model is used.
While the job runs its log lines are printed as ``transformer.wait(logs=True)`` prints them (the container's output
and the ``[sagemaker logs]`` data-log lines); then its status, and the outputs written.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from sagelocal.aws.errors import ValidationException
from sagelocal.backends import Backend, get_backend
from sagelocal.backends.base import TERMINAL_STATUSES
from sagelocal.cli.errors import EXIT_FAILED, EXIT_STOPPED, err, handle_errors, operation
from sagelocal.cli.listing import list_params, print_listing, when
from sagelocal.cli.train import (
    DEFAULT_INSTANCE_TYPE,
    BackendOption,
    base_name_from_image,
    dump_json,
    name_from_base,
)

SPLIT_TYPES = ("None", "Line")
STRATEGIES = ("MultiRecord", "SingleRecord")
STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")


def _model_for(be: Backend, source: str) -> tuple[str, str]:
    """The model to transform with and its image: ``source`` itself when it names a model, else a new model of
    training job ``source``'s artifacts (as ``estimator.transformer()`` creates one)."""
    try:
        with operation("DescribeModel"):
            model = be.describe_model(source)
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        return source, str(container.get("Image", source))
    except ValidationException:
        pass
    with operation("DescribeTrainingJob"):
        job = be.describe_training_job(source)
    artifacts = (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if job.get("TrainingJobStatus") != "Completed" or not artifacts:
        raise typer.BadParameter(
            f"training job {source} is {job.get('TrainingJobStatus')}: only a Completed job has a model to "
            "transform with."
        )
    image = job["AlgorithmSpecification"]["TrainingImage"]
    name = name_from_base(base_name_from_image(image))
    print(f"INFO:sagemaker:Creating model with name: {name}", file=sys.stderr)
    request = {
        "ModelName": name,
        "PrimaryContainer": {"Image": image, "ModelDataUrl": artifacts, "Environment": {}},
        "ExecutionRoleArn": job["RoleArn"],
    }
    with operation("CreateModel"):
        be.create_model(request)
    return name, image


def transform_request(
    name: str,
    model: str,
    input_uri: str,
    output_uri: str,
    content_type: str | None,
    split_type: str,
    strategy: str | None,
    instance_type: str,
    instance_count: int,
) -> dict[str, Any]:
    """CreateTransformJob as ``Transformer.transform()`` sends it (members the caller did not set are absent)."""
    transform_input: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
        "SplitType": split_type,
    }
    if content_type:
        transform_input["ContentType"] = content_type
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": transform_input,
        "TransformOutput": {"S3OutputPath": output_uri},
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count},
    }
    if strategy:
        request["BatchStrategy"] = strategy
    return request


def follow(be: Backend, name: str) -> dict[str, Any]:
    """Print the job's log lines as they come, stream by stream in order, until it ends; its last document."""
    printed: dict[str, int] = {}
    while True:
        with operation("DescribeTransformJob"):
            description = be.describe_transform_job(name)
        done = description.get("TransformJobStatus") in TERMINAL_STATUSES
        with operation("GetLogEvents"):
            events = be.transform_log_events(name)
        seen: dict[str, int] = {}
        for event in events:
            stream = event["logStreamName"]
            seen[stream] = seen.get(stream, 0) + 1
            if seen[stream] > printed.get(stream, 0):
                print(event["message"], flush=True)
        printed.update(seen)
        if done:
            return description
        time.sleep(be.poll_interval if be.poll_interval < 1 else 5.0)


def report(be: Backend, description: dict[str, Any]) -> int:
    """The job's outcome as the SDK reports it; returns the exit code."""
    name, status = description["TransformJobName"], description.get("TransformJobStatus")
    if status == "Failed":
        print(
            f"UnexpectedStatusException: Error for Transform job {name}: Failed. Reason: "
            f"{description.get('FailureReason')}. Check troubleshooting guide for common errors: "
            "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-python-sdk-troubleshooting.html",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"Transform job {name}: {status}")
    print(f"Output: {description['TransformOutput']['S3OutputPath']}")
    return EXIT_STOPPED if status == "Stopped" else 0


@handle_errors
def transform(
    source: Annotated[str, typer.Argument(help="A Completed training job's name, or a model's name.")],
    input_uri: Annotated[str, typer.Option("--input", "-i", help="s3:// prefix (or object) to transform.")],
    output_uri: Annotated[str, typer.Option("--output", "-o", help="s3:// prefix for the .out objects.")],
    split_type: Annotated[
        str, typer.Option("--split-type", help=f"How records are split: {', '.join(SPLIT_TYPES)}.")
    ] = "Line",
    strategy: Annotated[
        str | None, typer.Option("--strategy", help=f"BatchStrategy: {', '.join(STRATEGIES)}.")
    ] = None,
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="The records' Content-Type.")
    ] = "text/csv",
    instance_type: Annotated[str, typer.Option("--instance-type")] = DEFAULT_INSTANCE_TYPE,
    instance_count: Annotated[int, typer.Option("--instance-count", min=1)] = 1,
    backend: BackendOption = "local",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job until it ends.")] = True,
) -> None:
    """Run a batch transform job (CreateTransformJob) and print its log as transformer.wait() does."""
    if split_type not in SPLIT_TYPES:
        raise typer.BadParameter(f"--split-type must be one of {', '.join(SPLIT_TYPES)}.")
    if strategy is not None and strategy not in STRATEGIES:
        raise typer.BadParameter(f"--strategy must be one of {', '.join(STRATEGIES)}.")
    be = get_backend(backend)
    model, image = _model_for(be, source)
    name = name_from_base(base_name_from_image(image))  # the SDK's Transformer names its jobs so
    request = transform_request(
        name, model, input_uri, output_uri, content_type, split_type, strategy, instance_type, instance_count
    )
    print(f"INFO:sagemaker:Creating transform job with name: {name}", file=sys.stderr)
    with operation("CreateTransformJob"):
        be.create_transform_job(request)
    if not wait:
        print(name)
        return
    code = report(be, follow(be, name))
    if code:
        raise typer.Exit(code)


# --- sagelocal transforms ---------------------------------------------------------------------------------

transforms_app = typer.Typer(
    name="transforms",
    help="List, describe and stop batch transform jobs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@transforms_app.command("list")
@handle_errors
def list_transforms(
    backend: BackendOption = "local",
    status: Annotated[
        str | None,
        typer.Option("--status", help=f"Only jobs with this TransformJobStatus ({', '.join(STATUSES)})."),
    ] = None,
    name_contains: Annotated[
        str | None, typer.Option("--name-contains", help="Only names containing this.")
    ] = None,
    max_results: Annotated[int, typer.Option("--max-results", min=1, max=100)] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the ListTransformJobs response as JSON.")
    ] = False,
) -> None:
    """List transform jobs, newest first."""
    be = get_backend(backend)
    with operation("ListTransformJobs"):
        response = be.list_transform_jobs(**list_params(max_results, status, name_contains))
    print_listing(
        response,
        "TransformJobSummaries",
        "No transform jobs.",
        ("Name", "Status", "Creation time (UTC)", "End time (UTC)"),
        lambda s: (
            s.get("TransformJobName", ""),
            s.get("TransformJobStatus", ""),
            when(s.get("CreationTime")),
            when(s.get("TransformEndTime")),
        ),
        as_json,
    )


def describe_text(d: dict[str, Any]) -> list[str]:
    """A human summary of a DescribeTransformJob document."""
    lines = [
        f"TransformJobName:   {d.get('TransformJobName', '')}",
        f"TransformJobArn:    {d.get('TransformJobArn', '')}",
        f"TransformJobStatus: {d.get('TransformJobStatus', '')}",
    ]
    if d.get("FailureReason"):
        lines.append(f"FailureReason:      {d['FailureReason']}")
    lines.append(f"ModelName:          {d.get('ModelName', '')}")
    source = d.get("TransformInput", {}).get("DataSource", {}).get("S3DataSource", {})
    lines.append(f"Input:              {source.get('S3Uri', '')} ({source.get('S3DataType', '')})")
    transform_input = d.get("TransformInput", {})
    lines.append(
        f"ContentType:        {transform_input.get('ContentType', '')}  SplitType: "
        f"{transform_input.get('SplitType', '')}  BatchStrategy: {d.get('BatchStrategy', '')}"
    )
    lines.append(f"Output:             {d.get('TransformOutput', {}).get('S3OutputPath', '')}")
    resources = d.get("TransformResources") or {}
    lines.append(
        f"Instances:          {resources.get('InstanceCount', '')} x {resources.get('InstanceType', '')}"
    )
    for key in ("CreationTime", "TransformStartTime", "TransformEndTime"):
        if d.get(key) is not None:
            lines.append(f"{key + ':':<20}{when(d[key])}")
    return lines


@transforms_app.command("describe")
@handle_errors
def describe(
    name: Annotated[str, typer.Argument(help="Transform job name.")],
    backend: BackendOption = "local",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the DescribeTransformJob document as JSON.")
    ] = False,
) -> None:
    """Describe one transform job."""
    be = get_backend(backend)
    with operation("DescribeTransformJob"):
        description = be.describe_transform_job(name)
    print(dump_json(description) if as_json else "\n".join(describe_text(description)))


@transforms_app.command("stop")
@handle_errors
def stop(
    name: Annotated[str, typer.Argument(help="Transform job name.")],
    backend: BackendOption = "local",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the job has ended.")] = False,
) -> None:
    """Stop a transform job (StopTransformJob)."""
    be = get_backend(backend)
    with operation("StopTransformJob"):
        be.stop_transform_job(name)
    with operation("DescribeTransformJob"):
        description = be.wait_transform(name) if wait else be.describe_transform_job(name)
    status = description.get("TransformJobStatus", "")
    print(f"Transform job {name}: {status}" if wait else f"Stopping transform job {name}: {status}")
    if wait and status == "Failed":
        err(f"FailureReason: {description.get('FailureReason')}")
        raise typer.Exit(EXIT_FAILED)
