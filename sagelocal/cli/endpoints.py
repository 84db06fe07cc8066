"""``sagelocal endpoints list|describe|delete`` and ``sagelocal models list|delete``: a backend's hosting
resources, through the Backend protocol's ListEndpoints/DescribeEndpoint/DeleteEndpoint and ListModels/DeleteModel.

Deleting prints what the SDK logs when it deletes (``Deleting endpoint with name: …``, reference inference §7):
``endpoints delete`` is ``Session().delete_endpoint(name)`` (the endpoint only), with ``--delete-config`` it is
``Predictor.delete_endpoint(delete_endpoint_config=True)`` (the config first, then the endpoint).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sagelocal.backends import get_backend
from sagelocal.cli.errors import handle_errors, one_line, operation
from sagelocal.cli.listing import list_params, print_listing, when
from sagelocal.cli.train import BackendOption, dump_json

ENDPOINT_STATUSES = (
    "OutOfService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "InService",
    "Deleting",
    "Failed",
    "UpdateRollbackFailed",
)

endpoints_app = typer.Typer(
    name="endpoints",
    help="List, describe and delete endpoints.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
models_app = typer.Typer(
    name="models",
    help="List and delete models.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

MaxResults = Annotated[int, typer.Option("--max-results", min=1, max=100)]
NameContains = Annotated[str | None, typer.Option("--name-contains", help="Only names containing this.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API response as JSON.")]


@endpoints_app.command("list")
@handle_errors
def list_endpoints(
    backend: BackendOption = "local",
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help=f"Only endpoints with this EndpointStatus ({', '.join(ENDPOINT_STATUSES)})."
        ),
    ] = None,
    name_contains: NameContains = None,
    max_results: MaxResults = 100,
    as_json: AsJson = False,
) -> None:
    """List endpoints, newest first."""
    be = get_backend(backend)
    with operation("ListEndpoints"):
        response = be.list_endpoints(**list_params(max_results, status, name_contains))
    print_listing(
        response,
        "Endpoints",
        "No endpoints.",
        ("Name", "Status", "Creation time (UTC)", "Last modified (UTC)"),
        lambda e: (
            e.get("EndpointName", ""),
            e.get("EndpointStatus", ""),
            when(e.get("CreationTime")),
            when(e.get("LastModifiedTime")),
        ),
        as_json,
    )


def describe_text(d: dict[str, Any]) -> list[str]:
    """A human summary of a DescribeEndpoint document."""
    lines = [
        f"EndpointName:       {d.get('EndpointName', '')}",
        f"EndpointArn:        {d.get('EndpointArn', '')}",
        f"EndpointConfigName: {d.get('EndpointConfigName', '')}",
        f"EndpointStatus:     {d.get('EndpointStatus', '')}",
    ]
    if d.get("FailureReason"):
        lines.append(f"FailureReason:      {one_line(d['FailureReason'])}")
    for key in ("CreationTime", "LastModifiedTime"):
        if d.get(key) is not None:
            lines.append(f"{key + ':':<20}{when(d[key])}")
    variants = d.get("ProductionVariants") or []
    if variants:
        lines.append("ProductionVariants:")
    for variant in variants:
        lines.append(
            f"  {variant.get('VariantName', '')}: {variant.get('CurrentInstanceCount', '')} of "
            f"{variant.get('DesiredInstanceCount', '')} instances, weight {variant.get('CurrentWeight', '')}"
        )
        for image in variant.get("DeployedImages") or []:
            lines.append(f"    image {image.get('SpecifiedImage', '')}")
    return lines


@endpoints_app.command("describe")
@handle_errors
def describe_endpoint(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    backend: BackendOption = "local",
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the DescribeEndpoint document as JSON (datetimes ISO 8601)."),
    ] = False,
) -> None:
    """Describe one endpoint."""
    be = get_backend(backend)
    with operation("DescribeEndpoint"):
        description = be.describe_endpoint(name)
    if as_json:
        print(dump_json(description))
    else:
        print("\n".join(describe_text(description)))


@endpoints_app.command("delete")
@handle_errors
def delete_endpoint(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    backend: BackendOption = "local",
    delete_config: Annotated[
        bool,
        typer.Option(
            "--delete-config",
            help="Also delete its endpoint configuration first, as Predictor.delete_endpoint() does.",
        ),
    ] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the endpoint is gone.")] = False,
) -> None:
    """Delete an endpoint (DeleteEndpoint); its instances stop. The model stays."""
    be = get_backend(backend)
    if delete_config:
        with operation("DescribeEndpoint"):
            config_name = be.describe_endpoint(name)["EndpointConfigName"]
        print(f"Deleting endpoint configuration with name: {config_name}", flush=True)
        with operation("DeleteEndpointConfig"):
            be.delete_endpoint_config(config_name)
    print(f"Deleting endpoint with name: {name}", flush=True)
    with operation("DeleteEndpoint"):
        be.delete_endpoint(name)
    if wait:
        with operation("DescribeEndpoint"):
            be.wait_endpoint(name)


@models_app.command("list")
@handle_errors
def list_models(
    backend: BackendOption = "local",
    name_contains: NameContains = None,
    max_results: MaxResults = 100,
    as_json: AsJson = False,
) -> None:
    """List models, newest first."""
    be = get_backend(backend)
    with operation("ListModels"):
        response = be.list_models(**list_params(max_results, name_contains=name_contains))
    print_listing(
        response,
        "Models",
        "No models.",
        ("Name", "Creation time (UTC)"),
        lambda m: (m.get("ModelName", ""), when(m.get("CreationTime"))),
        as_json,
    )


@models_app.command("delete")
@handle_errors
def delete_model(
    name: Annotated[str, typer.Argument(help="Model name.")],
    backend: BackendOption = "local",
) -> None:
    """Delete a model (DeleteModel); endpoints already running it are not touched."""
    be = get_backend(backend)
    print(f"Deleting model with name: {name}", flush=True)
    with operation("DeleteModel"):
        be.delete_model(name)
