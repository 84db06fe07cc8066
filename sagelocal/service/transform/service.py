"""Batch transform in the emulator: CreateTransformJob, DescribeTransformJob, ListTransformJobs and
StopTransformJob (reference: botocore ``sagemaker`` 2017-07-24 and DOC batch-transform).

Requests are checked against botocore's model (:func:`sagelocal.aws.validation.validate`), then by the service's
own rules: MaxPayloadInMB at most 100 and MaxConcurrentTransforms × MaxPayloadInMB at most 100 (the API
reference's ``MaxPayloadInMB`` text), the model must exist (``Could not find model "arn:…".``), and the instance
quota of training jobs applies. Each job runs in a detached supervisor (``execution/transform/``), so it outlives
the process that created it; the first look at a job whose supervisor died fails it with a reason.
"""

from __future__ import annotations

import os
import shutil
import signal
from typing import Any

from sagelocal.aws.errors import INTERNAL_SERVER_ERROR, JobFailure, ResourceLimitExceeded, ValidationException
from sagelocal.aws.validation import known_members, validate
from sagelocal.config import StatePaths
from sagelocal.service.db import Database
from sagelocal.service.execution.launch import Children
from sagelocal.service.execution.procs import process_start_time, worker_alive
from sagelocal.service.execution.transform.launch import remove_job_containers, start_transform_supervisor
from sagelocal.service.hosting.store import HostingStore
from sagelocal.service.listing import list_page
from sagelocal.service.logstore import LogStore
from sagelocal.service.tags import TagStore
from sagelocal.service.transform import documents
from sagelocal.service.transform.store import TransformRecord, TransformStore, not_found
from sagelocal.service.validation import LOCAL_INSTANCE_TYPES, MAX_INSTANCES_ENV, max_instances

#: The log group of every transform job (DOC logging-cloudwatch).
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
#: MaxPayloadInMB: "The value of MaxPayloadInMB cannot be greater than 100 MB." (API reference).
MAX_PAYLOAD_MB = 100
_PAYLOAD_PRODUCT = (
    "The value of (MaxConcurrentTransforms * MaxPayloadInMB) cannot exceed 100 MB: "
    "MaxConcurrentTransforms={0} and MaxPayloadInMB={1}."
)


class Transforms:
    def __init__(
        self,
        paths: StatePaths,
        db: Database,
        hosting: HostingStore,
        logs: LogStore,
        tags: TagStore,
        runner: str,
        allow_local_instance: bool,
    ) -> None:
        self.paths = paths
        self.store = TransformStore(db)
        self.hosting = hosting
        self.logs = logs
        self.tags = tags
        self.runner = runner
        self.allow_local_instance = allow_local_instance
        self._children = Children()

    # --- CreateTransformJob ---

    def create_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        also = {"transformResources.instanceType": LOCAL_INSTANCE_TYPES} if self.allow_local_instance else {}
        validate(
            "sagemaker",
            "CreateTransformJob",
            request,
            also_allowed=also,
            ranges={
                "maxPayloadInMB": {"max": MAX_PAYLOAD_MB},
                "transformResources.instanceCount": {"min": 1},
            },
        )
        concurrent, payload = request.get("MaxConcurrentTransforms"), request.get("MaxPayloadInMB")
        if concurrent and payload and concurrent * payload > MAX_PAYLOAD_MB:
            raise ValidationException(_PAYLOAD_PRODUCT.format(concurrent, payload))
        resources = request["TransformResources"]
        if resources["InstanceCount"] > max_instances():
            raise ResourceLimitExceeded(
                f"The account-level service limit '{resources['InstanceType']} for transform job usage' is "
                f"{max_instances()} Instances, with current utilization of 0 Instances and a request delta of "
                f"{resources['InstanceCount']} Instances. Please use AWS Service Quotas to request an increase "
                "for this quota. If AWS Service Quotas is not available, contact AWS support to request an "
                f"increase for this quota. (sagelocal: the quota is local; set {MAX_INSTANCES_ENV} to change it.)"
            )
        model = self.hosting.model(request["ModelName"])  # Could not find model "arn:…".
        name = request["TransformJobName"]
        stored = known_members("sagemaker", "CreateTransformJob", request)
        record = self.store.insert(name, self.runner, stored, model.request)
        self.tags.add(record.arn, request.get("Tags") or [])
        try:
            self._spawn(name)
        except Exception as e:  # e.g. out of processes: the job fails visibly instead of hanging
            failure = JobFailure(INTERNAL_SERVER_ERROR, f"sagelocal could not start the job: {e}")
            self.store.finish(name, "Failed", str(failure))
        return {"TransformJobArn": record.arn}

    def _spawn(self, name: str) -> None:
        folder = self.paths.transform_dir(name)
        if folder.exists():  # leftovers of an earlier job of that name whose record is gone
            shutil.rmtree(folder, ignore_errors=True)
        proc = start_transform_supervisor(self.paths, name)
        self.store.set_supervisor(name, proc.pid, process_start_time(proc.pid))
        self._children.add(name, proc)

    # --- DescribeTransformJob / ListTransformJobs ---

    def _checked(self, record: TransformRecord) -> TransformRecord:
        if record.terminal:
            return record
        self._children.reap()
        checked = self.store.reap_if_dead(record)
        if checked.terminal and not record.terminal and record.runner == "docker":
            remove_job_containers(self.paths, record.name)  # they do not die with their supervisor
        return checked

    def describe_transform_job(self, name: str) -> dict[str, Any]:
        validate("sagemaker", "DescribeTransformJob", {"TransformJobName": name})
        return documents.describe(self._checked(self.store.require(name)))

    def list_transform_jobs(self, **params: Any) -> dict[str, Any]:
        validate("sagemaker", "ListTransformJobs", params)
        records = [self._checked(r) for r in self.store.all()]
        return list_page(records, params, documents.summary, "TransformJobSummaries")

    # --- StopTransformJob ---

    def stop_transform_job(self, name: str) -> None:
        validate("sagemaker", "StopTransformJob", {"TransformJobName": name})
        record = self.store.get(name)
        if record is None:
            raise not_found(name)
        record = self._checked(record)
        if record.terminal:
            return  # stopping a job that has ended changes nothing
        before = self.store.request_stop(name)
        if worker_alive(before.supervisor_pid, before.supervisor_start):
            try:
                os.kill(before.supervisor_pid, signal.SIGTERM)  # type: ignore[arg-type]
            except ProcessLookupError:
                pass

    # --- logs ---

    def log_events(self, name: str, start_time: int | None = None) -> list[dict[str, Any]]:
        """The job's events from all its streams (container output and data-log), merged by time."""
        return self.logs.merged_events(TRANSFORM_LOG_GROUP, f"{name}/", start_time)
