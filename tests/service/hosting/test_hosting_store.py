"""The hosting records and the endpoint state machine (no processes): SageMaker's wordings for duplicates and
unknown names, ARNs with the name lower-cased, the documents' shapes, and Creating → InService / Failed,
InService → Updating → InService (or rolled back), Deleting → gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.hosting import config_request, model_request

from sagelocal.aws.errors import ValidationException
from sagelocal.service.db import Database
from sagelocal.service.hosting import documents
from sagelocal.service.hosting.store import HostingStore, Instance

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HostingStore:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    return HostingStore(Database(tmp_path / "sagelocal.db"))


def snapshot() -> dict:
    return {
        "config": config_request("Config-1", "Model-1", count=2),
        "models": {"Model-1": model_request("Model-1", "3.0-5", "s3://b/model.tar.gz")},
    }


def test_models_and_configs_are_their_requests(store: HostingStore) -> None:
    assert store.insert_model("Model-1", model_request("Model-1", "3.0-5", "s3://b/m.tar.gz")) == (
        f"{ARN}:model/model-1"
    )
    with pytest.raises(ValidationException) as info:
        store.insert_model("model-1", model_request("model-1", "3.0-5", "s3://b/m.tar.gz"))
    assert info.value.message == f'Cannot create already existing model "{ARN}:model/model-1".'
    doc = documents.describe_model(store.model("MODEL-1"))
    assert doc["ModelName"] == "Model-1" and doc["ModelArn"] == f"{ARN}:model/model-1"
    assert doc["PrimaryContainer"]["Mode"] == "SingleModel" and doc["PrimaryContainer"]["Environment"] == {}
    assert doc["EnableNetworkIsolation"] is False

    store.insert_config("Config-1", config_request("Config-1", "Model-1"))
    with pytest.raises(ValidationException) as info:
        store.insert_config("Config-1", config_request("Config-1", "Model-1"))
    assert info.value.message == (
        f'Cannot create already existing endpoint configuration "{ARN}:endpoint-config/config-1".'
    )
    config_doc = documents.describe_endpoint_config(store.config("Config-1"))
    assert config_doc["ProductionVariants"][0]["InitialVariantWeight"] == 1

    store.delete_model("Model-1")
    for call, text in (
        (lambda: store.model("Model-1"), f'Could not find model "{ARN}:model/model-1".'),
        (lambda: store.delete_model("Model-1"), f'Could not find model "{ARN}:model/model-1".'),
        (
            lambda: store.config("nope"),
            f'Could not find endpoint configuration "{ARN}:endpoint-config/nope".',
        ),
        (lambda: store.require("Ep"), f'Could not find endpoint "{ARN}:endpoint/ep".'),
    ):
        with pytest.raises(ValidationException) as info:
            call()
        assert info.value.message == text


def test_create_then_in_service(store: HostingStore) -> None:
    record = store.insert_endpoint("Ep", "process", {"EndpointName": "Ep"}, "Config-1", snapshot())
    assert (record.status, record.generation, record.arn) == ("Creating", 1, f"{ARN}:endpoint/ep")
    assert documents.describe_endpoint(record, None, []).keys() == {
        "EndpointName",
        "EndpointArn",
        "EndpointConfigName",
        "EndpointStatus",
        "CreationTime",
        "LastModifiedTime",
    }
    with pytest.raises(ValidationException) as info:
        store.insert_endpoint("EP", "process", {}, "Config-1", snapshot())
    assert info.value.message == f'Cannot create already existing endpoint "{ARN}:endpoint/ep".'

    for i, port in enumerate((5001, 5002)):
        store.put_instance(Instance("Ep", 1, "AllTraffic", f"i-{i}", port, None))
    assert store.go_live("Ep", 1) == []
    record = store.require("Ep")
    assert record.status == "InService"
    doc = documents.describe_endpoint(record, store.deployment("Ep", 1), store.instances("Ep", 1))
    variant = doc["ProductionVariants"][0]
    assert (variant["VariantName"], variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (
        "AllTraffic",
        2,
        2,
    )
    assert variant["DeployedImages"][0]["SpecifiedImage"].endswith("/sagemaker-xgboost:3.0-5")
    routing = store.routing("ep")
    assert routing is not None and [i.port for i in routing[1]] == [5001, 5002]


def test_a_failed_create_fails_the_endpoint_and_delete_removes_it_at_once(store: HostingStore) -> None:
    store.insert_endpoint("Ep", "process", {}, "Config-1", snapshot())
    assert store.fail("Ep", 1, "because") == "Failed"
    assert store.end_deployment("Ep", 1) is False
    record = store.require("Ep")
    assert (record.status, record.failure_reason) == ("Failed", "because")
    with pytest.raises(ValidationException) as info:
        store.start_update("Ep", "Config-1", snapshot())
    assert info.value.message == f'Cannot update failed endpoint "{ARN}:endpoint/ep".'
    assert store.mark_deleting("Ep") == []
    assert store.get("Ep") is None


def test_update_goes_live_or_rolls_back(store: HostingStore) -> None:
    store.insert_endpoint("Ep", "process", {}, "Config-1", snapshot())
    store.go_live("Ep", 1)
    assert store.start_update("Ep", "Config-2", snapshot()) == 2
    with pytest.raises(ValidationException) as info:
        store.start_update("Ep", "Config-2", snapshot())
    assert info.value.message == f'Cannot update in-progress endpoint "{ARN}:endpoint/ep".'
    assert store.fail("Ep", 2, "the update failed") == "InService"  # rolled back
    record = store.require("Ep")
    assert (record.status, record.generation, record.config_name) == ("InService", 1, "Config-1")
    assert record.failure_reason == "the update failed"
    store.end_deployment("Ep", 2)

    assert store.start_update("Ep", "Config-2", snapshot()) == 3
    older = store.go_live("Ep", 3)
    assert [d.generation for d in older or []] == [1]
    record = store.require("Ep")
    assert (record.status, record.generation, record.config_name, record.failure_reason) == (
        "InService",
        3,
        "Config-2",
        None,
    )
    assert store.wanted("Ep", 1) is False and store.wanted("Ep", 3) is True


def test_deleting_ends_with_the_last_deployment(store: HostingStore) -> None:
    store.insert_endpoint("Ep", "process", {}, "Config-1", snapshot())
    store.go_live("Ep", 1)
    store.put_instance(Instance("Ep", 1, "AllTraffic", "i-1", 5001, None))
    assert [d.generation for d in store.mark_deleting("Ep")] == [1]
    assert store.require("Ep").status == "Deleting"
    assert store.wanted("Ep", 1) is False
    assert store.fail("Ep", 1, "ignored while deleting") is None
    assert store.end_deployment("Ep", 1) is True
    assert store.get("Ep") is None and store.instances("Ep") == []
