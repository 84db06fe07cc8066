"""The hyperparameter tuning API of the emulated service (reached as ``Emulator.tuning``).

Create validates the request (botocore's model, then the service's rules in ``rules.py``), records the job and
starts its tuner, a detached process (``python -m sagelocal.service.tuner <name>``, ``tuner.py`` here) that
launches the children through the emulator's own CreateTrainingJob and outlives whoever created the job.
Every read checks that a running job's tuner is still alive; if it is gone (kill -9, a crash) the job ends
Failed (Stopped if it was being stopped) and its running children are stopped, so none stays InProgress.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from sagelocal.aws.errors import ServiceError
from sagelocal.aws.validation import known_members, validate
from sagelocal.config import StatePaths
from sagelocal.service.db import Database
from sagelocal.service.execution.launch import Children
from sagelocal.service.execution.procs import SAFE_PYTHON_FLAGS, process_start_time, python_env, worker_alive
from sagelocal.service.listing import list_page
from sagelocal.service.tags import TagStore
from sagelocal.service.training.store import JobStore
from sagelocal.service.tuning import definition as defn
from sagelocal.service.tuning import documents
from sagelocal.service.tuning.documents import ChildView
from sagelocal.service.tuning.rules import validate_create_tuning_job
from sagelocal.service.tuning.store import TuningRecord, TuningStore

#: The module the tuner process runs.
TUNER_MODULE = "sagelocal.service.tuner"


class Tuning:
    def __init__(
        self,
        paths: StatePaths,
        db: Database,
        jobs: JobStore,
        tags: TagStore,
        runner: str,
        allow_local_instance: bool,
        stop_training_job: Callable[[str], Any],
    ) -> None:
        self.paths = paths
        self.store = TuningStore(db)
        self.jobs = jobs
        self.tags = tags
        self.runner = runner
        self.allow_local_instance = allow_local_instance
        self._stop_training_job = stop_training_job
        self._children = Children()

    # --- CreateHyperParameterTuningJob ---

    def create(self, request: dict[str, Any]) -> dict[str, Any]:
        validate_create_tuning_job(request, self.store, allow_local_instance=self.allow_local_instance)
        name = request["HyperParameterTuningJobName"]
        stored = known_members("sagemaker", "CreateHyperParameterTuningJob", request)
        record = self.store.insert(name, self.runner, stored)
        self.tags.add(record.arn, request.get("Tags") or [])
        try:
            self._start_tuner(record.name)
        except Exception as e:  # e.g. out of processes: the job fails visibly instead of hanging
            self.store.finish(record.name, "Failed", f"sagelocal could not start the tuning job's tuner: {e}")
        return {"HyperParameterTuningJobArn": record.arn}

    def _start_tuner(self, name: str) -> None:
        folder = self.paths.tuning_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        env = python_env({"SAGELOCAL_HOME": str(self.paths.home)})
        with open(folder / "tuner.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, *SAFE_PYTHON_FLAGS, "-m", TUNER_MODULE, name],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(folder),
                start_new_session=True,
                close_fds=True,
            )
        self.store.set_tuner(name, proc.pid, process_start_time(proc.pid))
        self._children.add(name, proc)

    # --- reads ---

    def views(self, record: TuningRecord) -> list[ChildView]:
        metric = defn.objective(record.request)[0]
        found = []
        for child in self.store.children(record.name):
            job = self.jobs.get(child.training_job)
            if (
                job is None
            ):  # the row is written just before the job: a creation in flight, or one that failed
                continue
            found.append(documents.child_view(record.name, child, self.jobs.reap_if_dead(job), metric))
        return found

    def checked(self, record: TuningRecord) -> TuningRecord:
        """The record, after ending the job if its tuner is gone."""
        self._children.reap()
        reason = self.store.dead_tuner_reason(record)
        if reason is None:
            return record
        self.stop_children(record)
        return self.store.finish(record.name, "Stopped" if record.status == "Stopping" else "Failed", reason)

    def stop_children(self, record: TuningRecord) -> None:
        for view in self.views(record):
            if view.status == "InProgress":
                try:
                    self._stop_training_job(view.name)
                except ServiceError:
                    pass  # it ended meanwhile

    def _overall(self, record: TuningRecord, views: list[ChildView]) -> list[ChildView] | None:
        warm = record.request.get("WarmStartConfig")
        if not warm or warm.get("WarmStartType") != "IdenticalDataAndAlgorithm":
            return None
        overall = list(views)
        for item in warm["ParentHyperParameterTuningJobs"]:
            parent = self.store.get(item["HyperParameterTuningJobName"])
            if parent is not None:
                overall += self.views(parent)
        return overall

    def describe(self, name: str) -> dict[str, Any]:
        record = self.checked(self.store.require(name))
        views = self.views(record)
        return documents.describe_document(record, views, self._overall(record, views))

    def list(self, **params: Any) -> dict[str, Any]:
        validate("sagemaker", "ListHyperParameterTuningJobs", params)
        params = {
            "SortBy": "Name",
            "SortOrder": "Ascending",
            **{k: v for k, v in params.items() if v is not None},
        }
        records = {r.name: self.checked(r) for r in self.store.all()}
        return list_page(
            list(records.values()),
            params,
            lambda r: documents.summary(r, self.views(r)),
            "HyperParameterTuningJobSummaries",
        )

    def list_training_jobs(self, **params: Any) -> dict[str, Any]:
        validate("sagemaker", "ListTrainingJobsForHyperParameterTuningJob", params)
        params = {
            "SortBy": "Name",
            "SortOrder": "Ascending",
            **{k: v for k, v in params.items() if v is not None},
        }
        name = params.pop("HyperParameterTuningJobName")
        record = self.checked(self.store.require(name))
        views = self.views(record)
        if params["SortBy"] == "FinalObjectiveMetricValue":
            views = [v for v in views if v.objective is not None]  # the service omits children without one
        return list_page(views, params, lambda v: documents.child_summary(v, record), "TrainingJobSummaries")

    # --- StopHyperParameterTuningJob ---

    def stop(self, name: str) -> dict[str, Any]:
        record = self.checked(self.store.require(name))
        self.store.request_stop(record.name)
        if worker_alive(record.tuner_pid, record.tuner_start):
            try:
                os.kill(record.tuner_pid, signal.SIGTERM)  # type: ignore[arg-type]
            except ProcessLookupError:
                pass
        else:
            self.checked(self.store.require(name))
        return {}
