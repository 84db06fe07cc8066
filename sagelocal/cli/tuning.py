"""``sagelocal tuning list|describe|stop|jobs``: the hyperparameter tuning jobs of a backend."""

from typing import Annotated, Any

import typer

from sagelocal.backends import get_backend
from sagelocal.cli.errors import handle_errors, operation
from sagelocal.cli.listing import when
from sagelocal.cli.output import console as _console
from sagelocal.cli.train import BackendOption, dump_json
from sagelocal.cli.tune import child_rows, objective_text, summary_lines, tuned_text

tuning_app = typer.Typer(
    name="tuning",
    help="List, describe and stop hyperparameter tuning jobs, and list their training jobs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

NameArgument = Annotated[str, typer.Argument(help="Hyperparameter tuning job name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the response as JSON (datetimes ISO 8601).")]


def _table(title: str | None, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    _console().print(table)


@tuning_app.command("list")
@handle_errors
def list_tuning_jobs(
    backend: BackendOption = "local",
    name_contains: Annotated[
        str | None, typer.Option("--name-contains", help="Only names containing this.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List tuning jobs, newest first."""
    be = get_backend(backend)
    with operation("ListHyperParameterTuningJobs"):
        found = be.list_hyper_parameter_tuning_jobs(
            NameContains=name_contains, SortBy="CreationTime", SortOrder="Descending", MaxResults=100
        )
    if as_json:
        print(dump_json(found))
        return
    rows = []
    for s in found["HyperParameterTuningJobSummaries"]:
        counters = s["TrainingJobStatusCounters"]
        launched = sum(counters.values())
        limit = (s.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs", "")
        rows.append(
            [
                s["HyperParameterTuningJobName"],
                s["HyperParameterTuningJobStatus"],
                s["Strategy"],
                when(s["CreationTime"]),
                f"{launched}/{limit}",
            ]
        )
    _table(None, ("Name", "Status", "Strategy", "Created (UTC)", "Jobs"), rows)


@tuning_app.command("describe")
@handle_errors
def describe(name: NameArgument, backend: BackendOption = "local", as_json: JsonOption = False) -> None:
    """Describe one tuning job: status, counters and the best training job."""
    be = get_backend(backend)
    with operation("DescribeHyperParameterTuningJob"):
        described = be.describe_hyper_parameter_tuning_job(name)
    if as_json:
        print(dump_json(described))
        return
    config = described["HyperParameterTuningJobConfig"]
    objective = config.get("HyperParameterTuningJobObjective") or {}
    lines = summary_lines(described)
    lines[1:1] = [
        f"Strategy: {config['Strategy']}",
        f"Objective: {objective.get('Type', '')} {objective.get('MetricName', '')}",
        "Training jobs: " + ", ".join(f"{k} {v}" for k, v in described["TrainingJobStatusCounters"].items()),
        "Objectives: " + ", ".join(f"{k} {v}" for k, v in described["ObjectiveStatusCounters"].items()),
    ]
    print("\n".join(lines))


@tuning_app.command("jobs")
@handle_errors
def jobs(name: NameArgument, backend: BackendOption = "local", as_json: JsonOption = False) -> None:
    """List the training jobs a tuning job launched, with their objective and hyperparameters."""
    be = get_backend(backend)
    with operation("ListTrainingJobsForHyperParameterTuningJob"):
        rows: list[dict[str, Any]] = child_rows(be, name)
    if as_json:
        print(dump_json({"TrainingJobSummaries": rows}))
        return
    table = [
        [c["TrainingJobName"], c["TrainingJobStatus"], objective_text(c), tuned_text(c)]
        for c in sorted(rows, key=lambda c: c["TrainingJobName"])
    ]
    _table(None, ("Training job", "Status", "Objective", "Hyperparameters"), table)


@tuning_app.command("stop")
@handle_errors
def stop(name: NameArgument, backend: BackendOption = "local") -> None:
    """Stop a tuning job (StopHyperParameterTuningJob): its running training jobs are stopped too."""
    be = get_backend(backend)
    with operation("StopHyperParameterTuningJob"):
        be.stop_hyper_parameter_tuning_job(name)
    with operation("DescribeHyperParameterTuningJob"):
        status = be.describe_hyper_parameter_tuning_job(name)["HyperParameterTuningJobStatus"]
    print(f"Stopping tuning job {name}: {status}")
