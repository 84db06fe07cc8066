"""``sagelocal evaluate``: step 6 of the SageMaker XGBoost tutorial, the test set predicted and the
``Overall Classification Rate`` table printed as the tutorial prints it, plus precision, recall, F1, AUC and log
loss; with ``--plot DIR``, ``confusion.png``, ``roc.png`` and ``metrics.png``.

The scores come from the backend: an endpoint's InvokeEndpoint (``--endpoint``, as the tutorial's
``xgb_predictor.predict`` calls it, in bodies under the 6 MB limit), or the model artifact of a training job
(``--job``) or a URI (``--model``) served in this process by the algorithm's serving code for its image version.
The table and plots are ``sagelocal.evaluation``'s.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sagelocal.backends import DEFAULT_VERSION, Backend, get_backend
from sagelocal.cli.errors import EXIT_USAGE, CliFailure, handle_errors, operation
from sagelocal.cli.train import BackendOption, check_image_flags
from sagelocal.evaluation.curves import metric_series
from sagelocal.evaluation.report import Evaluation, metrics_text, table
from sagelocal.evaluation.report import evaluate as evaluate_scores
from sagelocal.evaluation.testset import EvaluationError, TestSet, bodies, decode_scores, read_test_set

#: What the endpoint is asked for: the image's CSV answer, whatever its default Accept.
CSV = "text/csv"


@handle_errors
def evaluate(
    test: Annotated[
        Path,
        typer.Option(
            "--test", help="The labelled test set: CSV, label first, no header (the tutorial's test.csv)."
        ),
    ],
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Score through this endpoint's InvokeEndpoint.")
    ] = None,
    job: Annotated[
        str | None, typer.Option("--job", help="Score with this Completed training job's model artifact.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Score with this model.tar.gz: an s3:// URI or a local file."),
    ] = None,
    image_uri: Annotated[
        str | None,
        typer.Option("--image-uri", help="With --model: the image whose serving code loads it."),
    ] = None,
    xgboost_version: Annotated[
        str | None,
        typer.Option(
            "--xgboost-version", help=f"With --model: the image version (default {DEFAULT_VERSION})."
        ),
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Binary models: a score above it predicts class 1.")
    ] = 0.5,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write confusion.png, roc.png and metrics.png into this folder."),
    ] = None,
    class_names: Annotated[
        str | None,
        typer.Option(
            "--class-names",
            help="Comma-separated names of classes 0, 1, … (default: the tutorial's 'No Purchase,Purchase' "
            "for two classes, the class numbers otherwise).",
        ),
    ] = None,
    backend: BackendOption = "local",
) -> None:
    """Predict a labelled test set and print the tutorial's classification table and metrics."""
    sources = [
        flag for flag, value in (("--endpoint", endpoint), ("--job", job), ("--model", model)) if value
    ]
    if len(sources) != 1:
        raise CliFailure("sagelocal evaluate: give exactly one of --endpoint, --job or --model.", EXIT_USAGE)
    if (image_uri or xgboost_version) and not model:
        raise CliFailure("sagelocal evaluate: --image-uri and --xgboost-version go with --model.", EXIT_USAGE)
    check_image_flags(image_uri, xgboost_version)
    if plot is not None:
        from sagelocal.evaluation import plots  # noqa: F401  (a missing 'plot' extra fails here, before scoring)

    try:
        test_set = read_test_set(test)
    except EvaluationError as e:
        raise CliFailure(str(e)) from None
    be = get_backend(backend)
    description: dict[str, Any] | None = None
    if endpoint:
        scores = _endpoint_scores(be, endpoint, test_set)
    elif job:
        description = _completed_job(be, job)
        artifact = description["ModelArtifacts"]["S3ModelArtifacts"]
        image = description["AlgorithmSpecification"]["TrainingImage"]
        scores = _artifact_scores(be, artifact, image, test_set)
    else:
        assert model is not None
        image = image_uri or be.image_uri(xgboost_version or DEFAULT_VERSION)
        scores = _artifact_scores(be, model, image, test_set)

    names = [n.strip() for n in class_names.split(",")] if class_names else None
    try:
        result = evaluate_scores(test_set.labels, scores, threshold, names)
    except EvaluationError as e:
        raise CliFailure(str(e)) from None
    sys.stdout.write(table(result))
    sys.stdout.write(metrics_text(result))
    sys.stdout.flush()
    if plot is not None:
        _plots(be, result, plot, job, description, "--endpoint" if endpoint else "--model")


def _endpoint_scores(be: Backend, endpoint: str, test_set: TestSet) -> Any:
    answers = []
    try:
        for body, rows in bodies(test_set.rows):
            with operation("InvokeEndpoint"):
                answer = be.invoke_endpoint(endpoint, body, CSV, CSV)
            answers.append(decode_scores(answer["Body"], rows))
    except EvaluationError as e:
        raise CliFailure(f"Endpoint {endpoint}: {e}") from None
    return _joined(answers)


def _artifact_scores(be: Backend, model_data: str, image: str, test_set: TestSet) -> Any:
    batches = list(bodies(test_set.rows))
    answers = []
    try:
        replies = be.invoke_model_artifact(model_data, image, (body for body, _ in batches), CSV, CSV)
        for (_, rows), reply in zip(batches, replies, strict=False):
            answers.append(decode_scores(reply, rows))
    except EvaluationError as e:
        raise CliFailure(f"Model {model_data}: {e}") from None
    return _joined(answers)


def _joined(answers: list[Any]) -> Any:
    import numpy as np

    if len({a.ndim for a in answers}) > 1 or len({a.shape[1:] for a in answers}) > 1:
        raise CliFailure("The model answered scores of different shapes for different parts of the test set.")
    return np.concatenate(answers)


def _completed_job(be: Backend, job: str) -> dict[str, Any]:
    with operation("DescribeTrainingJob"):
        description = be.describe_training_job(job)
    status = description.get("TrainingJobStatus")
    if status != "Completed" or not (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts"):
        raise CliFailure(f"Training job {job} is {status}: only a Completed job has a model to evaluate.")
    return description


def _plots(
    be: Backend,
    result: Evaluation,
    folder: Path,
    job: str | None,
    description: dict[str, Any] | None,
    source_flag: str,
) -> None:
    from sagelocal.evaluation import plots

    def note(text: str) -> None:
        typer.echo(text, err=True)

    note(f"Wrote {plots.confusion_png(result, folder / 'confusion.png')}")
    if result.scores is None:
        note("roc.png skipped: the model answers class numbers (multi:softmax), not scores to rank by.")
    else:
        note(f"Wrote {plots.roc_png(result, folder / 'roc.png')}")
    if job is None or description is None:
        note(
            f"metrics.png skipped: {source_flag} names no training job, and the metrics per round come from "
            "a training job's log (use --job)."
        )
        return
    definitions = description.get("AlgorithmSpecification", {}).get("MetricDefinitions") or []
    with operation("GetLogEvents"):
        events = be.get_log_events(job)
    series = metric_series(definitions, (e["message"] for e in events))
    if not series:
        note(f"metrics.png skipped: no line of training job {job}'s log matches its MetricDefinitions.")
        return
    note(f"Wrote {plots.metrics_png(series, folder / 'metrics.png', title=f'Training job {job}')}")
