"""Runner "docker": ``train`` in a container over the job's layout, through the Docker SDK for Python.

The container is what SageMaker runs: the job's layout mounted at ``contract.CONTAINER_ROOT``, ``<image> train``,
as the host user so every file it writes into the layout belongs to that user, with its output streamed line by
line into the job's log. Which image runs:

- ``sagelocal-xgboost:<version>``: sagelocal's own image, built (or rebuilt from the current source) if
  needed;
- any other name an image is present under locally: that image, unchanged (e.g. a real
  ``…/sagemaker-xgboost:1.7-1`` the user pulled);
- the built-in XGBoost URIs (``…/xgboost:latest``, ``…/sagemaker-xgboost:1.7-1``):
  ``sagelocal-xgboost:<version>``;
- anything else: pulled from its registry.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from docker.errors import APIError, DockerException
from docker.types import LogConfig
from requests.exceptions import RequestException

from sagelocal import config
from sagelocal.aws.errors import CLIENT_ERROR, INTERNAL_SERVER_ERROR
from sagelocal.aws.refs import ImageRef
from sagelocal.contract import CONTAINER_ROOT
from sagelocal.service import images
from sagelocal.service.execution.runners.base import (
    AlgorithmRun,
    Cluster,
    RunnerError,
    RunOutcome,
    StopWatch,
)

if TYPE_CHECKING:
    import docker

#: What the Docker SDK raises when the engine refuses a request or cannot be reached.
_ENGINE_ERRORS: tuple[type[Exception], ...] = (DockerException, RequestException, OSError)


def _stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ContainerRunner:
    name = "docker"

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        log: images.Log = _stderr_log,
        user: str | None = None,
    ) -> None:
        """``user`` is the container's ``uid:gid``; default the host user's, so that the files ``train``
        writes into the layout are theirs."""
        self._client = client
        self._log = log
        self.user = user or f"{os.getuid()}:{os.getgid()}"
        self._resolved: dict[str, str] = {}

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = images.docker_client()
            except images.DockerUnavailable as e:
                raise RunnerError(None, str(e)) from None
        return self._client

    # --- "Downloading the training image" ------------------------------------------------------------

    def resolve_image(self, image_uri: str, image_version: str | None) -> str:
        """The local image name that runs ``image_uri`` (see the module docstring), made present if needed."""
        repo = ImageRef.parse(image_uri).name
        try:
            if image_version is not None and (
                repo == images.IMAGE_REPOSITORY or not images.image_exists(self.client, image_uri)
            ):
                return self._ensure_own(image_version)
            if images.image_exists(self.client, image_uri):
                return image_uri
        except images.DockerUnavailable as e:
            raise RunnerError(None, str(e)) from None
        except images.ImageError as e:
            raise RunnerError(INTERNAL_SERVER_ERROR, str(e)) from None
        except APIError as e:
            detail = images.one_line(e)
            raise RunnerError(
                INTERNAL_SERVER_ERROR, f"sagelocal could not prepare {image_uri}: {detail}"
            ) from None
        except _ENGINE_ERRORS as e:  # the engine went away mid-way
            raise RunnerError(None, images.unreachable_message(e)) from None
        reason = images.try_pull(self.client, image_uri, self._log)
        if reason is not None:
            raise RunnerError(CLIENT_ERROR, f"Cannot pull training image {image_uri}: {reason}")
        return image_uri

    def _ensure_own(self, version: str) -> str:
        # One build at a time on this machine: concurrent jobs wait for the first one's image.
        lock_path = images.cache_dir() / "build.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return images.ensure_image(version, client=self.client, log=self._log)

    def prepare_image(self, image_uri: str, image_version: str | None) -> None:
        self._resolved[image_uri] = self.resolve_image(image_uri, image_version)

    # --- Several hosts ------------------------------------------------------------------------------------

    def open_cluster(self, job: str, hosts: list[str]) -> Cluster:
        """A user-defined bridge network for the job: on it Docker's DNS resolves each container's alias
        (``algo-1`` … ``algo-N``), as SageMaker's hosts resolve each other by name."""
        try:
            network = self.client.networks.create(
                f"sagelocal-{job}", driver="bridge", labels={"org.sagelocal.job": job}
            )
        except _ENGINE_ERRORS as e:
            raise _error("could not create the job's network", e) from None
        return Cluster(network=str(network.name))

    def close_cluster(self, cluster: Cluster) -> None:
        if cluster.network is None:
            return
        try:
            self.client.networks.get(cluster.network).remove()
        except Exception:
            pass

    # --- Training ----------------------------------------------------------------------------------------

    def run(self, run: AlgorithmRun, stop: threading.Event, deadline: float | None) -> RunOutcome:
        image = self._resolved.get(run.image_uri) or self.resolve_image(run.image_uri, run.image_version)
        environment = {**run.environment, **run.platform_env}
        network: dict[str, Any] = {}
        if run.network is not None:
            network = {
                "network": run.network,
                "networking_config": {
                    run.network: self.client.api.create_endpoint_config(aliases=[run.host])
                },
            }
        if self.user.split(":", 1)[0] not in ("0", "root"):
            environment.setdefault("HOME", "/tmp")  # the host user has no home directory in the image
        try:
            memory = config.container_memory()
        except ValueError as e:
            raise RunnerError(None, str(e)) from None
        try:
            container = self.client.containers.create(
                image,
                command=["train"],
                user=self.user,
                environment=environment,
                volumes={str(run.ml_root.resolve()): {"bind": CONTAINER_ROOT, "mode": "rw"}},
                hostname=run.host,
                init=True,  # signals reach `train` even though it is not written to be PID 1
                log_config=LogConfig(type="json-file", config={}),  # readable whatever the engine's default
                labels={"org.sagelocal.job": run.job or run.ml_root.name, "org.sagelocal.host": run.host},
                # memswap_limit equal to mem_limit: the container cannot swap, it has that memory and no more
                mem_limit=memory,
                memswap_limit=memory,
                **network,
            )
        except _ENGINE_ERRORS as e:
            raise _error("could not create the training container", e) from None
        try:
            return self._run_container(container, run, stop, deadline)
        finally:
            try:
                container.remove(force=True)
            except Exception:
                pass

    def _run_container(
        self, container: Any, run: AlgorithmRun, stop: threading.Event, deadline: float | None
    ) -> RunOutcome:
        try:
            container.start()
            output = container.logs(stream=True, follow=True, stdout=True, stderr=True)
        except _ENGINE_ERRORS as e:
            raise _error("could not start the training container", e) from None

        with StopWatch(
            stop,
            deadline,
            terminate=lambda: _kill(container, "SIGTERM"),
            kill=lambda: _kill(container, "SIGKILL"),
        ) as watch:
            try:
                _stream_lines(output, run.on_line)
                status = container.wait()
            except _ENGINE_ERRORS as e:
                raise _error("lost the training container", e) from None
        return RunOutcome(exit_code=int(status.get("StatusCode", 1)), ended_by=watch.ended_by)


def _error(what: str, exc: Exception) -> RunnerError:
    """An engine answer (APIError) names what failed; anything else means the engine went away."""
    if isinstance(exc, APIError):
        return RunnerError(INTERNAL_SERVER_ERROR, f"sagelocal {what}: {images.one_line(exc)}")
    return RunnerError(None, images.unreachable_message(exc))


def _kill(container: Any, signal: str) -> None:
    try:
        container.kill(signal=signal)
    except Exception:  # it has already exited
        pass


def _stream_lines(chunks: Any, on_line: Any) -> None:
    """Feed ``on_line`` one decoded line at a time (no trailing newline) from a stream of byte chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            on_line(line.rstrip("\r"))
    pending += decoder.decode(b"", final=True)
    if pending:
        on_line(pending.rstrip("\r"))
