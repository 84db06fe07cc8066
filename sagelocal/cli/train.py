"""``sagelocal train``: one Estimator-equivalent training job, built and printed as SageMaker SDK v2 does.

``build_training_request`` is the reusable part: it returns the CreateTrainingJob body SDK v2 sends for
``Estimator(image_uri, role, instance_count, instance_type, output_path, …).fit({"train": TrainingInput(…)})``
(reference sagemaker-api §4).
"""

import re
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from sagelocal.backends import (
    BACKENDS,
    DEFAULT_VERSION,
    ROLE_ENV,
    Backend,
    UnknownImage,
    get_backend,
    get_version,
)
from sagelocal.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_STOPPED,
    err,
    handle_errors,
    one_line,
    operation,
    root_cause,
)

DEFAULT_INSTANCE_TYPE = "ml.m4.xlarge"
DEFAULT_MAX_RUN = 86400
DEFAULT_VOLUME_SIZE = 30


# --- names, as sagemaker.utils makes them ------------------------------------------------------------


def base_name_from_image(image: str) -> str:
    """``sagemaker.utils.base_name_from_image``: the repository part of an image URI (``xgboost``)."""
    match = re.match(r"^(.+/)?([^:/]+)(:[^:]+)?$", image)
    return match.group(2) if match else image


def sagemaker_timestamp(moment: float | None = None) -> str:
    """``YYYY-MM-DD-HH-MM-SS-mmm`` in UTC, as ``sagemaker.utils.sagemaker_timestamp``."""
    moment = time.time() if moment is None else moment
    millis = round(moment * 1000) % 1000
    return time.strftime(f"%Y-%m-%d-%H-%M-%S-{millis:03d}", time.gmtime(moment))


def name_from_base(base: str, max_length: int = 63, moment: float | None = None) -> str:
    """``sagemaker.utils.name_from_base``: ``<base>-<timestamp>``, the base trimmed to fit ``max_length``."""
    timestamp = sagemaker_timestamp(moment)
    return f"{base[: max_length - len(timestamp) - 1]}-{timestamp}"


# --- the request --------------------------------------------------------------------------------


def s3_channel(name: str, s3_uri: str, content_type: str | None = None) -> dict[str, Any]:
    """A Channel as ``TrainingInput(s3_data=…, content_type=…)`` sends it (no ContentType if none given)."""
    channel: dict[str, Any] = {"ChannelName": name}
    if content_type is not None:
        channel["ContentType"] = content_type
    channel["DataSource"] = {
        "S3DataSource": {
            "S3DataDistributionType": "FullyReplicated",
            "S3DataType": "S3Prefix",
            "S3Uri": s3_uri,
        }
    }
    return channel


def build_training_request(
    *,
    job_name: str,
    image_uri: str,
    role_arn: str,
    output_path: str,
    channels: Mapping[str, str],
    hyperparameters: Mapping[str, Any] | None = None,
    content_type: str | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    volume_size: int = DEFAULT_VOLUME_SIZE,
    max_run: int = DEFAULT_MAX_RUN,
    sdk_defaults: bool = True,
) -> dict[str, Any]:
    """The CreateTrainingJob request SDK v2 sends for the generic ``Estimator``.

    ``channels`` maps channel names to S3 URIs; every channel gets ``content_type``. Hyperparameter values are
    sent as ``str(value)``. With ``sdk_defaults`` the request carries the ``DebugHookConfig`` and
    ``ProfilerConfig`` the SDK adds by default (pointing at ``output_path``), as captured in reference §4.
    """
    request: dict[str, Any] = {
        "AlgorithmSpecification": {"TrainingImage": image_uri, "TrainingInputMode": "File"},
    }
    if sdk_defaults:
        request["DebugHookConfig"] = {"CollectionConfigurations": [], "S3OutputPath": output_path}
    request["HyperParameters"] = {str(k): str(v) for k, v in (hyperparameters or {}).items()}
    request["InputDataConfig"] = [s3_channel(name, uri, content_type) for name, uri in channels.items()]
    request["OutputDataConfig"] = {"S3OutputPath": output_path}
    if sdk_defaults:
        request["ProfilerConfig"] = {"DisableProfiler": False, "S3OutputPath": output_path}
    request["ResourceConfig"] = {
        "InstanceCount": instance_count,
        "InstanceType": instance_type,
        "VolumeSizeInGB": volume_size,
    }
    request["RoleArn"] = role_arn
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": max_run}
    request["TrainingJobName"] = job_name
    return request


