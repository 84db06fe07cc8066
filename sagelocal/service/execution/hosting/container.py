"""Runner ``docker`` for endpoints: ``<image> serve`` in a container, as SageMaker starts it.

The image is the one training runs (``runners/container.py`` resolves it: sagelocal's own
``sagelocal-xgboost:<version>`` for the built-in URIs, or a local image of that name, e.g. the real AWS one).
The instance's model folder is mounted read-only at ``/opt/ml/model``, port 8080 is published on 127.0.0.1 only,
and the container runs as the host user. Its output is streamed line by line; a thread waits for its end.
"""

from __future__ import annotations

import threading
from typing import Any

from docker.types import LogConfig

from sagelocal.contract import CONTAINER_ROOT, SERVING_PORT, Layout
from sagelocal.service import images
from sagelocal.service.execution.hosting.instances import STOP_GRACE_SECONDS, InstanceSpec
from sagelocal.service.execution.runners.base import RunnerError
from sagelocal.service.execution.runners.container import ContainerRunner, _stream_lines

#: The label that marks a container as an endpoint instance: ``<endpoint>/<instance-id>``.
INSTANCE_LABEL = "org.sagelocal.endpoint-instance"


class ContainerInstance:
    def __init__(self, runner: ContainerRunner, spec: InstanceSpec, port: int) -> None:
        self.port = port
        image = runner.resolve_image(spec.image_uri, spec.image_version)
        environment = dict(spec.environment)
        if runner.user.split(":", 1)[0] not in ("0", "root"):
            environment.setdefault("HOME", "/tmp")  # the host user has no home directory in the image
        model_dir = Layout(spec.ml_root).model_dir.resolve()
        try:
            self._container: Any = runner.client.containers.run(
                image,
                command=["serve"],
                detach=True,
                user=runner.user,
                environment=environment,
                volumes={str(model_dir): {"bind": f"{CONTAINER_ROOT}/model", "mode": "ro"}},
                ports={f"{SERVING_PORT}/tcp": ("127.0.0.1", port)},
                init=True,
                log_config=LogConfig(type="json-file", config={}),
                labels=dict(spec.labels),
            )
        except Exception as e:
            raise RunnerError(
                None, f"sagelocal could not start the serving container: {images.one_line(e)}"
            ) from None
        self.container: str | None = self._container.id
        self._code: int | None = None
        self._ended = threading.Event()
        threading.Thread(target=self._pump, args=(spec,), daemon=True).start()

    def _pump(self, spec: InstanceSpec) -> None:
        try:
            _stream_lines(
                self._container.logs(stream=True, follow=True, stdout=True, stderr=True), spec.on_line
            )
            self._code = int(self._container.wait().get("StatusCode", 1))
        except Exception:
            self._code = 1
        finally:
            self._ended.set()

    def exit_code(self) -> int | None:
        return self._code if self._ended.is_set() else None

    def stop(self) -> None:
        try:
            self._container.stop(timeout=int(STOP_GRACE_SECONDS))
        except Exception:
            pass
        self._ended.wait(STOP_GRACE_SECONDS)
        remove_container(self._container)


def remove_container(container: Any) -> None:
    try:
        container.remove(force=True)
    except Exception:  # gone already
        pass


def remove_containers(ids: list[str]) -> None:
    """Best effort: remove the containers of instances whose supervisor died (they do not die with it)."""
    if not ids:
        return
    try:
        client = images.docker_client()
    except Exception:
        return
    for container_id in ids:
        try:
            remove_container(client.containers.get(container_id))
        except Exception:
            pass
