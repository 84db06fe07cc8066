"""``sagelocal jobs list|describe|logs|stop|metrics``: the training jobs of a backend."""

import sys
from typing import Annotated, Any

import typer

from sagelocal.backends import get_backend
from sagelocal.cli.errors import EXIT_FAILED, handle_errors, operation
from sagelocal.cli.listing import list_params, print_listing, when
from sagelocal.cli.metrics import metrics
from sagelocal.cli.train import BackendOption, dump_json, finish

jobs_app = typer.Typer(
    name="jobs",
    help="List, describe, follow and stop training jobs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")


@jobs_app.command("list")
@handle_errors
def list_jobs(
    backend: BackendOption = "local",
    status: Annotated[
        str | None,
        typer.Option("--status", help=f"Only jobs with this TrainingJobStatus ({', '.join(STATUSES)})."),
    ] = None,
    name_contains: Annotated[
        str | None, typer.Option("--name-contains", help="Only names containing this.")
    ] = None,
    max_results: Annotated[int, typer.Option("--max-results", min=1, max=100)] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the ListTrainingJobs response as JSON.")
    ] = False,
) -> None:
    """List training jobs, newest first."""
    be = get_backend(backend)
    with operation("ListTrainingJobs"):
        response = be.list_training_jobs(**list_params(max_results, status, name_contains))
    print_listing(
        response,
        "TrainingJobSummaries",
        "No training jobs.",
        ("Name", "Status", "Secondary status", "Creation time (UTC)"),
        lambda s: (
            s.get("TrainingJobName", ""),
            s.get("TrainingJobStatus", ""),
            s.get("SecondaryStatus", ""),
            when(s.get("CreationTime")),
        ),
        as_json,
    )


def describe_text(d: dict[str, Any]) -> list[str]:
    """A human summary of a DescribeTrainingJob document."""
    lines = [
        f"TrainingJobName:   {d.get('TrainingJobName', '')}",
        f"TrainingJobArn:    {d.get('TrainingJobArn', '')}",
        f"TrainingJobStatus: {d.get('TrainingJobStatus', '')}",
        f"SecondaryStatus:   {d.get('SecondaryStatus', '')}",
    ]
    if d.get("FailureReason"):
        reason = d["FailureReason"].replace("\n", "\\n")
        lines.append(f"FailureReason:     {reason}")
    image = (d.get("AlgorithmSpecification") or {}).get("TrainingImage")
    if image:
        lines.append(f"TrainingImage:     {image}")
    resources = d.get("ResourceConfig") or {}
    if resources:
        lines.append(
            f"Instances:         {resources.get('InstanceCount', '')} x {resources.get('InstanceType', '')}"
        )
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        if d.get(key) is not None:
            lines.append(f"{key + ':':<19}{when(d[key])}")
    for key in ("TrainingTimeInSeconds", "BillableTimeInSeconds"):
        if d.get(key) is not None:
            lines.append(f"{key + ':':<19}{d[key]}")
    artifacts = (d.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if artifacts:
        lines.append(f"ModelArtifacts:    {artifacts}")
    hyperparameters = d.get("HyperParameters") or {}
    if hyperparameters:
        lines.append("HyperParameters:")
        lines += [f"  {k} = {v}" for k, v in hyperparameters.items()]
    channels = d.get("InputDataConfig") or []
    if channels:
        lines.append("InputDataConfig:")
        for channel in channels:
            uri = channel.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri", "")
            content_type = f" ({channel['ContentType']})" if channel.get("ContentType") else ""
            lines.append(f"  {channel.get('ChannelName', '')}: {uri}{content_type}")
    transitions = d.get("SecondaryStatusTransitions") or []
    if transitions:
        lines.append("SecondaryStatusTransitions:")
        lines += [f"  {when(t.get('StartTime'))} {t['Status']} - {t['StatusMessage']}" for t in transitions]
    metrics = d.get("FinalMetricDataList") or []
    if metrics:
        lines.append("FinalMetricDataList:")
        lines += [f"  {m['MetricName']} = {m['Value']}" for m in metrics]
    return lines


@jobs_app.command("describe")
@handle_errors
def describe(
    name: Annotated[str, typer.Argument(help="Training job name.")],
    backend: BackendOption = "local",
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the DescribeTrainingJob document as JSON (datetimes ISO 8601)."),
    ] = False,
) -> None:
    """Describe one training job."""
    be = get_backend(backend)
    with operation("DescribeTrainingJob"):
        description = be.describe_training_job(name)
    if as_json:
        print(dump_json(description))
    else:
        print("\n".join(describe_text(description)))


@jobs_app.command("logs")
@handle_errors
def logs(
    name: Annotated[str, typer.Argument(help="Training job name.")],
    backend: BackendOption = "local",
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Print progress as fit() does until the job ends; exit code as for train."
        ),
    ] = False,
) -> None:
    """Print a training job's log (CloudWatch /aws/sagemaker/TrainingJobs, tabs shown as #011)."""
    be = get_backend(backend)
    if follow:
        from sagelocal.cli.watch import JobWatcher

        with operation("DescribeTrainingJob"):
            description = JobWatcher(be, name).watch(wait=True)
        code = finish(be, description, out=sys.stdout, show_artifacts=False)
        if code:
            raise typer.Exit(code)
        return
    with operation("DescribeTrainingJob"):
        be.describe_training_job(name)  # an unknown job is an error, not an empty log
    with operation("GetLogEvents"):
        events = be.get_log_events(name)
    for event in events:
        print(event["message"])


@jobs_app.command("stop")
@handle_errors
def stop(
    name: Annotated[str, typer.Argument(help="Training job name.")],
    backend: BackendOption = "local",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the job has ended.")] = False,
) -> None:
    """Stop a training job (StopTrainingJob)."""
    be = get_backend(backend)
    with operation("StopTrainingJob"):
        be.stop_training_job(name)
    if wait:
        with operation("DescribeTrainingJob"):
            description = be.wait(name)
    else:
        with operation("DescribeTrainingJob"):
            description = be.describe_training_job(name)
    status = description.get("TrainingJobStatus", "")
    secondary = description.get("SecondaryStatus", "")
    if wait:
        print(f"Training job {name}: {status} ({secondary})")
    else:
        print(f"Stopping training job {name}: {status} ({secondary})")
    if wait and status == "Failed":
        raise typer.Exit(EXIT_FAILED)


jobs_app.command("metrics")(handle_errors(metrics))
