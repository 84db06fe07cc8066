"""The emulated SageMaker service: one object the local/docker backends and the HTTP server both use.

It answers the API operations; each resource kind keeps its records and documents in its own package
(``training/``; ``hosting/`` for models, endpoint configs and endpoints, reached as :attr:`Emulator.hosting`), and
running jobs and endpoints is ``execution/``'s business. State lives under ``home``, at the paths
``sagelocal.config.StatePaths`` names. Each job runs in its own detached supervisor process
(``sagelocal.service.execution.supervisor``), so jobs outlive the process that created them; any ``Emulator``
over the same home (another process, a restart) sees and controls them.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.aws.errors import INTERNAL_SERVER_ERROR, JobFailure, ValidationException
from sagelocal.aws.validation import known_members, validate
from sagelocal.config import StatePaths
from sagelocal.service.db import Database
from sagelocal.service.execution import warm
from sagelocal.service.execution.launch import Children, ColdLauncher, Launcher
from sagelocal.service.execution.procs import process_start_time, worker_alive
from sagelocal.service.hosting.service import Hosting
from sagelocal.service.listing import list_page
from sagelocal.service.logstore import TRAINING_LOG_GROUP, LogStore
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.tags import TagStore
from sagelocal.service.training import documents
from sagelocal.service.training.store import RESOURCE_NOT_FOUND, JobRecord, JobStore
from sagelocal.service.transform.service import Transforms
from sagelocal.service.tuning.service import Tuning

#: How a job's algorithm runs: in a child Python process, or in a container.
RUNNERS = ("process", "docker")


class Emulator:
    """State lives under ``home`` (default ``sagelocal.config.home()``; see ``StatePaths``). ``runner`` is
    ``"process"`` (the algorithm in a child process) or ``"docker"`` (in a container)."""

    objects: ObjectStore
    logs: LogStore
    tags: TagStore

    def __init__(
        self,
        home: Path | None = None,
        runner: str = "process",
        *,
        allow_local_instance: bool = True,
        warm_start: bool = False,
    ) -> None:
        """``allow_local_instance`` lets InstanceType ``local`` through, as the local backends do; the HTTP server,
        standing in for the real service, turns it off. ``warm_start`` (for long-lived emulators such as the
        server) starts supervisors from a fork server that preloaded the algorithm's imports (``warm.py``)."""
        if runner not in RUNNERS:
            raise ValueError(f"Unknown runner '{runner}'. Choose one of: {', '.join(RUNNERS)}.")
        self.home = Path(home).resolve() if home is not None else config.home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.runner = runner
        self.allow_local_instance = allow_local_instance
        self.paths = StatePaths(self.home)
        self.db = Database(self.paths.database)
        self.jobs = JobStore(self.db)
        self.logs = LogStore(self.db)
        self.tags = TagStore(self.db)
        self.objects = ObjectStore(self.paths.objects, spool_dir=self.paths.request_spool)
        #: Models, endpoint configs, endpoints and InvokeEndpoint (``service/hosting``).
        self.hosting = Hosting(self.paths, self.db, self.objects, runner, allow_local_instance)
        #: Batch transform jobs (``service/transform``).
        self.transforms = Transforms(
            self.paths, self.db, self.hosting.store, self.logs, self.tags, runner, allow_local_instance
        )
        self._children = Children()
        self._launcher: Launcher = ColdLauncher()
        if warm_start and runner == "process" and warm.available():
            launcher = warm.WarmLauncher(self.paths)
            launcher.warm_up()
            self._launcher = launcher
        #: Hyperparameter tuning jobs (``service/tuning``).
        self.tuning = Tuning(
            self.paths, self.db, self.jobs, self.tags, runner, allow_local_instance, self.stop_training_job
        )

    def job_dir(self, name: str) -> Path:
        return self.paths.job_dir(name)

    # --- CreateTrainingJob ---------------------------------------------------------------------------------

    def create_training_job(
        self, request: dict[str, Any], *, tuning_job_arn: str | None = None
    ) -> dict[str, Any]:
        """``tuning_job_arn``: the job is a tuning job's child (its DescribeTrainingJob shows TuningJobArn)."""
        from sagelocal.service.validation import validate_create_training_job

        validate_create_training_job(request, allow_local_instance=self.allow_local_instance)
        name = request["TrainingJobName"]
        # Only what the model knows is stored: members it does not model are ignored, as by the service.
        stored = known_members("sagemaker", "CreateTrainingJob", request)
        if tuning_job_arn is not None:
            stored["TuningJobArn"] = tuning_job_arn
        record = self.jobs.insert(name, self.runner, stored)
        self.tags.add(record.arn, request.get("Tags") or [])
        try:
            self._spawn(name)
        except Exception as e:  # e.g. out of processes: the job fails visibly instead of hanging
            failure = JobFailure(INTERNAL_SERVER_ERROR, f"sagelocal could not start the job: {e}")
            self.jobs.finish(name, "Failed", failure_reason=str(failure))
        return {"TrainingJobArn": record.arn}

    def _spawn(self, name: str) -> None:
        job_dir = self.job_dir(name)
        if job_dir.exists():  # leftovers of an earlier job of that name whose record is gone
            shutil.rmtree(job_dir, ignore_errors=True)
        job_dir.mkdir(parents=True, exist_ok=True)
        proc = self._launcher.start_supervisor(self.paths, name)
        self.jobs.set_supervisor(name, proc.pid, process_start_time(proc.pid))
        self._children.add(name, proc)

    def _reap_children(self) -> None:
        self._children.reap()

    # --- DescribeTrainingJob / ListTrainingJobs ------------------------------------------------------------

    def _checked(self, record: JobRecord) -> JobRecord:
        if record.terminal:
            return record
        self._reap_children()
        return self.jobs.reap_if_dead(record)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        self._reap_children()
        return documents.describe_document(self._checked(self.jobs.require(name)))

    def list_training_jobs(self, **params: Any) -> dict[str, Any]:
        validate("sagemaker", "ListTrainingJobs", params)
        self._reap_children()
        records = [self._checked(r) for r in self.jobs.all()]
        return list_page(records, params, documents.summary, "TrainingJobSummaries")

    # --- StopTrainingJob -----------------------------------------------------------------------------------

    def stop_training_job(self, name: str) -> dict[str, Any]:
        record = self.jobs.get(name)
        if record is None:
            raise ValidationException(RESOURCE_NOT_FOUND)
        record = self._checked(record)
        before = self.jobs.request_stop(name)
        if before.supervisor_ready and worker_alive(before.supervisor_pid, before.supervisor_start):
            try:
                os.kill(before.supervisor_pid, signal.SIGTERM)  # type: ignore[arg-type]
            except ProcessLookupError:
                pass
        # A supervisor not yet ready sees the Stopping status when it marks itself ready.
        return {}

    # --- logs ---------------------------------------------------------------------------------------------

    def job_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        return self.logs.merged_events(TRAINING_LOG_GROUP, f"{name}/", start_time)
