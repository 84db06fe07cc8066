"""CreateHyperParameterTuningJob's bad inputs get the service's messages (reference: the public wordings the
rules module cites), and unknown names get ResourceNotFound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.tuning import tuning_request

from sagelocal.aws.errors import ResourceInUse, ResourceNotFound, ValidationException
from sagelocal.service.service import Emulator

INPUTS = {"train": "s3://bucket/train", "validation": "s3://bucket/validation"}


@pytest.fixture
def emulator(home: Path) -> Emulator:
    return Emulator(home)


def _rejected(
    emulator: Emulator, request: dict[str, Any], kind: type[Exception] = ValidationException
) -> str:
    with pytest.raises(kind) as info:
        emulator.tuning.create(request)
    assert emulator.tuning.store.all() == []  # nothing recorded, no tuner started
    return info.value.message  # type: ignore[attr-defined]


def test_name_longer_than_32(emulator: Emulator) -> None:
    name = "t" * 33
    # The model's pattern caps the name at 32 characters too, so both constraints are reported.
    assert _rejected(emulator, tuning_request(name, INPUTS)) == (
        f"2 validation errors detected: Value '{name}' at 'hyperParameterTuningJobName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}; "
        f"Value '{name}' at 'hyperParameterTuningJobName' failed to satisfy constraint: Member must have "
        "length less than or equal to 32"
    )


def test_runtime_below_the_models_minimum(emulator: Emulator) -> None:
    request = tuning_request("short", INPUTS)
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 60
    assert _rejected(emulator, request) == (
        "1 validation error detected: Value '60' at 'hyperParameterTuningJobConfig.resourceLimits."
        "maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 120"
    )


def test_objective_not_among_a_custom_images_metric_definitions(emulator: Emulator) -> None:
    request = tuning_request("custom", INPUTS)
    spec = request["TrainingJobDefinition"]["AlgorithmSpecification"]
    spec["TrainingImage"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algorithm:1"
    spec["MetricDefinitions"] = [{"Name": "validation:rmse", "Regex": "rmse=(\\S+)"}]
    assert _rejected(emulator, request) == (
        "A metric is required for this hyperparameter tuning job objective. Provide a metric in the metric "
        "definitions."
    )


def test_objective_the_builtin_algorithm_does_not_emit(emulator: Emulator) -> None:
    request = tuning_request("builtin", INPUTS, metric="validation:accuracy-ish")
    assert _rejected(emulator, request).startswith("A metric is required for this hyperparameter tuning job")


def test_not_enough_combinations(emulator: Emulator) -> None:
    ranges = {
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "5"}],
        "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree"]}],
    }
    request = tuning_request("few", INPUTS, max_jobs=10, ranges=ranges)
    assert _rejected(emulator, request) == (
        "You don't have enough combinations of hyperparameter ranges. The total number of hyperparameter "
        "combinations for the provided ranges [3.0] must be equal or greater than the value of "
        "MaxNumberOfJobs, [10]. Provide additional ranges."
    )


def test_grid_rejects_numeric_ranges_and_a_wrong_job_count(emulator: Emulator) -> None:
    request = tuning_request("grid", INPUTS, strategy="Grid", max_jobs=None)
    assert (
        _rejected(emulator, request) == "The Grid strategy supports only categorical hyperparameter ranges."
    )
    ranges = {"CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}]}
    request = tuning_request("grid", INPUTS, strategy="Grid", max_jobs=3, ranges=ranges)
    assert _rejected(emulator, request) == (
        "With the Grid strategy, MaxNumberOfTrainingJobs (3) must equal the number of combinations of the "
        "categorical ranges (2), or be left out."
    )


def test_hyperband_needs_a_max_resource_and_no_early_stopping(emulator: Emulator) -> None:
    request = tuning_request("hb", INPUTS, strategy="Hyperband")
    assert _rejected(emulator, request) == (
        "MaxResource parameter is not provided and could not be inferred from provided static "
        "hyperparameters of TrainingJobDefinition."
    )
    request = tuning_request(
        "hb",
        INPUTS,
        strategy="Hyperband",
        TrainingJobEarlyStoppingType="Auto",
        StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 20}},
    )
    assert (
        _rejected(emulator, request)
        == "With the Hyperband strategy, TrainingJobEarlyStoppingType must be Off."
    )


def test_scaling_types_need_values_they_can_scale(emulator: Emulator) -> None:
    log = {
        "ContinuousParameterRanges": [
            {"Name": "alpha", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}
        ]
    }
    assert _rejected(emulator, tuning_request("log", INPUTS, ranges=log)) == (
        "The hyperparameter range for alpha uses Logarithmic scaling, which needs values greater than 0."
    )
    reverse = {
        "IntegerParameterRanges": [
            {"Name": "max_depth", "MinValue": "1", "MaxValue": "9", "ScalingType": "ReverseLogarithmic"}
        ]
    }
    assert _rejected(emulator, tuning_request("rev", INPUTS, ranges=reverse)) == (
        "ReverseLogarithmic scaling is only supported for continuous hyperparameters (max_depth)."
    )


def test_a_tuned_name_that_is_also_static(emulator: Emulator) -> None:
    request = tuning_request("clash", INPUTS, static={"num_round": "5", "eta": "0.2"})
    assert _rejected(emulator, request) == (
        "The hyperparameter eta is both static and tunable. Remove it from StaticHyperParameters."
    )


def test_enum_checked_by_the_service_not_the_client(emulator: Emulator) -> None:
    request = tuning_request("enum", INPUTS, TrainingJobEarlyStoppingType="Bogus")
    assert _rejected(emulator, request) == (
        "1 validation error detected: Value 'Bogus' at 'hyperParameterTuningJobConfig.trainingJobEarlyStoppingType' "
        "failed to satisfy constraint: Member must satisfy enum value set: [Off, Auto]"
    )


def test_unknown_names_and_duplicates(emulator: Emulator) -> None:
    message = "Amazon SageMaker can't find a tuning job called nope. Type another name."
    for call in (
        lambda: emulator.tuning.describe("nope"),
        lambda: emulator.tuning.stop("nope"),
        lambda: emulator.tuning.list_training_jobs(HyperParameterTuningJobName="nope"),
    ):
        with pytest.raises(ResourceNotFound) as info:
            call()
        assert info.value.message == message

    emulator.tuning.create(tuning_request("Dup", INPUTS, max_jobs=1, parallel=1))
    emulator.tuning.stop("Dup")
    with pytest.raises(ResourceInUse) as info:
        emulator.tuning.create(tuning_request("dup", INPUTS))
    assert info.value.message == (
        "A hyperparameter tuning job with the name, dup, already exists. Choose a different name."
    )
