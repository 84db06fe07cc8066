"""``sagelocal deploy``: a model on an endpoint, as SageMaker Python SDK v2's ``Estimator.deploy()`` makes it.

The requests are the SDK's (reference inference §7; SDK ``estimator.py`` ``deploy``, ``session.py``
``endpoint_from_production_variants``): CreateModel ``{ModelName, ExecutionRoleArn, PrimaryContainer{Image,
Environment: {}, ModelDataUrl}}``, CreateEndpointConfig with one ``AllTraffic`` variant named after the endpoint,
then CreateEndpoint. Names are ``name_from_base(<image repository>)``; the model, the config and the endpoint share
it unless ``--endpoint-name`` is given (then the model keeps the timestamped name, as ``deploy(endpoint_name=…)``).

While the endpoint is Creating the SDK's ``wait_for_endpoint`` prints one character per DescribeEndpoint poll
(``_deploy_done``): ``-`` Creating/Updating, ``!`` InService, ``*`` Failed… This prints the same line (ended
with a newline, as the CLI's output is read line by line), and a Failed endpoint as the SDK's
``UnexpectedStatusException`` says it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from sagelocal.backends import Backend, get_backend
from sagelocal.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    CliFailure,
    err,
    handle_errors,
    one_line,
    operation,
)
from sagelocal.cli.train import (
    DEFAULT_INSTANCE_TYPE,
    BackendOption,
    base_name_from_image,
    check_image_flags,
    choose_image,
    name_from_base,
    resolve_role,
)

#: ``sagemaker.session._deploy_done``'s status characters.
STATUS_CHARACTERS = {
    "OutOfService": "x",
    "Creating": "-",
    "Updating": "-",
    "InService": "!",
    "RollingBack": "<",
    "Deleting": "o",
    "Failed": "*",
}
#: The statuses ``_deploy_done`` keeps polling through.
IN_PROGRESS = ("Creating", "Updating")
#: Least seconds between polls: the SDK waits 30 s (``DEFAULT_EP_POLL``); an emulated endpoint is ready in
#: seconds, so the CLI looks every second (or at the backend's own pace, if slower).
MIN_POLL_INTERVAL = 1.0
TROUBLESHOOTING = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-troubleshooting.html"


def model_request(name: str, image: str, model_data_url: str, role_arn: str) -> dict[str, Any]:
    """CreateModel as ``Model.deploy()`` sends it for the built-in algorithm (no environment of its own)."""
    return {
        "ModelName": name,
        "ExecutionRoleArn": role_arn,
        "PrimaryContainer": {"Image": image, "Environment": {}, "ModelDataUrl": model_data_url},
    }


def endpoint_config_request(
    name: str, model_name: str, instance_type: str, instance_count: int
) -> dict[str, Any]:
    """CreateEndpointConfig as ``sagemaker.production_variant`` builds its one variant."""
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InitialVariantWeight": 1,
                "InitialInstanceCount": instance_count,
                "InstanceType": instance_type,
            }
        ],
    }


def is_uri(source: str) -> bool:
    return source.startswith(("s3://", "https://"))


def resolve_model(
    backend: Backend, source: str, image_uri: str | None, image_version: str | None
) -> tuple[str, str, str | None]:
    """``(ModelDataUrl, Image, the training job's RoleArn or None)`` for ``source``: a model.tar.gz URI, a local
    model.tar.gz (uploaded to the default bucket, as the SDK uploads local model data), or a training job, whose
    ``ModelArtifacts`` and training image are deployed as ``Estimator.deploy()`` deploys them."""
    if is_uri(source):
        return source, choose_image(backend, image_uri, image_version), None
    local = Path(source[len("file://") :] if source.startswith("file://") else source).expanduser()
    if local.is_file():
        image = choose_image(backend, image_uri, image_version)
        bucket = backend.default_bucket()
        with operation("PutObject"):
            url = backend.upload_input(local.resolve(), f"s3://{bucket}/{base_name_from_image(image)}/model")
        return url, image, None
    if "/" in source or source.endswith(".tar.gz"):
        raise typer.BadParameter(f"no such file: {local}", param_hint="'SOURCE'")
    with operation("DescribeTrainingJob"):
        job = backend.describe_training_job(source)
    artifacts = (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if not artifacts or job.get("TrainingJobStatus") != "Completed":
        raise CliFailure(
            f"Training job {source} has no model to deploy: it is {job.get('TrainingJobStatus')}, not Completed."
        )
    trained_with = (job.get("AlgorithmSpecification") or {}).get("TrainingImage") or ""
    if image_uri or image_version or not trained_with:
        image = choose_image(backend, image_uri, image_version)
    else:
        image = trained_with
    return artifacts, image, job.get("RoleArn")


def wait_for_endpoint(backend: Backend, name: str, out: TextIO, interval: float) -> dict[str, Any]:
    """``sagemaker.session.wait_for_endpoint``: sleep, DescribeEndpoint, one status character, until the
    endpoint leaves Creating/Updating. Returns the last DescribeEndpoint document."""
    while True:
        time.sleep(interval)
        with operation("DescribeEndpoint"):
            description = backend.describe_endpoint(name)
        status = description.get("EndpointStatus", "")
        out.write(STATUS_CHARACTERS.get(status, "?"))
        out.flush()
        if status not in IN_PROGRESS:
            out.write("\n")
            out.flush()
            return description


def hosting_failure(name: str, description: dict[str, Any]) -> str:
    """The SDK's ``UnexpectedStatusException`` text for an endpoint that did not come InService."""
    status = description.get("EndpointStatus")
    reason = description.get("FailureReason") or "(No reason provided)"
    return one_line(
        f"Error hosting endpoint {name}: {status}. Reason: {reason}. Try changing the instance type or "
        f"reference the troubleshooting page {TROUBLESHOOTING}"
    )


@handle_errors
def deploy(
    source: Annotated[
        str,
        typer.Argument(
            help="A Completed training job's name, or a model.tar.gz: an s3:// (or https://) URI or a local file."
        ),
    ],
    endpoint_name: Annotated[
        str | None,
        typer.Option(
            "--endpoint-name",
            help="Default: <image repository>-YYYY-MM-DD-HH-MM-SS-mmm, as the SDK names it.",
        ),
    ] = None,
    instance_type: Annotated[str, typer.Option("--instance-type")] = DEFAULT_INSTANCE_TYPE,
    instance_count: Annotated[int, typer.Option("--instance-count", min=1)] = 1,
    image_version: Annotated[
        str | None,
        typer.Option(
            "--image-version",
            help="Built-in XGBoost version to serve with (1, 0.90-1 … 1.7-1, 3.0-5). Default: the training "
            "job's image, or 3.0-5 for a model.tar.gz.",
        ),
    ] = None,
    image_uri: Annotated[
        str | None, typer.Option("--image-uri", help="Serving image URI (excludes --image-version).")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role", help="ExecutionRoleArn (default: the training job's; local backends: a dummy role)."
        ),
    ] = None,
    backend: BackendOption = "local",
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until the endpoint is InService, as deploy().")
    ] = True,
    poll_interval: Annotated[
        float | None,
        typer.Option(
            "--poll-interval", help="Seconds between DescribeEndpoint polls.", hidden=True, min=0.01
        ),
    ] = None,
) -> None:
    """Deploy a model to an endpoint like Estimator.deploy() and print its progress as the SageMaker SDK does.

    Exit codes: 0 InService (or created, with --no-wait), 1 failed or rejected, 2 usage, 130 interrupted.
    """
    check_image_flags(image_uri, image_version)
    be = get_backend(backend)
    data_url, image, job_role = resolve_model(be, source, image_uri, image_version)
    role_arn = resolve_role(be, role or job_role)
    default_name = name_from_base(base_name_from_image(image))
    name = endpoint_name or default_name
    model_name = default_name
    out = sys.stdout
    # The SDK logs these three (``INFO:sagemaker:Creating model with name: …``); the CLI prints them as progress.
    with operation("CreateModel"):
        be.create_model(model_request(model_name, image, data_url, role_arn))
    print(f"Creating model with name: {model_name}", file=out, flush=True)
    with operation("CreateEndpointConfig"):
        be.create_endpoint_config(endpoint_config_request(name, model_name, instance_type, instance_count))
    print(f"Creating endpoint-config with name {name}", file=out, flush=True)
    with operation("CreateEndpoint"):
        be.create_endpoint({"EndpointName": name, "EndpointConfigName": name})
    print(f"Creating endpoint with name {name}", file=out, flush=True)
    if not wait:
        print(f"Endpoint: {name}", file=out)
        return
    interval = poll_interval if poll_interval is not None else max(MIN_POLL_INTERVAL, be.poll_interval)
    try:
        description = wait_for_endpoint(be, name, out, interval)
    except KeyboardInterrupt:
        out.write("\n")
        err(
            f"sagelocal: interrupted; endpoint {name} keeps being created. "
            f"Delete it with: sagelocal endpoints delete {name} --backend {be.name}"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if description.get("EndpointStatus") != "InService":
        err(hosting_failure(name, description))
        raise typer.Exit(EXIT_FAILED)
    print(f"Endpoint: {name}", file=out)
