"""SageMaker hosting in the emulator: models, endpoint configs, endpoints and InvokeEndpoint.

Requests are checked against botocore's model (:func:`sagelocal.aws.validation.validate`) and then by the
service's own rules: CreateModel needs an object at ``ModelDataUrl``, CreateEndpointConfig needs its models,
CreateEndpoint its config (and that config's models), with SageMaker's wordings (reference inference §5).
Endpoints run as deployments driven by detached supervisors (``execution/hosting/``), so they outlive the
process that made them; any Emulator over the same home sees them, and the first look at an endpoint whose
supervisor died (a crash, a reboot) fails it with a reason and removes what it left.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from typing import Any

from sagelocal.aws.errors import ValidationException
from sagelocal.aws.validation import validate
from sagelocal.config import StatePaths
from sagelocal.service.db import Database
from sagelocal.service.execution.hosting.launch import start_deployment_supervisor
from sagelocal.service.execution.launch import Children
from sagelocal.service.execution.procs import process_start_time, worker_alive
from sagelocal.service.hosting import documents, model_data
from sagelocal.service.hosting.runtime import Invocation, Runtime
from sagelocal.service.hosting.store import Deployment, HostingStore, arn, model_not_found
from sagelocal.service.listing import list_page
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.tags import TagStore

#: Instance types a local backend runs (SageMaker SDK local mode's spelling); refused by ``sagelocal serve``.
LOCAL_INSTANCE_TYPES = frozenset({"local"})
#: A deployment with no supervisor recorded this long after it was requested: its creator died before starting it.
SPAWN_GRACE_SECONDS = 30.0
#: ProductionVariants holds at most 10 variants (botocore ``ProductionVariantList``).
_MAX_VARIANTS = 10


class Hosting:
    def __init__(
        self, paths: StatePaths, db: Database, objects: ObjectStore, runner: str, allow_local_instance: bool
    ) -> None:
        self.paths = paths
        self.store = HostingStore(db)
        self.objects = objects
        self.runner = runner
        self.allow_local_instance = allow_local_instance
        self.runtime = Runtime(self.store, on_unreachable=self.check_endpoint)
        #: The resources' tags (AddTags/ListTags/DeleteTags by ARN, the table training jobs' tags are in).
        self.tags = TagStore(db)
        self._children = Children()

    # --- models ---

    def create_model(self, request: dict[str, Any]) -> dict[str, Any]:
        validate("sagemaker", "CreateModel", request)
        containers = [request["PrimaryContainer"]] if request.get("PrimaryContainer") else []
        containers += request.get("Containers") or []
        if not containers:
            raise ValidationException("Either PrimaryContainer or Containers must be specified.")
        for container in containers:
            if container.get("ModelDataUrl"):
                model_data.check_exists(self.objects, container["ModelDataUrl"])
        model_arn = self.store.insert_model(request["ModelName"], request)
        self._tag(model_arn, request)
        return {"ModelArn": model_arn}

    def describe_model(self, name: str) -> dict[str, Any]:
        validate("sagemaker", "DescribeModel", {"ModelName": name})
        return documents.describe_model(self.store.model(name))

    def list_models(self, **params: Any) -> dict[str, Any]:
        validate("sagemaker", "ListModels", params)
        return list_page(self.store.models(), params, documents.model_summary, "Models")

    def delete_model(self, name: str) -> None:
        validate("sagemaker", "DeleteModel", {"ModelName": name})
        self.store.delete_model(name)
        self.tags.delete_all(arn("model", name))

    # --- endpoint configs ---

    def create_endpoint_config(self, request: dict[str, Any]) -> dict[str, Any]:
        also_allowed: dict[str, frozenset[str]] = {}
        if self.allow_local_instance:
            also_allowed = {
                f"productionVariants.{i}.member.instanceType": LOCAL_INSTANCE_TYPES
                for i in range(1, _MAX_VARIANTS + 1)
            }
        validate("sagemaker", "CreateEndpointConfig", request, also_allowed=also_allowed)
        for variant in request["ProductionVariants"]:
            model = variant.get("ModelName")
            if model is None:
                raise ValidationException(
                    f"ModelName is required for production variant {variant['VariantName']}."
                )
            self.store.model(model)  # Could not find model "arn:…".
        config_arn = self.store.insert_config(request["EndpointConfigName"], request)
        self._tag(config_arn, request)
        return {"EndpointConfigArn": config_arn}

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        validate("sagemaker", "DescribeEndpointConfig", {"EndpointConfigName": name})
        return documents.describe_endpoint_config(self.store.config(name))

    def list_endpoint_configs(self, **params: Any) -> dict[str, Any]:
        validate("sagemaker", "ListEndpointConfigs", params)
        return list_page(self.store.configs(), params, documents.endpoint_config_summary, "EndpointConfigs")

    def delete_endpoint_config(self, name: str) -> None:
        validate("sagemaker", "DeleteEndpointConfig", {"EndpointConfigName": name})
        self.store.delete_config(name)
        self.tags.delete_all(arn("endpoint-config", name))

    # --- endpoints ---

    def _snapshot(self, config_name: str) -> dict[str, Any]:
        """The config and its models as they are now: what the deployment will run."""
        endpoint_config = self.store.config(config_name)
        models: dict[str, dict[str, Any]] = {}
        for variant in endpoint_config.request["ProductionVariants"]:
            name = variant.get("ModelName") or ""
            try:
                models[name] = self.store.model(name).request
            except ValidationException:
                raise model_not_found(name) from None
        return {"config": endpoint_config.request, "models": models}

    def _spawn(self, name: str, generation: int) -> None:
        proc = start_deployment_supervisor(self.paths, name, generation)
        self.store.set_supervisor(name, generation, proc.pid, process_start_time(proc.pid))
        self._children.add(f"{name}#{generation}", proc)

    def create_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        validate("sagemaker", "CreateEndpoint", request)
        name, config_name = request["EndpointName"], request["EndpointConfigName"]
        snapshot = self._snapshot(config_name)
        record = self.store.insert_endpoint(name, self.runner, request, config_name, snapshot)
        self._tag(record.arn, request)
        self._start_or_fail(name, 1)
        return {"EndpointArn": record.arn}

    def _start_or_fail(self, name: str, generation: int) -> None:
        try:
            self._spawn(name, generation)
        except Exception as e:  # e.g. out of processes: the endpoint fails visibly instead of hanging
            self.store.fail(
                name, generation, f"InternalServerError: sagelocal could not start the endpoint: {e}"
            )
            self.store.end_deployment(name, generation)

    def update_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        validate("sagemaker", "UpdateEndpoint", request)
        name, config_name = request["EndpointName"], request["EndpointConfigName"]
        self.check_endpoint(name)
        snapshot = self._snapshot(config_name)
        generation = self.store.start_update(name, config_name, snapshot)
        self._start_or_fail(name, generation)
        return {"EndpointArn": self.store.require(name).arn}

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        validate("sagemaker", "DescribeEndpoint", {"EndpointName": name})
        self.check_endpoint(name)
        record = self.store.require(name)
        live = self.store.deployment(name, record.generation)
        return documents.describe_endpoint(record, live, self.store.instances(name, record.generation))

    def list_endpoints(self, **params: Any) -> dict[str, Any]:
        validate("sagemaker", "ListEndpoints", params)
        for record in self.store.endpoints():
            self.check_endpoint(record.name)
        return list_page(self.store.endpoints(), params, documents.endpoint_summary, "Endpoints")

    def delete_endpoint(self, name: str) -> None:
        validate("sagemaker", "DeleteEndpoint", {"EndpointName": name})
        self.store.require(name)
        self.tags.delete_all(arn("endpoint", name))
        self.runtime.forget(self.store.instances(name))
        for deployment in self.store.mark_deleting(name):
            if _alive(deployment):
                try:
                    os.kill(deployment.supervisor_pid, signal.SIGTERM)  # type: ignore[arg-type]
                except ProcessLookupError:
                    pass
        self.check_endpoint(name)  # deployments already dead end now, and the endpoint with them
        if self.store.get(name) is None:
            shutil.rmtree(self.paths.endpoint_dir(name), ignore_errors=True)

    def invoke_endpoint(
        self,
        name: str,
        body: bytes,
        content_type: str | None = None,
        accept: str | None = None,
        custom_attributes: str | None = None,
        target_variant: str | None = None,
    ) -> Invocation:
        return self.runtime.invoke(name, body, content_type, accept, custom_attributes, target_variant)

    def _tag(self, resource_arn: str, request: dict[str, Any]) -> None:
        """The Create request's ``Tags`` on the new resource; an earlier resource of that name took its own
        tags with it (a leftover of one whose deletion was cut short is cleared here)."""
        self.tags.delete_all(resource_arn)
        self.tags.add(resource_arn, request.get("Tags") or [])

    # --- supervisors that died ---

    def check_endpoint(self, name: str) -> None:
        """End the deployments of endpoint ``name`` whose supervisor is gone (crashed, killed, a reboot): the
        endpoint is Failed (or, for an update, rolled back) with a reason, and their instances are removed."""
        self._children.reap()
        for deployment in self.store.deployments(name):
            if _alive(deployment):
                continue
            if deployment.supervisor_pid is None:
                if time.time() - deployment.creation_time < SPAWN_GRACE_SECONDS:
                    continue
                reason = "sagelocal: the endpoint's worker process was never started."
            else:
                reason = (
                    f"sagelocal: the endpoint's worker process (pid {deployment.supervisor_pid}) exited "
                    "unexpectedly; its instances are gone."
                )
            self._end_dead(deployment, reason)

    def _end_dead(self, deployment: Deployment, reason: str) -> None:
        name, generation = deployment.endpoint, deployment.generation
        instances = self.store.instances(name, generation)
        containers = [i.container for i in instances if i.container]
        if containers:
            from sagelocal.service.execution.hosting.container import remove_containers

            remove_containers(containers)
        self.runtime.forget(instances)
        self.store.fail(name, generation, reason)
        for instance in instances:
            shutil.rmtree(self.paths.instance_dir(name, instance.instance_id), ignore_errors=True)
        if self.store.end_deployment(name, generation):
            shutil.rmtree(self.paths.endpoint_dir(name), ignore_errors=True)


def _alive(deployment: Deployment) -> bool:
    return deployment.supervisor_pid is not None and worker_alive(
        deployment.supervisor_pid, deployment.supervisor_start
    )
