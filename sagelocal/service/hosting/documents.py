"""The documents models, endpoint configs and endpoints are shown as: Describe* (the request echoed with the
defaults SageMaker fills in, plus ARN and times) and the List* summaries (botocore ``sagemaker`` 2017-07-24
``DescribeModelOutput``, ``DescribeEndpointConfigOutput``, ``DescribeEndpointOutput``, ``ModelSummary``,
``EndpointConfigSummary``, ``EndpointSummary``). Times are datetimes; the wire layer formats them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from sagelocal import config
from sagelocal.service.hosting.store import Deployment, EndpointRecord, Instance, StoredRequest


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _container(container: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(container)
    doc.setdefault("Mode", "SingleModel")
    doc.setdefault("Environment", {})
    return doc


def describe_model(model: StoredRequest) -> dict[str, Any]:
    req = model.request
    doc: dict[str, Any] = {"ModelName": req["ModelName"]}
    if req.get("PrimaryContainer") is not None:
        doc["PrimaryContainer"] = _container(req["PrimaryContainer"])
    if req.get("Containers"):
        doc["Containers"] = [_container(c) for c in req["Containers"]]
    for key in ("InferenceExecutionConfig",):
        if req.get(key) is not None:
            doc[key] = req[key]
    doc["ExecutionRoleArn"] = req.get("ExecutionRoleArn", config.DUMMY_ROLE_ARN)
    if req.get("VpcConfig") is not None:
        doc["VpcConfig"] = req["VpcConfig"]
    doc["CreationTime"] = _dt(model.creation_time)
    doc["ModelArn"] = model.arn
    doc["EnableNetworkIsolation"] = bool(req.get("EnableNetworkIsolation", False))
    return doc


def model_summary(model: StoredRequest) -> dict[str, Any]:
    return {"ModelName": model.name, "ModelArn": model.arn, "CreationTime": _dt(model.creation_time)}


def _config_variants(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for variant in variants:
        doc = copy.deepcopy(variant)
        if "ServerlessConfig" not in doc:
            doc.setdefault("InitialVariantWeight", 1.0)
        result.append(doc)
    return result


def describe_endpoint_config(endpoint_config: StoredRequest) -> dict[str, Any]:
    req = endpoint_config.request
    doc: dict[str, Any] = {
        "EndpointConfigName": req["EndpointConfigName"],
        "EndpointConfigArn": endpoint_config.arn,
        "ProductionVariants": _config_variants(req["ProductionVariants"]),
    }
    for key in ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig", "ShadowProductionVariants"):
        if req.get(key) is not None:
            doc[key] = req[key]
    doc["CreationTime"] = _dt(endpoint_config.creation_time)
    doc["EnableNetworkIsolation"] = bool(req.get("EnableNetworkIsolation", False))
    return doc


def endpoint_config_summary(endpoint_config: StoredRequest) -> dict[str, Any]:
    return {
        "EndpointConfigName": endpoint_config.name,
        "EndpointConfigArn": endpoint_config.arn,
        "CreationTime": _dt(endpoint_config.creation_time),
    }


def _deployed_variants(deployment: Deployment, instances: list[Instance]) -> list[dict[str, Any]]:
    result = []
    for variant in deployment.config["ProductionVariants"]:
        model = deployment.models.get(variant.get("ModelName", ""), {})
        image = (model.get("PrimaryContainer") or {}).get("Image", "")
        weight = float(variant.get("InitialVariantWeight", 1.0))
        count = sum(1 for i in instances if i.variant == variant["VariantName"])
        result.append(
            {
                "VariantName": variant["VariantName"],
                "DeployedImages": [
                    {
                        "SpecifiedImage": image,
                        "ResolvedImage": image,
                        "ResolutionTime": _dt(deployment.creation_time),
                    }
                ],
                "CurrentWeight": weight,
                "DesiredWeight": weight,
                "CurrentInstanceCount": count,
                "DesiredInstanceCount": int(variant.get("InitialInstanceCount", 1)),
            }
        )
    return result


def describe_endpoint(
    record: EndpointRecord, live: Deployment | None, instances: list[Instance]
) -> dict[str, Any]:
    """``live``: the deployment invocations go to, once there is one (absent while the endpoint is being
    created)."""
    doc: dict[str, Any] = {
        "EndpointName": record.name,
        "EndpointArn": record.arn,
        "EndpointConfigName": record.config_name,
    }
    if live is not None and record.status in ("InService", "Updating"):
        doc["ProductionVariants"] = _deployed_variants(live, instances)
        if live.config.get("DataCaptureConfig"):
            capture = live.config["DataCaptureConfig"]
            doc["DataCaptureConfig"] = {
                "EnableCapture": bool(capture.get("EnableCapture", False)),
                "CaptureStatus": "Started" if capture.get("EnableCapture") else "Stopped",
                "CurrentSamplingPercentage": capture.get("InitialSamplingPercentage", 0),
                "DestinationS3Uri": capture.get("DestinationS3Uri", ""),
            }
    doc["EndpointStatus"] = record.status
    if record.failure_reason is not None:
        doc["FailureReason"] = record.failure_reason
    doc["CreationTime"] = _dt(record.creation_time)
    doc["LastModifiedTime"] = _dt(record.last_modified_time)
    return doc


def endpoint_summary(record: EndpointRecord) -> dict[str, Any]:
    return {
        "EndpointName": record.name,
        "EndpointArn": record.arn,
        "CreationTime": _dt(record.creation_time),
        "LastModifiedTime": _dt(record.last_modified_time),
        "EndpointStatus": record.status,
    }