def parse_hyperparameters(items: list[str] | None) -> dict[str, str]:
    """``["k=v", …]`` -> ``{"k": "v"}`` (later wins), values kept as strings."""
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got '{item}'", param_hint="'--hyperparameter'")
        result[key.strip()] = value
    return result


def resolve_input(backend: Backend, channel: str, source: str, bucket: str, prefix: str) -> str:
    """An ``s3://``/``https://`` URI as given; a local path or ``file://`` path uploaded as the SDK would."""
    if source.startswith(("s3://", "https://")):
        return source
    path = Path(source[len("file://") :] if source.startswith("file://") else source).expanduser()
    if not path.exists():
        raise typer.BadParameter(f"no such file or directory: {path}", param_hint=f"'--{channel}'")
    with operation("PutObject"):
        return backend.upload_input(path.resolve(), f"s3://{bucket}/{prefix}/{channel}")


def json_default(value: Any) -> Any:
    """JSON for DescribeTrainingJob documents: datetimes as ISO 8601 (as AWS CLI v2 prints them)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dump_json(document: Any) -> str:
    import json

    return json.dumps(document, indent=2, default=json_default)


# --- running and reporting ----------------------------------------------------------------------


def fetch_model(backend: Backend, description: dict[str, Any], download: bool = True) -> Path | None:
    """Where model.tar.gz is on this machine: for local backends the object store's own file; for
    ``--backend sagemaker`` a download into ``$SAGELOCAL_HOME/artifacts/<job>/`` unless ``download`` is off.
    """
    uri = (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if not uri or (backend.downloads_artifacts and not download):
        return None
    from sagelocal import config

    with operation("GetObject"):
        return backend.fetch_artifact(
            uri, config.StatePaths.current().artifact_dir(description["TrainingJobName"])
        )


def finish(
    backend: Backend,
    description: dict[str, Any],
    *,
    out: Any,
    show_artifacts: bool = True,
    download: bool = True,
) -> int:
    """After watching: the SDK's ``_check_job_status`` and seconds lines, then where the model is.

    Returns the exit code. A failure is reported on one line on stderr, before any seconds line (as the SDK
    raises before printing them).
    """
    name = description["TrainingJobName"]
    status = description["TrainingJobStatus"]
    if status not in ("Completed", "Stopped"):
        reason = description.get("FailureReason") or "(No reason provided)"
        err(one_line(f"Error for Training job {name}: {status}. Reason: {reason}"))
        cause = root_cause(reason, lambda: [e.get("message", "") for e in backend.get_log_events(name)])
        if cause:
            err(cause)
        return EXIT_FAILED
    if status == "Stopped":
        err(
            "Job ended with status 'Stopped' rather than 'Completed'. This could mean the job timed out or "
            "stopped early for some other reason: Consider checking whether it completed as you expect."
        )
    for line in _seconds(description):
        print(line, file=out)
    if status == "Stopped":
        return EXIT_STOPPED
    if show_artifacts:
        uri = (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        if uri:
            print(f"Model artifacts: {uri}", file=out)
            local = fetch_model(backend, description, download)
            if local is not None:
                print(f"Local file: {local}", file=out)
    return 0


def _seconds(description: dict[str, Any]) -> list[str]:
    from sagelocal.cli.watch import seconds_lines

    return seconds_lines(description)


def warn_ignored_hyperparameters(request: dict[str, Any]) -> None:
    """One line of sagelocal's own per hyperparameter the 0.72 image would ignore without a word (it trains
    with that parameter's default, as sagelocal then does too)."""
    import sys

    from sagelocal.backends import ignored_hyperparameters

    image = (request.get("AlgorithmSpecification") or {}).get("TrainingImage") or ""
    for key, nearest in ignored_hyperparameters(image, request.get("HyperParameters") or {}):
        hint = f" Did you mean '{nearest}'?" if nearest else ""
        print(
            f"sagelocal: warning: the XGBoost 0.72 image ignores the unknown hyperparameter '{key}' and "
            f"trains with the defaults.{hint}",
            file=sys.stderr,
            flush=True,
        )


