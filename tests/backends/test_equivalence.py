"""The core promise: the tutorial job trains the same model through ``--backend local`` (the algorithm in a
child process) and ``--backend docker`` (the algorithm in sagelocal's image), with the same status phases,
artifacts and logs.

The tutorial: bank-marketing train.csv, test.csv as the validation channel, content type csv, and its
hyperparameters (silent=0 included) on image 1 (``…/xgboost:latest``, XGBoost 0.72's pickle format); the same
without ``silent`` on 3.0-5 (UBJSON).
"""

from __future__ import annotations

import io
import pickle
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.builders import TUTORIAL_HYPERPARAMETERS as TUTORIAL
from support.builders import TUTORIAL_IMAGE as LATEST

from sagelocal.algorithms.xgboost.versions import image_uri_for
from sagelocal.backends.docker import DockerBackend
from sagelocal.backends.local import LocalBackend

#: docker_client and own_images (tests/support/docker_fixture.py)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CASES = {
    "1": (LATEST, TUTORIAL),
    "3.0-5": (image_uri_for("3.0-5"), {k: v for k, v in TUTORIAL.items() if k != "silent"}),
}
#: ``[2026-11-27:01:55:17:INFO]`` (open-source images) and ``[01:55:17]`` (XGBoost 0.72's C++ lines).
TIMESTAMPS = re.compile(r"\[\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d:|^\[\d\d:\d\d:\d\d\]")
#: XGBoost's own warning clock inside a Python warning line (``…: UserWarning: [hh:mm:ss] WARNING: …``).
WARNING_CLOCK = re.compile(r"\[\d\d:\d\d:\d\d\] WARNING")
#: 0.72 logs the memory available when it starts, which changes from one moment to the next.
FREE_MEMORY = re.compile(r"(Available memory size in the node: )[\d.]+mb")


def request(name: str, image: str, hyperparameters: dict[str, str], inputs: dict[str, str]) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "ContentType": "csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel, uri in inputs.items()
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://sagemaker-us-east-1-123456789012/tutorial/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


@pytest.fixture(scope="module")
def runs(
    bank_data: tuple[Path, Path], docker_client: Any, own_images: dict[str, str], tmp_path_factory: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    """Each version's tutorial job through both backends: ``{(backend, version): result}``."""
    train_csv, test_csv = bank_data
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for backend_name, cls in (("local", LocalBackend), ("docker", DockerBackend)):
        backend = cls(home=tmp_path_factory.mktemp(f"home-{backend_name}"))
        bucket = "s3://sagemaker-us-east-1-123456789012/tutorial"
        inputs = {
            "train": backend.upload_input(train_csv, f"{bucket}/train"),
            "validation": backend.upload_input(test_csv, f"{bucket}/validation"),
        }
        for version, (image, hps) in CASES.items():
            name = f"tutorial-{version.replace('.', '-')}"
            backend.create_training_job(request(name, image, hps, inputs))
            desc = backend.wait(name, timeout=900)
            assert desc["TrainingJobStatus"] == "Completed", (backend_name, desc.get("FailureReason"))
            archive = backend.fetch_artifact(desc["ModelArtifacts"]["S3ModelArtifacts"], Path("unused"))
            with tarfile.open(archive) as tar:
                members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
                names = tar.getnames()
            results[(backend_name, version)] = {
                "desc": desc,
                "names": names,
                "members": members,
                "messages": [e["message"] for e in backend.get_log_events(name)],
            }
    return results


def load_booster(payload: bytes, version: str) -> Any:
    import xgboost as xgb

    if version == "1":
        return pickle.load(io.BytesIO(payload))
    booster = xgb.Booster()
    booster.load_model(bytearray(payload))
    return booster


def untimed(messages: list[str]) -> list[str]:
    return [FREE_MEMORY.sub(r"\1<N>mb", WARNING_CLOCK.sub("[T] WARNING", TIMESTAMPS.sub("[T", m))) for m in messages]


@pytest.mark.parametrize("version", list(CASES))
def test_same_status_transitions(runs: dict[tuple[str, str], dict[str, Any]], version: str) -> None:
    def phases(desc: dict[str, Any]) -> list[tuple[str, str]]:
        return [(t["Status"], t["StatusMessage"]) for t in desc["SecondaryStatusTransitions"]]

    local, docker = runs[("local", version)]["desc"], runs[("docker", version)]["desc"]
    assert phases(docker) == phases(local)
    assert phases(local)[-1] == ("Completed", "Training job completed")

    def finals(desc: dict[str, Any]) -> list[tuple[str, float]]:
        return [(m["MetricName"], m["Value"]) for m in desc["FinalMetricDataList"]]

    assert finals(docker) == finals(local)


@pytest.mark.parametrize("version", list(CASES))
def test_same_artifact(runs: dict[tuple[str, str], dict[str, Any]], version: str) -> None:
    local, docker = runs[("local", version)], runs[("docker", version)]
    assert docker["names"] == local["names"] == ["xgboost-model"]
    # Same xgboost (3.0.5) and numpy on both sides: the serialized model is the same, byte for byte.
    assert docker["members"]["xgboost-model"] == local["members"]["xgboost-model"]


@pytest.mark.parametrize("version", list(CASES))
def test_same_predictions(
    runs: dict[tuple[str, str], dict[str, Any]], bank_data: tuple[Path, Path], version: str
) -> None:
    import xgboost as xgb

    test = np.loadtxt(bank_data[1], delimiter=",")
    features = xgb.DMatrix(test[:, 1:])
    local = load_booster(runs[("local", version)]["members"]["xgboost-model"], version).predict(features)
    docker = load_booster(runs[("docker", version)]["members"]["xgboost-model"], version).predict(features)
    assert len(local) == len(test) == 12357
    np.testing.assert_allclose(docker, local, rtol=0, atol=1e-6)


@pytest.mark.parametrize("version", list(CASES))
def test_same_log_lines(runs: dict[tuple[str, str], dict[str, Any]], version: str) -> None:
    local, docker = runs[("local", version)]["messages"], runs[("docker", version)]["messages"]
    rounds = [m for m in local if re.match(r"\[\d+\]#011train-", m)]
    assert len(rounds) == 100
    assert [m for m in docker if re.match(r"\[\d+\]#011train-", m)] == rounds
    assert untimed(docker) == untimed(local)
