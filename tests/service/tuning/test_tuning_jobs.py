"""Tuning jobs that really run their children (local backend, small data, few rounds): Grid's combinations and
parallelism, early stopping Auto, Hyperband, and a tuner killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from support.tuning import tuning_request

from sagelocal.aws.errors import ValidationException
from sagelocal.backends.local import LocalBackend

TERMINAL = ("Completed", "Failed", "Stopped")


def wait_tuning(backend: LocalBackend, name: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = backend.describe_hyper_parameter_tuning_job(name)
        if described["HyperParameterTuningJobStatus"] in TERMINAL:
            return described
        time.sleep(0.5)
    raise AssertionError(f"tuning job {name} did not end in {timeout} s")


def children(backend: LocalBackend, name: str) -> list[dict[str, Any]]:
    found = backend.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )
    return found["TrainingJobSummaries"]


def most_at_once(jobs: list[dict[str, Any]]) -> int:
    """The most children in progress at one moment: each from its creation to its last change."""
    events = []
    for job in jobs:
        events += [(job["CreationTime"], 1), (job["LastModifiedTime"], -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.timeout(300)
def test_grid_runs_every_combination_once_never_more_than_max_parallel(
    backend: LocalBackend, inputs: dict[str, str]
) -> None:
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "max_depth", "Values": ["2", "4"]},
            {"Name": "eta", "Values": ["0.1", "0.2", "0.3"]},
        ]
    }
    request = tuning_request(
        "grid-tuning",
        inputs,
        strategy="Grid",
        max_jobs=None,
        parallel=2,
        ranges=ranges,
        static={"num_round": "2", "objective": "binary:logistic"},
    )
    backend.create_hyper_parameter_tuning_job(request)
    described = wait_tuning(backend, "grid-tuning")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6
    summaries = children(backend, "grid-tuning")
    assert sorted(
        (c["TunedHyperParameters"]["max_depth"], c["TunedHyperParameters"]["eta"]) for c in summaries
    ) == [
        ("2", "0.1"),
        ("2", "0.2"),
        ("2", "0.3"),
        ("4", "0.1"),
        ("4", "0.2"),
        ("4", "0.3"),
    ]
    jobs = [backend.describe_training_job(c["TrainingJobName"]) for c in summaries]
    assert most_at_once(jobs) == 2
    assert described["TrainingJobStatusCounters"]["Completed"] == 6
    values = {
        c["TrainingJobName"]: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in summaries
    }
    best = described["BestTrainingJob"]
    assert values[best["TrainingJobName"]] == max(values.values())
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(values.values())
    # SortBy FinalObjectiveMetricValue, Descending: best first.
    ordered = backend.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="grid-tuning", SortBy="FinalObjectiveMetricValue", SortOrder="Descending"
    )["TrainingJobSummaries"]
    assert [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in ordered] == sorted(
        values.values(), reverse=True
    )


@pytest.mark.timeout(300)
def test_early_stopping_auto_stops_a_clearly_bad_child(backend: LocalBackend, inputs: dict[str, str]) -> None:
    # eta=0 never learns: validation:auc stays 0.5 from its first round, below the median (about 0.8) of the
    # three earlier children's running averages, so the median rule must stop it. 2,000 rounds keep it
    # training for seconds, well past the tuner's 0.25 s poll however fast the machine.
    ranges = {"CategoricalParameterRanges": [{"Name": "eta", "Values": ["0.3", "0.2", "0.25", "0"]}]}
    request = tuning_request(
        "early-stop",
        inputs,
        strategy="Grid",
        max_jobs=None,
        parallel=1,
        ranges=ranges,
        static={"num_round": "2000", "objective": "binary:logistic"},
        TrainingJobEarlyStoppingType="Auto",
    )
    backend.create_hyper_parameter_tuning_job(request)
    described = wait_tuning(backend, "early-stop")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"] == {
        "Completed": 3,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 1,
    }
    by_eta = {c["TunedHyperParameters"]["eta"]: c for c in children(backend, "early-stop")}
    bad = by_eta["0"]
    assert bad["TrainingJobStatus"] == "Stopped"
    assert bad["ObjectiveStatus"] == "Succeeded"  # its last value stands, and it is in the listing
    assert bad["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.5
    assert described["BestTrainingJob"]["TrainingJobName"] != bad["TrainingJobName"]
    job = backend.describe_training_job(bad["TrainingJobName"])
    assert job["SecondaryStatusTransitions"][-1]["Status"] == "Stopped"


@pytest.mark.timeout(300)
def test_hyperband_stops_children_at_its_rungs(backend: LocalBackend, inputs: dict[str, str]) -> None:
    request = tuning_request(
        "hyperband",
        inputs,
        strategy="Hyperband",
        max_jobs=4,
        parallel=2,
        ranges={"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0", "MaxValue": "0.5"}]},
        static={"num_round": "3000", "objective": "binary:logistic"},
        StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 300}},
        RandomSeed=3,
    )
    backend.create_hyper_parameter_tuning_job(request)
    described = wait_tuning(backend, "hyperband")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    # num_round (3,000) is far beyond MaxResource (300): every child that gets there is stopped, none
    # completes, however fast its rounds run.
    counters = described["TrainingJobStatusCounters"]
    assert counters["Completed"] == 0 and counters["Stopped"] == 4, counters
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 4


@pytest.mark.timeout(300)
def test_kill_9_of_the_tuner_leaves_no_child_in_progress(
    backend: LocalBackend, inputs: dict[str, str]
) -> None:
    request = tuning_request(
        "killed", inputs, max_jobs=4, parallel=2, static={"num_round": "3000", "objective": "binary:logistic"}
    )
    backend.create_hyper_parameter_tuning_job(request)
    deadline = time.monotonic() + 120
    while len([c for c in children(backend, "killed") if c["TrainingJobStatus"] == "InProgress"]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    record = backend.emulator.tuning.store.require("killed")
    assert record.tuner_pid is not None
    os.kill(record.tuner_pid, signal.SIGKILL)
    time.sleep(0.5)
    described = wait_tuning(backend, "killed", timeout=30)
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        f"sagelocal: the tuning job's tuner process (pid {record.tuner_pid}) exited unexpectedly; "
        "the job cannot continue."
    )
    deadline = time.monotonic() + 60
    while any(c["TrainingJobStatus"] not in TERMINAL for c in children(backend, "killed")):
        assert time.monotonic() < deadline, children(backend, "killed")
        time.sleep(0.3)
    assert [c["TrainingJobStatus"] for c in children(backend, "killed")] == ["Stopped", "Stopped"]


@pytest.mark.timeout(300)
def test_stop_ends_every_child_and_the_job(backend: LocalBackend, inputs: dict[str, str]) -> None:
    request = tuning_request(
        "stopped",
        inputs,
        max_jobs=4,
        parallel=2,
        static={"num_round": "3000", "objective": "binary:logistic"},
    )
    backend.create_hyper_parameter_tuning_job(request)
    deadline = time.monotonic() + 120
    while len([c for c in children(backend, "stopped") if c["TrainingJobStatus"] == "InProgress"]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    backend.stop_hyper_parameter_tuning_job("stopped")
    assert backend.describe_hyper_parameter_tuning_job("stopped")["HyperParameterTuningJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    described = wait_tuning(backend, "stopped", timeout=60)
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    assert [c["TrainingJobStatus"] for c in children(backend, "stopped")] == ["Stopped", "Stopped"]
    assert described["TrainingJobStatusCounters"]["Stopped"] == 2
    assert described["ObjectiveStatusCounters"]["Pending"] == 0
    listed = backend.list_hyper_parameter_tuning_jobs(NameContains="stop")["HyperParameterTuningJobSummaries"]
    assert [(s["HyperParameterTuningJobName"], s["HyperParameterTuningJobStatus"]) for s in listed] == [
        ("stopped", "Stopped")
    ]


@pytest.mark.timeout(300)
def test_children_without_an_objective_fail_the_tuning_job(
    backend: LocalBackend, inputs: dict[str, str]
) -> None:
    # No validation channel: the children complete, but never print validation:auc.
    request = tuning_request(
        "no-objective", {"train": inputs["train"]}, max_jobs=2, parallel=2,
        static={"num_round": "2", "objective": "binary:logistic"},
    )  # fmt: skip
    backend.create_hyper_parameter_tuning_job(request)
    described = wait_tuning(backend, "no-objective")
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        "No training job succeeded after 2 attempts. Please take a look at the training job failures to get more "
        "details."
    )
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 0, "Pending": 0, "Failed": 2}
    assert "BestTrainingJob" not in described
    assert {c["ObjectiveStatus"] for c in children(backend, "no-objective")} == {"Failed"}


@pytest.mark.timeout(300)
def test_target_objective_ends_the_job_early_and_tags_reach_the_children(
    backend: LocalBackend, inputs: dict[str, str]
) -> None:
    request = tuning_request(
        "target", inputs, max_jobs=4, parallel=1, static={"num_round": "2", "objective": "binary:logistic"},
        TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 0.1},
    )  # fmt: skip
    request["Tags"] = [{"Key": "team", "Value": "tuning"}]
    backend.create_hyper_parameter_tuning_job(request)
    described = wait_tuning(backend, "target")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    (child,) = children(backend, "target")  # the first child reached the target: no other was launched
    emulator = backend.emulator
    assert emulator.tags.list_tags(child["TrainingJobArn"])["Tags"] == [{"Key": "team", "Value": "tuning"}]
    assert emulator.tags.list_tags(described["HyperParameterTuningJobArn"])["Tags"] == [
        {"Key": "team", "Value": "tuning"}
    ]


@pytest.mark.timeout(300)
def test_warm_start_from_a_parent(backend: LocalBackend, inputs: dict[str, str]) -> None:
    static = {"num_round": "2", "objective": "binary:logistic"}
    backend.create_hyper_parameter_tuning_job(
        tuning_request("parent", inputs, max_jobs=2, parallel=2, static=static)
    )
    parent = wait_tuning(backend, "parent")
    warm = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    different = tuning_request("child", inputs, static={**static, "gamma": "1"})
    different["WarmStartConfig"] = warm
    with pytest.raises(ValidationException) as info:
        backend.create_hyper_parameter_tuning_job(different)
    assert info.value.message.startswith(
        "The set of tunable plus static HyperParameter names is not the same across current and parent tuning "
        "jobs. Please ensure this set is constant when warm starting."
    )
    request = tuning_request("child", inputs, strategy="Bayesian", max_jobs=1, parallel=1, static=static)
    request["WarmStartConfig"] = warm
    backend.create_hyper_parameter_tuning_job(request)
    described = wait_tuning(backend, "child")
    assert described["WarmStartConfig"] == warm
    values = [parent["BestTrainingJob"], described["BestTrainingJob"]]
    top = max(values, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert (
        described["OverallBestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
        == (top["FinalHyperParameterTuningJobObjectiveMetric"])
    )