def run_job(
    backend: Backend, request: dict[str, Any], *, wait: bool, as_json: bool, download: bool = True
) -> int:
    """CreateTrainingJob, then (with ``wait``) print progress as ``fit()`` does. Returns the exit code."""
    import sys

    from sagelocal.cli.watch import JobWatcher

    name = request["TrainingJobName"]
    progress = sys.stderr if as_json else sys.stdout
    warn_ignored_hyperparameters(request)
    with operation("CreateTrainingJob"):
        backend.create_training_job(request)
    if wait:  # without it the CLI says "Created training job …"
        # The SDK logs this (``INFO:sagemaker:Creating training-job with name: …``); the CLI prints it as
        # progress, not as a log record, once the request was accepted (a rejected one prints only the error).
        print(f"Creating training-job with name: {name}", file=progress, flush=True)
    if not wait:
        with operation("DescribeTrainingJob"):
            description = backend.describe_training_job(name)
        if as_json:
            print(dump_json(description))
        else:
            print(f"Created training job {name} ({description.get('TrainingJobArn', '')})")
            print(f"Follow it with: sagelocal jobs logs {name} --follow --backend {backend.name}")
        return 0
    try:
        with operation("DescribeTrainingJob"):
            if live_terminal(progress):
                from sagelocal.cli.live import watch_live

                description = watch_live(backend, name, live_console(progress))
            else:
                description = JobWatcher(backend, name, out=progress).watch(wait=True)
    except KeyboardInterrupt:
        progress.write("\n")
        err(
            f"sagelocal: interrupted; training job {name} keeps running. "
            f"Stop it with: sagelocal jobs stop {name} --backend {backend.name}"
        )
        return EXIT_INTERRUPTED
    code = finish(backend, description, out=progress, download=download)
    if as_json:
        print(dump_json(description))
    return code


def live_terminal(stream: Any) -> bool:
    """Whether progress goes to a terminal that can redraw (the live display); anything else, a pipe, a file,
    ``TERM=dumb``, gets the SDK-style lines."""
    import os

    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM", "") != "dumb"


def live_console(stream: Any) -> Any:
    from rich.console import Console

    return Console(file=stream)


def resolve_role(backend: Backend, role: str | None) -> str:
    """``--role`` (or ``$SAGELOCAL_ROLE_ARN``), else the dummy role. Backends that talk to real AWS refuse the
    dummy role through their ``check_role`` (a BackendError naming what to set)."""
    import os

    from sagelocal import config

    given = role or os.environ.get(ROLE_ENV)
    backend.check_role(given)
    return given or config.DUMMY_ROLE_ARN


def check_image_flags(image_uri: str | None, xgboost_version: str | None) -> None:
    """Usage errors before anything else happens: both flags, or an unknown version."""
    if image_uri and xgboost_version:
        raise typer.BadParameter(
            "--image-uri and --xgboost-version are mutually exclusive", param_hint="'--image-uri'"
        )
    if xgboost_version:
        try:
            get_version(xgboost_version)
        except UnknownImage as error:
            raise typer.BadParameter(str(error), param_hint="'--xgboost-version'") from None


def choose_image(backend: Backend, image_uri: str | None, xgboost_version: str | None) -> str:
    """``--image-uri`` as given, else the ECR URI of ``--xgboost-version`` (default 3.0-5) in the backend's
    region, as ``sagemaker.image_uris.retrieve("xgboost", region, version)`` gives it."""
    check_image_flags(image_uri, xgboost_version)
    if image_uri:
        return image_uri
    return backend.image_uri(xgboost_version or DEFAULT_VERSION)


BackendOption = Annotated[
    str,
    typer.Option(
        "--backend",
        "-b",
        help="Where the job runs: local (emulator, algorithm in a worker process), docker (emulator, "
        "algorithm in a container) or sagemaker (the real service).",
        metavar="[" + "|".join(BACKENDS) + "]",
        callback=lambda value: _check_backend(value),
    ),
]


