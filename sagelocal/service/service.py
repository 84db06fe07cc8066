"""The emulated SageMaker service: one object the local/docker backends and the HTTP server both use.

State lives under ``home``: ``sagelocal.db`` (jobs and log events, SQLite in WAL mode), ``s3/`` (the object
store) and ``jobs/<name>/`` (each job's /opt/ml layout). Each job runs in its own detached supervisor process
(``sagelocal.service.execution.supervisor``), so jobs outlive the process that created them; any ``Emulator`` over the
same home (another process, a restart) sees and controls them.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.aws.errors import ValidationException
from sagelocal.aws.validation import validate
from sagelocal.service import jobs
from sagelocal.service.db import Database
from sagelocal.service.logstore import TRAINING_LOG_GROUP, LogStore
from sagelocal.service.objectstore import ObjectStore

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])

#: How a job's algorithm runs: in a child Python process, or in a container.
RUNNERS = ("process", "docker")


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


class Emulator:
    """State lives under ``home`` (default ``sagelocal.config.home()``): ``sagelocal.db`` (SQLite, WAL),
    ``s3/`` (object store), ``jobs/<name>/`` (each job's /opt/ml layout). ``runner`` is ``"process"`` (the
    algorithm in a child process) or ``"docker"`` (in a container)."""

    objects: ObjectStore
    logs: LogStore

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
        self.db = Database(self.home / "sagelocal.db")
        self.jobs = jobs.JobStore(self.db)
        self.logs = LogStore(self.db)
        self.objects = ObjectStore(self.home / "s3")
        self._children: dict[str, Any] = {}  # subprocess.Popen, or multiprocessing.Process when warm
        self._children_lock = threading.Lock()
        self._launcher = None
        if warm_start and runner == "process":
            from sagelocal.service.execution import warm

            if warm.available():
                self._launcher = warm.WarmLauncher()
                self._launcher.warm_up()

    def job_dir(self, name: str) -> Path:
        return self.home / "jobs" / name

    # --- CreateTrainingJob ---------------------------------------------------------------------------------

    def create_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        from sagelocal.service.validation import validate_create_training_job

        validate_create_training_job(request, allow_local_instance=self.allow_local_instance)
        name = request["TrainingJobName"]
        record = self.jobs.insert(name, self.runner, request)
        try:
            self._spawn(name)
        except Exception as e:  # e.g. out of processes: the job fails visibly instead of hanging
            self.jobs.finish(
                name, "Failed", failure_reason=f"InternalServerError: sagelocal could not start the job: {e}"
            )
        return {"TrainingJobArn": record.arn}

    def _spawn(self, name: str) -> None:
        job_dir = self.job_dir(name)
        if job_dir.exists():  # leftovers of an earlier job of that name whose record is gone
            import shutil

            shutil.rmtree(job_dir, ignore_errors=True)
        job_dir.mkdir(parents=True, exist_ok=True)
        if self._launcher is not None:
            proc: Any = self._launcher.start_supervisor(self.home, name, job_dir / "supervisor.log")
        else:
            proc = self._start_cold(name, job_dir)
        self.jobs.set_supervisor(name, proc.pid, jobs.process_start_time(proc.pid))
        with self._children_lock:
            self._children[name] = proc
        self._reap_children()

    def _start_cold(self, name: str, job_dir: Path) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["SAGELOCAL_HOME"] = str(self.home)
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = _PACKAGE_PARENT + (os.pathsep + path if path else "")
        with open(job_dir / "supervisor.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "sagelocal.service.execution.supervisor", name],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(job_dir),
                start_new_session=True,
                close_fds=True,
            )

    def _reap_children(self) -> None:
        """Collect exit statuses of supervisors this process started, so none lingers as a zombie."""
        with self._children_lock:
            for name, proc in list(self._children.items()):
                if (proc.poll() if hasattr(proc, "poll") else proc.exitcode) is not None:
                    del self._children[name]

    # --- DescribeTrainingJob / ListTrainingJobs ------------------------------------------------------------

    def _checked(self, record: jobs.JobRecord) -> jobs.JobRecord:
        if record.terminal:
            return record
        self._reap_children()
        return self.jobs.reap_if_dead(record)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        self._reap_children()
        return jobs.describe_document(self._checked(self.jobs.require(name)))

    def list_training_jobs(self, **params: Any) -> dict[str, Any]:
        validate("sagemaker", "ListTrainingJobs", params)
        params = {key: value for key, value in params.items() if value is not None}  # null is absent
        max_results = int(params.get("MaxResults", 10))
        sort_by = params.get("SortBy", "CreationTime")
        sort_order = params.get("SortOrder", "Descending")
        status = params.get("StatusEquals")

        self._reap_children()
        records = [self._checked(r) for r in self.jobs.all()]
        if params.get("NameContains"):
            needle = str(params["NameContains"]).lower()
            records = [r for r in records if needle in r.name.lower()]
        if status is not None:
            records = [r for r in records if r.status == status]
        bounds = (
            ("CreationTimeAfter", "creation_time", lambda v, b: v > b),
            ("CreationTimeBefore", "creation_time", lambda v, b: v < b),
            ("LastModifiedTimeAfter", "last_modified_time", lambda v, b: v > b),
            ("LastModifiedTimeBefore", "last_modified_time", lambda v, b: v < b),
        )
        for param, attr, keep in bounds:
            if params.get(param) is not None:
                bound = _epoch(params[param])
                records = [r for r in records if keep(getattr(r, attr), bound)]
        key = {
            "Name": lambda r: (r.name,),
            "CreationTime": lambda r: (r.creation_time, r.name),
            "Status": lambda r: (r.status, r.creation_time, r.name),
        }[sort_by]
        records.sort(key=key, reverse=sort_order == "Descending")

        offset = 0
        if params.get("NextToken"):
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(params["NextToken"]))["offset"])
            except Exception:
                raise ValidationException("Invalid pagination token") from None
        page = records[offset : offset + max_results]
        result: dict[str, Any] = {"TrainingJobSummaries": [jobs.summary(r) for r in page]}
        if offset + max_results < len(records):
            token = json.dumps({"offset": offset + max_results}).encode()
            result["NextToken"] = base64.urlsafe_b64encode(token).decode()
        return result

    # --- StopTrainingJob -----------------------------------------------------------------------------------

    def stop_training_job(self, name: str) -> dict[str, Any]:
        record = self.jobs.get(name)
        if record is None:
            raise ValidationException(jobs.RESOURCE_NOT_FOUND)
        record = self._checked(record)
        before = self.jobs.request_stop(name)
        if before.supervisor_ready and jobs.worker_alive(before.supervisor_pid, before.supervisor_start):
            try:
                os.kill(before.supervisor_pid, signal.SIGTERM)  # type: ignore[arg-type]
            except ProcessLookupError:
                pass
        # A supervisor not yet ready sees the Stopping status when it marks itself ready.
        return {}

    # --- logs ---------------------------------------------------------------------------------------------

    def job_log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        return self.logs.merged_events(TRAINING_LOG_GROUP, f"{name}/", start_time)
