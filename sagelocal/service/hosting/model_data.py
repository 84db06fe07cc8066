"""A model's ``ModelDataUrl`` into an instance's ``/opt/ml/model``, and the FailureReasons when it cannot be.

SageMaker downloads the single ``.tar.gz`` named by ``ModelDataUrl`` and extracts it into ``/opt/ml/model``
(botocore ``ContainerDefinition.ModelDataUrl``). CreateModel already refuses a URL with no object behind it
(``Could not find model data at s3://….``, seen from CloudFormation in GH aws-ia/ecs-blueprints#223); an object
that disappears before the endpoint starts, or that is not a tar.gz, fails the endpoint with these reasons
(seen through the SDK's ``UnexpectedStatusException`` in GH
aws-solutions-library-samples/fraud-detection-using-machine-learning#9 and GH aws/deep-learning-containers#569;
the SDK prints ``Reason:  Failed …`` with two spaces: the service's reason starts with one).
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from sagelocal.aws.errors import ServiceError, ValidationException
from sagelocal.aws.refs import S3Uri
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training.artifacts import extract_tar_gz

#: SageMaker names the containers of a model ``container_1``, ``container_2``… in its reasons.
FIRST_CONTAINER = "container_1"


class ModelDataError(Exception):
    """The model data cannot be put in place; ``str()`` is the endpoint's FailureReason."""


def download_failed(url: str, container: str = FIRST_CONTAINER) -> str:
    return (
        f' Failed to download model data for container "{container}" from URL: "{url}". Please ensure that there '
        "is an object located at the URL and that the role passed to CreateModel has permissions to download the "
        "object."
    )


def extract_failed(url: str, container: str = FIRST_CONTAINER) -> str:
    return (
        f' Failed to extract model data archive for container "{container}" from URL "{url}". Please ensure that '
        "the object located at the URL is a valid tar.gz archive."
    )


def _object(objects: ObjectStore, url: str) -> Path | None:
    """The object store's file for ``url`` (``s3://bucket/key``), or None when there is none."""
    try:
        bucket, key = S3Uri.parse(url)
        objects.head_object(bucket, key)
        return objects.object_path(bucket, key)
    except (ServiceError, ValueError):
        return None


def check_exists(objects: ObjectStore, url: str) -> None:
    """CreateModel's check: ValidationException when no object is at ``url``."""
    if _object(objects, url) is None:
        raise ValidationException(f"Could not find model data at {url}.")


def install(objects: ObjectStore, url: str, model_dir: Path) -> None:
    """Extract the tarball at ``url`` into ``model_dir``. Raises ModelDataError."""
    archive = _object(objects, url)
    if archive is None:
        raise ModelDataError(download_failed(url))
    try:
        extract_tar_gz(archive, model_dir)
    except (tarfile.TarError, ValueError, EOFError, OSError):
        raise ModelDataError(extract_failed(url)) from None
