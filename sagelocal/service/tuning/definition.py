"""A tuning job's TrainingJobDefinition, and the CreateTrainingJob request of each child it launches.

Children are named ``<tuning-job>-<NNN>-<8 lowercase hex>`` (1-based, zero-padded; the SageMaker SDK's own
test data shows ``random-240712-1545-019-4ac17a84``), and carry the static hyperparameters, the tuned values and
``_tuning_objective_metric`` (the objective's metric name), as the developer guide describes
(automatic-model-tuning-define-metrics-variables.html). The tuning job's Tags go onto every child.
"""

from __future__ import annotations

import secrets
from typing import Any

from sagelocal.service.training.metrics import metric_definitions

OBJECTIVE_HP = "_tuning_objective_metric"
#: What a child copies from the definition as it is.
_COPIED = (
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "StoppingCondition",
    "VpcConfig",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)


def definition(request: dict[str, Any]) -> dict[str, Any]:
    return dict(request.get("TrainingJobDefinition") or {})


def objective(request: dict[str, Any]) -> tuple[str, bool]:
    """(metric name, maximize?)."""
    config = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    return config["MetricName"], config["Type"] == "Maximize"


def resource_config(definition_: dict[str, Any]) -> dict[str, Any]:
    """The child's ResourceConfig: the definition's, or the one its HyperParameterTuningResourceConfig (what
    the SDK sends since v2.133) describes."""
    if definition_.get("ResourceConfig"):
        return dict(definition_["ResourceConfig"])
    tuning = definition_.get("HyperParameterTuningResourceConfig") or {}
    return {
        k: tuning[k]
        for k in ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")
        if k in tuning
    }


def static_hyperparameters(request: dict[str, Any]) -> dict[str, str]:
    """The static hyperparameters as DescribeHyperParameterTuningJob shows them: with the objective's
    ``_tuning_objective_metric`` added by the service."""
    static = dict(definition(request).get("StaticHyperParameters") or {})
    static[OBJECTIVE_HP] = objective(request)[0]
    return static


def child_name(tuning_name: str, seq: int) -> str:
    return f"{tuning_name}-{seq:03d}-{secrets.token_hex(4)}"


def child_request(request: dict[str, Any], name: str, tuned: dict[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob request of child ``name`` with hyperparameters ``tuned``."""
    d = definition(request)
    spec = d.get("AlgorithmSpecification") or {}
    algorithm = {
        k: spec[k]
        for k in ("TrainingImage", "AlgorithmName", "TrainingInputMode", "MetricDefinitions")
        if spec.get(k)
    }
    child: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": algorithm,
        "HyperParameters": {**static_hyperparameters(request), **tuned},
        "ResourceConfig": resource_config(d),
    }
    child.update({k: d[k] for k in _COPIED if d.get(k) is not None})
    if request.get("Tags"):
        child["Tags"] = list(request["Tags"])
    return child


def emitted_metrics(request: dict[str, Any]) -> list[str]:
    """The metric names a child of this definition reports: its MetricDefinitions, or the built-in
    algorithm's."""
    probe = child_request(request, "probe", {})
    return [m["Name"] for m in metric_definitions(probe)]
