"""CreateTrainingJob's rules beyond botocore's model, on top of the model walk every operation gets
(:func:`sagelocal.aws.validation.validate`).

- AlgorithmSpecification and ResourceConfig are required: current botocore made them optional (serverless
  jobs); older models, and SageMaker for non-serverless jobs, required them, and the emulator cannot run a job
  without them.
- InstanceType ``local`` (SageMaker SDK local mode's spelling) passes for the local backends only.
- Channel names must be unique (the service's own check, after the model's).
- S3 URIs are ``s3://`` URIs. botocore's model (``(https|s3)://…``) and SageMaker take ``https://`` too, reading
  the URL's host as the bucket name (``https://s3-us-west-2.amazonaws.com/<bucket>`` becomes
  ``s3://s3-us-west-2.amazonaws.com/<bucket>``; aws/amazon-sagemaker-examples#3881), so such a job fails when it
  first touches the data; the local store has no such bucket either, and sagelocal says so at once, in a
  message of its own.
- The instances a job asks for stay within a local quota (``SAGELOCAL_MAX_INSTANCES``, default 8 per instance
  type and job), refused with SageMaker's own ``ResourceLimitExceeded``. botocore's model sets no maximum on
  InstanceCount; the service's quotas do, and without one a request for a billion instances would have the
  emulator build a billion-host cluster description.
- Limits the API reference documents but botocore's model does not carry, reported in the service's
  constraint wording: MaxRuntimeInSeconds at most 28 days (2419200 s: "The maximum value is 28 days",
  StoppingCondition); and a job needs at least one instance and a storage volume, so InstanceCount and
  VolumeSizeInGB are at least 1 unless the job is described by InstanceGroups (the model's minimum of 0
  exists for those).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from sagelocal.aws.errors import ResourceLimitExceeded, ValidationException
from sagelocal.aws.validation import members_of_shape, validate

__all__ = [
    "DEFAULT_MAX_INSTANCES",
    "LOCAL_INSTANCE_TYPES",
    "MAX_INSTANCES_ENV",
    "check_instance_quota",
    "max_instances",
    "validate_create_training_job",
]

#: The variable that sets the local instance quota, and its default. Locally only the first host of a job runs
#: (the others exist in its ``resourceconfig.json`` only), so the quota bounds what a request can make the
#: emulator describe, not CPUs; 8 covers the distributed set-ups the SDK's examples use.
MAX_INSTANCES_ENV = "SAGELOCAL_MAX_INSTANCES"
DEFAULT_MAX_INSTANCES = 8

#: Instance types a local backend runs (SageMaker SDK local mode's spelling). Only with allow_local_instance.
LOCAL_INSTANCE_TYPES = frozenset({"local"})

_EXTRA_REQUIRED = {"CreateTrainingJobRequest": ("AlgorithmSpecification", "ResourceConfig")}

#: StoppingCondition.MaxRuntimeInSeconds: "The default value is 1 day. The maximum value is 28 days."
MAX_RUNTIME_SECONDS = 28 * 24 * 3600


def _ranges(request: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The documented limits beyond the model's, per member path. A negative count or size keeps the model's
    own ``greater than or equal to 0``; a zero one is the service's rule and says 1."""
    ranges: dict[str, dict[str, float]] = {
        "stoppingCondition.maxRuntimeInSeconds": {"max": MAX_RUNTIME_SECONDS}
    }
    resource = request.get("ResourceConfig")
    if isinstance(resource, dict) and not resource.get("InstanceGroups"):
        for member, path in (("InstanceCount", "instanceCount"), ("VolumeSizeInGB", "volumeSizeInGB")):
            if resource.get(member) == 0:
                ranges[f"resourceConfig.{path}"] = {"min": 1}
    return ranges


def _duplicate_channel(request: dict[str, Any]) -> str | None:
    seen: set[str] = set()
    for channel in request.get("InputDataConfig") or []:
        name = channel.get("ChannelName") if isinstance(channel, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            return name
        seen.add(name)
    return None


def max_instances() -> int:
    """The local instance quota: ``$SAGELOCAL_MAX_INSTANCES`` when it is a positive whole number, else 8."""
    text = os.environ.get(MAX_INSTANCES_ENV, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_INSTANCES


def _requested_instances(request: dict[str, Any]) -> Counter[str]:
    """Instances per instance type: ResourceConfig's count (default 1) or the sum over its InstanceGroups."""
    resources = request.get("ResourceConfig") or {}
    wanted: Counter[str] = Counter()
    groups = resources.get("InstanceGroups") or []
    for group in groups:
        wanted[str(group.get("InstanceType"))] += int(group.get("InstanceCount") or 0)
    if not groups:
        count = resources.get("InstanceCount")
        wanted[str(resources.get("InstanceType"))] += 1 if count is None else int(count)
    return wanted


def check_instance_quota(request: dict[str, Any]) -> None:
    """Raise ResourceLimitExceeded, worded as SageMaker words it (its ``'<type> for training job usage'`` quota),
    when the job asks for more instances of a type than the local quota allows. The quota is per job, so the
    current utilization it reports is 0."""
    limit = max_instances()
    for instance_type, count in _requested_instances(request).items():
        if count > limit:
            raise ResourceLimitExceeded(
                f"The account-level service limit '{instance_type} for training job usage' is {limit} Instances, "
                f"with current utilization of 0 Instances and a request delta of {count} Instances. Please use "
                "AWS Service Quotas to request an increase for this quota. If AWS Service Quotas is not "
                "available, contact AWS support to request an increase for this quota. (sagelocal: the quota "
                f"is local; set {MAX_INSTANCES_ENV} to change it.)"
            )


def _check_s3_uris(request: dict[str, Any]) -> None:
    for path, uri in members_of_shape("sagemaker", "CreateTrainingJob", request, "S3Uri"):
        if isinstance(uri, str) and uri.startswith("https://"):
            raise ValidationException(
                f"sagelocal: the value '{uri}' at '{path}' is an https URL; SageMaker would read its host as a "
                "bucket name. The local object store is addressed by s3:// URIs: use s3://<bucket>/<prefix>."
            )


def validate_create_training_job(request: dict[str, Any], *, allow_local_instance: bool = True) -> None:
    """Raise ValidationException, worded as SageMaker words it (:func:`sagelocal.aws.validation.validate`),
    listing every violated constraint of the request; a wrongly typed value raises SerializationException (a
    ValidationException subclass) instead, and a request beyond the local instance quota ResourceLimitExceeded.
    ``allow_local_instance`` lets InstanceType ``local`` through (local backends)."""
    also_allowed = {"resourceConfig.instanceType": LOCAL_INSTANCE_TYPES} if allow_local_instance else {}
    validate(
        "sagemaker",
        "CreateTrainingJob",
        request,
        required=_EXTRA_REQUIRED,
        also_allowed=also_allowed,
        ranges=_ranges(request),
    )
    duplicate = _duplicate_channel(request)
    if duplicate is not None:
        raise ValidationException(
            f"Channel names must be unique within a training job. Duplicate channel name: {duplicate}"
        )
    _check_s3_uris(request)
    check_instance_quota(request)