def _check_backend(value: str) -> str:
    if value not in BACKENDS:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(BACKENDS)}.")
    return value


DownloadOption = typer.Option(
    "--download-model/--no-download-model",
    help="With --backend sagemaker, download model.tar.gz to $SAGELOCAL_HOME/artifacts/<job>/ and print its "
    "path (local backends always print the object store's own file).",
)


@handle_errors
def train(
    train_input: Annotated[
        str,
        typer.Option(
            "--train", help="Training data: an s3:// URI, or a local file/folder/file:// to upload."
        ),
    ],
    validation: Annotated[
        str | None, typer.Option("--validation", help="Validation data: like --train.")
    ] = None,
    content_type: Annotated[
        str | None,
        typer.Option("--content-type", help="Channel ContentType, e.g. csv, libsvm (default: none sent)."),
    ] = None,
    hyperparameter: Annotated[
        list[str] | None,
        typer.Option("--hyperparameter", "-H", help="KEY=VALUE (repeatable); sent as strings."),
    ] = None,
    image_uri: Annotated[
        str | None, typer.Option("--image-uri", help="Training image URI (excludes --xgboost-version).")
    ] = None,
    xgboost_version: Annotated[
        str | None,
        typer.Option(
            "--xgboost-version",
            help="Built-in XGBoost version (1, 0.90-1 … 1.7-1, 3.0-5); the image is its ECR URI in the "
            "region. "
            "Default: 3.0-5 (683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5).",
        ),
    ] = None,
    instance_type: Annotated[str, typer.Option("--instance-type")] = DEFAULT_INSTANCE_TYPE,
    instance_count: Annotated[int, typer.Option("--instance-count", min=1)] = 1,
    volume_size: Annotated[int, typer.Option("--volume-size", help="VolumeSizeInGB.")] = DEFAULT_VOLUME_SIZE,
    output_path: Annotated[
        str | None, typer.Option("--output-path", help="S3OutputPath (default: s3://<default bucket>/).")
    ] = None,
    job_name: Annotated[
        str | None,
        typer.Option(
            "--job-name",
            help="Default: <image repository>-YYYY-MM-DD-HH-MM-SS-mmm, as the SDK names jobs.",
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role", help="RoleArn (local backends default to a dummy role; required for sagemaker)."
        ),
    ] = None,
    max_run: Annotated[int, typer.Option("--max-run", help="MaxRuntimeInSeconds.")] = DEFAULT_MAX_RUN,
    backend: BackendOption = "local",
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the job until it ends, as fit().")
    ] = True,
    download_model: Annotated[bool, DownloadOption] = True,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the final DescribeTrainingJob document as JSON on stdout (datetimes ISO 8601); "
            "progress goes to stderr.",
        ),
    ] = False,
) -> None:
    """Run one training job like Estimator.fit() and print its progress as the SageMaker SDK does.

    Exit codes: 0 completed, 1 failed or rejected, 2 usage, 3 stopped, 4 internal error, 130 interrupted.
    """
    check_image_flags(image_uri, xgboost_version)
    hyperparameters = parse_hyperparameters(hyperparameter)
    be = get_backend(backend)
    image = choose_image(be, image_uri, xgboost_version)
    role_arn = resolve_role(be, role)
    name = job_name or name_from_base(base_name_from_image(image))
    needs_bucket = output_path is None or not all(
        s.startswith(("s3://", "https://")) for s in (train_input, validation) if s
    )
    bucket = be.default_bucket() if needs_bucket else ""
    channels = {"train": resolve_input(be, "train", train_input, bucket, f"{name}/input")}
    if validation:
        channels["validation"] = resolve_input(be, "validation", validation, bucket, f"{name}/input")
    request = build_training_request(
        job_name=name,
        image_uri=image,
        role_arn=role_arn,
        output_path=output_path or f"s3://{bucket}/",
        channels=channels,
        hyperparameters=hyperparameters,
        content_type=content_type,
        instance_type=instance_type,
        instance_count=instance_count,
        volume_size=volume_size,
        max_run=max_run,
    )
    code = run_job(be, request, wait=wait, as_json=as_json, download=download_model)
    if code:
        raise typer.Exit(code)
