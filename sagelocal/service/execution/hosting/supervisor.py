"""The detached worker of one endpoint deployment:
``python -m sagelocal.service.execution.hosting.supervisor <endpoint-name> <generation>``.

Started by CreateEndpoint (generation 1) or UpdateEndpoint (the next) in its own session, it does what SageMaker
does for the deployment's production variants: for each instance, extract the model into an instance folder laid
out by the contract, start the image's ``serve`` (``instances.py``: a process, or a container), send its output to
the log group ``/aws/sagemaker/Endpoints/<endpoint>`` under the stream ``<variant>/<instance-id>`` (reference
inference §8), and wait for ``GET /ping`` to answer 200. Then the deployment goes live (the endpoint is InService
and invocations are routed to its instances) and the supervisor of the previous one is told to stop.

While live it watches its instances. An instance that dies (a crash, ``kill -9``) is *replaced*, as SageMaker
replaces unhealthy instances: a new instance id and port, the same model; if the replacement does not come up,
or instances keep dying (more than MAX_REPLACEMENTS in REPLACEMENT_WINDOW seconds), the endpoint is Failed.
SIGTERM (DeleteEndpoint, or a newer deployment gone live) stops the instances and removes them. The instances of
runner ``process`` die with their supervisor (PR_SET_PDEATHSIG); a supervisor that dies is found dead by the next
DescribeEndpoint (``service/hosting/service.py``), which fails the endpoint and removes what is left.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.algorithms.xgboost.versions import UnknownImage, version_from_image_uri
from sagelocal.aws.errors import JobFailure
from sagelocal.config import StatePaths
from sagelocal.contract import Layout
from sagelocal.service.db import Database
from sagelocal.service.execution.hosting.instances import (
    InstanceSpec,
    ProcessInstance,
    RunningInstance,
    free_port,
    new_instance_id,
    wait_healthy,
)
from sagelocal.service.execution.procs import worker_alive
from sagelocal.service.execution.supervisor import LogWriter
from sagelocal.service.hosting import model_data
from sagelocal.service.hosting.store import Deployment, HostingStore, Instance
from sagelocal.service.logstore import LogStore, render_message

#: The log group of endpoint ``<name>``: ``/aws/sagemaker/Endpoints/<name>`` (DOC logging-cloudwatch).
LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
#: ``ContainerStartupHealthCheckTimeoutInSeconds`` when the variant gives none.
DEFAULT_HEALTH_TIMEOUT = 600.0
MAX_REPLACEMENTS = 3
REPLACEMENT_WINDOW = 300.0

_stop = threading.Event()


def log_group(endpoint: str) -> str:
    return LOG_GROUP_PREFIX + endpoint


def ping_failed(variant: str) -> str:
    """FailureReason when an instance never answers ``/ping`` with 200 (GH aws/amazon-sagemaker-examples#3062)."""
    return (
        f"The primary container for production variant {variant} did not pass the ping health check. "
        "Please check CloudWatch logs for this endpoint."
    )


class DeploymentFailed(Exception):
    """``str()`` is the endpoint's FailureReason."""


class _Stopped(Exception):
    """SIGTERM arrived, or the deployment is no longer wanted."""


@dataclass
class Slot:
    """One instance place of a variant: what runs there now and how to start it again."""

    variant: str
    model: dict[str, Any]  # the CreateModel request
    health_timeout: float
    instance_id: str = ""
    running: RunningInstance | None = None
    writer: LogWriter | None = None


class DeploymentSupervisor:
    def __init__(self, home: Path, name: str, generation: int) -> None:
        self.paths = StatePaths(home)
        self.db = Database(self.paths.database)
        self.store = HostingStore(self.db)
        self.logs = LogStore(self.db)
        self.name, self.generation = name, generation
        self.slots: list[Slot] = []
        self.replacements: deque[float] = deque()
        self._runner: Any = None
        record = self.store.get(name)
        self.runner_name = record.runner if record is not None else "process"

    # --- instances ---

    def _container(self, model: dict[str, Any]) -> dict[str, Any]:
        return model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]

    def _start(self, slot: Slot) -> None:
        """Put a new instance in ``slot``: its folder and model, its log stream, its process or container."""
        if _stop.is_set() or not self.store.wanted(self.name, self.generation):
            raise _Stopped
        container = self._container(slot.model)
        image = str(container.get("Image", ""))
        slot.instance_id = new_instance_id()
        root = self.paths.instance_dir(self.name, slot.instance_id)
        model_dir = Layout(root).model_dir
        model_dir.mkdir(parents=True, exist_ok=True)
        if container.get("ModelDataUrl"):
            try:
                model_data.install(self._objects(), container["ModelDataUrl"], model_dir)
            except model_data.ModelDataError as e:
                raise DeploymentFailed(str(e)) from None
        try:
            version: str | None = version_from_image_uri(image).name
        except UnknownImage as e:
            version = None
            if self.runner_name != "docker":
                raise DeploymentFailed(f"ClientError: {e}") from None
        stream = f"{slot.variant}/{slot.instance_id}"
        group = log_group(self.name)
        self.logs.create_log_stream(group, stream)
        writer = LogWriter(self.logs, group, stream)
        slot.writer = writer

        def on_line(line: str) -> None:
            writer.add(int(time.time() * 1000), render_message(line))

        env = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
        spec = InstanceSpec(
            root, image, version, env, on_line, labels={"org.sagelocal.endpoint-instance": stream}
        )
        port = free_port()
        try:
            slot.running = self._launch(spec, port)
        except JobFailure as e:
            raise DeploymentFailed(str(e)) from None

    def _launch(self, spec: InstanceSpec, port: int) -> RunningInstance:
        if self.runner_name == "docker":
            from sagelocal.service.execution.hosting.container import ContainerInstance
            from sagelocal.service.execution.runners.container import ContainerRunner

            if self._runner is None:
                self._runner = ContainerRunner()
            return ContainerInstance(self._runner, spec, port)
        return ProcessInstance(spec, port)

    def _objects(self) -> Any:
        from sagelocal.service.objectstore import ObjectStore

        return ObjectStore(self.paths.objects)

    def _healthy(self, slot: Slot) -> None:
        """Wait for the slot's instance to pass the ping health check, then list it for routing."""
        assert slot.running is not None
        status = wait_healthy(slot.running, slot.health_timeout, _stop)
        if _stop.is_set():
            raise _Stopped
        if status != 200:
            raise DeploymentFailed(ping_failed(slot.variant))

    def _register(self, slot: Slot, replacing: str | None = None) -> None:
        assert slot.running is not None
        instance = Instance(
            self.name,
            self.generation,
            slot.variant,
            slot.instance_id,
            slot.running.port,
            slot.running.container,
        )
        self.store.put_instance(instance, replacing=replacing)

    def _stop_slot(self, slot: Slot) -> None:
        if slot.running is not None:
            slot.running.stop()
        if slot.writer is not None:
            slot.writer.close()
        if slot.instance_id:
            shutil.rmtree(self.paths.instance_dir(self.name, slot.instance_id), ignore_errors=True)

    # --- the deployment ---

    def run(self) -> int:
        deployment = self.store.deployment(self.name, self.generation)
        if deployment is None:
            return 0
        failure: str | None = None
        try:
            self._bring_up(deployment)
            older = self.store.go_live(self.name, self.generation)
            if older is None:
                raise _Stopped
            for other in older:
                _terminate(other)
            self._watch()
        except _Stopped:
            pass
        except DeploymentFailed as e:
            failure = str(e)
        except BaseException as e:
            traceback.print_exc()
            failure = f"InternalServerError: sagelocal: {type(e).__name__}: {e}"
        finally:
            # Everything is stopped before the endpoint says Failed: then nothing of it is left running.
            for slot in self.slots:
                try:
                    self._stop_slot(slot)
                except Exception:
                    traceback.print_exc()
            if failure is not None:
                self.store.fail(self.name, self.generation, failure)
            if self.store.end_deployment(self.name, self.generation):
                shutil.rmtree(self.paths.endpoint_dir(self.name), ignore_errors=True)
        return 0

    def _bring_up(self, deployment: Deployment) -> None:
        for variant in deployment.config["ProductionVariants"]:
            model = deployment.models[variant["ModelName"]]
            timeout = float(
                variant.get("ContainerStartupHealthCheckTimeoutInSeconds") or DEFAULT_HEALTH_TIMEOUT
            )
            for _ in range(int(variant.get("InitialInstanceCount", 1))):
                self.slots.append(Slot(variant["VariantName"], model, timeout))
        # Start every instance, then wait for all of them: instances come up side by side, as on SageMaker.
        for slot in self.slots:
            self._start(slot)
        for slot in self.slots:
            self._healthy(slot)
        for slot in self.slots:
            self._register(slot)

    def _watch(self) -> None:
        while not _stop.wait(0.2):
            if not self.store.wanted(self.name, self.generation):
                return
            for slot in self.slots:
                assert slot.running is not None
                code = slot.running.exit_code()
                if code is not None:
                    self._replace(slot, code)

    def _replace(self, slot: Slot, code: int) -> None:
        """SageMaker replaces an instance that fails; so does sagelocal, a few times."""
        old = slot.instance_id
        now = time.monotonic()
        self.replacements.append(now)
        while self.replacements and now - self.replacements[0] > REPLACEMENT_WINDOW:
            self.replacements.popleft()
        self._stop_slot(slot)
        slot.running = None
        if len(self.replacements) > MAX_REPLACEMENTS:
            raise DeploymentFailed(
                f"sagelocal: instance {old} of production variant {slot.variant} exited (exit code {code}) and "
                f"instances of this endpoint failed {len(self.replacements)} times in {REPLACEMENT_WINDOW:g} s; "
                "see the endpoint's log streams."
            )
        print(f"instance {old} exited with code {code}; replacing it", flush=True)
        self._start(slot)
        self._healthy(slot)
        self._register(slot, replacing=old)


def _terminate(deployment: Deployment) -> None:
    """Ask another deployment's supervisor to stop (it removes its own instances)."""
    import os

    if deployment.supervisor_pid is not None and worker_alive(
        deployment.supervisor_pid, deployment.supervisor_start
    ):
        try:
            os.kill(deployment.supervisor_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def _on_sigterm(signum: int, frame: Any) -> None:
    _stop.set()


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].isdigit():
        print(
            "usage: python -m sagelocal.service.execution.hosting.supervisor <endpoint-name> <generation>",
            file=sys.stderr,
        )
        return 2
    return DeploymentSupervisor(config.home(), args[0], int(args[1])).run()


if __name__ == "__main__":
    sys.exit(main())
