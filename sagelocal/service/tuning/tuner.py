"""The tuning job's loop, run by its detached tuner process (``sagelocal.service.tuner``).

Every ``POLL_SECONDS`` it reads the children's records, tells the strategy about those that ended, applies early
stopping (the median rule, or Hyperband's rungs) to the running ones from their per-round objective values in
the log store, checks the completion criteria and the tuning job's MaxRuntimeInSeconds, and launches children
while fewer than MaxParallelTrainingJobs run and fewer than MaxNumberOfTrainingJobs were launched. A stop
request (SIGTERM, or the record saying Stopping) stops every running child and ends the job Stopped once they
all ended. Completion criteria follow the developer guide (automatic-model-tuning-progress.html): a child
reaching TargetObjectiveMetricValue, or MaxNumberOfTrainingJobsNotImproving children in a row that do not beat
the best by 1%; ConvergenceDetected is sagelocal's reading of the same rule with ``CONVERGENCE_WINDOW`` children.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Protocol

from sagelocal.aws.errors import ServiceError
from sagelocal.service.logstore import TRAINING_LOG_GROUP, LogStore
from sagelocal.service.training.metrics import metric_definitions
from sagelocal.service.training.store import JobStore
from sagelocal.service.tuning import definition as defn
from sagelocal.service.tuning import stopping
from sagelocal.service.tuning.documents import ChildView
from sagelocal.service.tuning.ranges import parse_ranges
from sagelocal.service.tuning.rules import job_limit, max_resource
from sagelocal.service.tuning.service import Tuning
from sagelocal.service.tuning.store import TuningRecord
from sagelocal.service.tuning.strategies import Strategy, make_strategy

POLL_SECONDS = 0.25
#: The service fails a tuning job when this many children failed and none succeeded (the real FailureReason:
#: "No training job succeeded after 5 attempts", aws/amazon-sagemaker-examples#2436).
MAX_FAILED_ATTEMPTS = 5
IMPROVEMENT = 0.01
CONVERGENCE_WINDOW = 10


class TrainingJobs(Protocol):
    """What the tuner needs of the emulator (``Emulator`` is one)."""

    jobs: JobStore
    logs: LogStore

    def create_training_job(
        self, request: dict[str, Any], *, tuning_job_arn: str | None = None
    ) -> dict[str, Any]: ...

    def stop_training_job(self, name: str) -> dict[str, Any]: ...


def no_success_reason(attempts: int) -> str:
    return (
        f"No training job succeeded after {attempts} attempts. Please take a look at the training job failures "
        "to get more details."
    )


class Tuner:
    def __init__(self, training: TrainingJobs, tuning: Tuning, name: str, stop: threading.Event) -> None:
        self.training, self.tuning, self.stop_event = training, tuning, stop
        self.record = tuning.store.require(name)
        request = self.record.request
        self.config: dict[str, Any] = request["HyperParameterTuningJobConfig"]
        self.metric, self.maximize = defn.objective(request)
        self.limit = job_limit(request)
        limits = self.config["ResourceLimits"]
        self.parallel = max(1, min(int(limits["MaxParallelTrainingJobs"]), self.limit))
        self.deadline = (
            self.record.creation_time + int(limits["MaxRuntimeInSeconds"])
            if limits.get("MaxRuntimeInSeconds")
            else None
        )
        self.early = self.config.get("TrainingJobEarlyStoppingType") == "Auto"
        self.hyperband = self.config["Strategy"] == "Hyperband"
        hb = (self.config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        self.min_resource = int(hb.get("MinResource", 1))
        self.max_resource = max_resource(request) if self.hyperband else None
        self.regex = self._objective_regex()
        self.history: dict[int, list[float]] = {}
        self.frozen: set[int] = set()
        self.median_checked: dict[int, int] = {}
        self.observed: set[int] = set()
        self.best: float | None = None
        self.not_improving = 0
        self.reported: int | None = None
        self.launched = len(tuning.store.children(name))
        self.exhausted = False

    def _objective_regex(self) -> re.Pattern[str] | None:
        probe = defn.child_request(self.record.request, "probe", {})
        for d in metric_definitions(probe):
            if d["Name"] == self.metric:
                return re.compile(d["Regex"])
        return None

    # --- the loop ---

    def run(self) -> None:
        try:
            ranges = parse_ranges(self.config.get("ParameterRanges"))
            seed = self.config.get("RandomSeed")
            strategy = make_strategy(self.config["Strategy"], ranges, seed, self.maximize, self.parallel)
        except RuntimeError as e:
            self.tuning.store.finish(self.record.name, "Failed", str(e))
            return
        self._warm_start(strategy)
        while True:
            record = self.tuning.store.require(self.record.name)
            if record.terminal:
                return
            views = self.tuning.views(record)
            if self.stop_event.is_set() or record.status == "Stopping":
                self._wind_down(record, views, "Stopped")
                return
            self._observe(strategy, views)
            running = [v for v in views if not v.job.terminal]
            if self.early or self.hyperband:
                self._early_stop(views)
            ended = self._ending(views)
            if ended is not None:
                status, reason = ended
                self._wind_down(record, views, status, reason)
                return
            self._launch(strategy, running)
            if self.launched >= self.limit or self.exhausted or self._criteria_met():
                if not running and len(views) >= self.launched:
                    self._finish(views)
                    return
            time.sleep(POLL_SECONDS)

    def _warm_start(self, strategy: Strategy) -> None:
        for item in (self.record.request.get("WarmStartConfig") or {}).get(
            "ParentHyperParameterTuningJobs", []
        ):
            parent = self.tuning.store.get(item["HyperParameterTuningJobName"])
            if parent is None:
                continue
            for view in self.tuning.views(parent):
                strategy.observe(-view.child.seq, view.child.tuned, view.objective)

    def _observe(self, strategy: Strategy, views: list[ChildView]) -> None:
        for v in views:
            if v.job.terminal and v.child.seq not in self.observed:
                self.observed.add(v.child.seq)
                strategy.observe(v.child.seq, v.child.tuned, v.objective)
                if v.objective_status == "Succeeded" and v.objective is not None:
                    self._count_improvement(v.objective)
        if self.observed and self.not_improving != self.reported:
            self.reported = self.not_improving
            details = {"NumberOfTrainingJobsObjectiveNotImproving": self.not_improving}
            self.tuning.store.set_details(self.record.name, details)

    def _count_improvement(self, value: float) -> None:
        if self.best is None:
            self.best, self.not_improving = value, 0
            return
        margin = abs(self.best) * IMPROVEMENT
        better = value > self.best + margin if self.maximize else value < self.best - margin
        if better:
            self.not_improving = 0
        else:
            self.not_improving += 1
        if (value > self.best) if self.maximize else (value < self.best):
            self.best = value

    def _criteria_met(self) -> bool:
        criteria = self.config.get("TuningJobCompletionCriteria") or {}
        target = criteria.get("TargetObjectiveMetricValue")
        if target is not None and self.best is not None:
            if (self.best >= target) if self.maximize else (self.best <= target):
                return True
        window = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
        if window is not None and self.not_improving >= int(window):
            return True
        converge = (criteria.get("ConvergenceDetected") or {}).get("CompleteOnConvergence") == "Enabled"
        return converge and self.not_improving >= CONVERGENCE_WINDOW

    def _ending(self, views: list[ChildView]) -> tuple[str, str | None] | None:
        """A reason to end now (stopping the running children): runtime exceeded, or too many failures."""
        if self.deadline is not None and time.time() >= self.deadline:
            return "Stopped", None
        failed = sum(1 for v in views if v.objective_status == "Failed")
        succeeded = any(v.objective_status == "Succeeded" for v in views)
        if not succeeded and failed >= MAX_FAILED_ATTEMPTS:
            return "Failed", no_success_reason(failed)
        return None

    def _launch(self, strategy: Strategy, running: list[ChildView]) -> None:
        active = len(running)
        while (
            active < self.parallel
            and self.launched < self.limit
            and not self.exhausted
            and not self._criteria_met()
        ):
            seq = self.launched + 1
            tuned = strategy.suggest(seq)
            if tuned is None:
                self.exhausted = True
                return
            name = defn.child_name(self.record.name, seq)
            self.tuning.store.add_child(self.record.name, seq, name, tuned)
            self.launched = seq
            active += 1
            self.training.create_training_job(
                defn.child_request(self.record.request, name, tuned), tuning_job_arn=self.record.arn
            )

    def _finish(self, views: list[ChildView]) -> None:
        if views and not any(v.objective_status == "Succeeded" for v in views):
            self.tuning.store.finish(self.record.name, "Failed", no_success_reason(len(views)))
        else:
            self.tuning.store.finish(self.record.name, "Completed")

    def _wind_down(
        self, record: TuningRecord, views: list[ChildView], status: str, reason: str | None = None
    ) -> None:
        """Stop the running children, wait until every one has ended, then end the tuning job."""
        self.tuning.stop_children(record)
        while any(not v.job.terminal for v in views):
            time.sleep(POLL_SECONDS)
            views = self.tuning.views(record)
        self.tuning.store.finish(record.name, status, reason)

    # --- early stopping ---

    def _values(self, view: ChildView) -> list[float]:
        """The child's objective value per round, from its log (kept once the child has ended)."""
        seq = view.child.seq
        if seq in self.frozen or self.regex is None:
            return self.history.get(seq, [])
        values = []
        for event in self.training.logs.merged_events(TRAINING_LOG_GROUP, f"{view.name}/"):
            found = self.regex.search(event["message"])
            if found and found.groups():
                try:
                    values.append(float(found.group(1)))
                except ValueError:
                    continue
        self.history[seq] = values
        if view.job.terminal:
            self.frozen.add(seq)
        return values

    def _early_stop(self, views: list[ChildView]) -> None:
        histories = {v.child.seq: self._values(v) for v in views}
        for v in views:
            if v.status != "InProgress":
                continue
            values = histories[v.child.seq]
            if self.hyperband:
                others = [h for s, h in histories.items() if s != v.child.seq]
                assert self.max_resource is not None
                stop = stopping.hyperband_stops(
                    values, others, self.maximize, self.min_resource, self.max_resource
                )
            else:
                earlier = [h for s, h in histories.items() if s < v.child.seq]
                first = self.median_checked.get(v.child.seq, 0)
                stop = stopping.median_rule_round(values, earlier, self.maximize, first) is not None
                self.median_checked[v.child.seq] = len(values)
            if stop:
                try:
                    self.training.stop_training_job(v.name)
                except ServiceError:
                    pass  # it ended meanwhile
