"""InvokeEndpoint: a payload routed to one of the endpoint's instances, and the container's answer as the
sagemaker-runtime API returns it (reference inference §6; botocore ``sagemaker-runtime`` 2017-05-13).

- The body may be at most 6291456 bytes (``BodyBlob``); more is refused before any instance sees it.
- An endpoint that does not exist, or has no instance to route to, is ``ValidationError``
  ``Endpoint <name> of account <acct> not found.``
- Instances take turns (round robin); only ``Content-Type``, ``Accept`` and ``X-Amzn-SageMaker-Custom-Attributes``
  reach the container (the service strips other request headers).
- A 2xx answer is returned as is (a 204 as an empty 200 body); a 4xx/5xx one becomes ``ModelError`` with the
  container's status and body; no answer within 60 s is ``ModelError`` with status 0.

The hop to the instance is plain HTTP/1.1 on loopback over kept-alive connections (one idle pool per instance),
so an invocation costs little besides the container's own work. Instances come and go behind the server's back
(a supervisor in another process replaces a killed one, deletes or updates an endpoint), so every invocation
compares the instances it is routed to with those it last saw for that endpoint and closes the pools of the
ones that are gone: their connections are not kept open (leaked) for as long as the server runs, and a new
instance that happens to get an old one's port never receives the old one's connections.
"""

from __future__ import annotations

import http.client
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sagelocal import config
from sagelocal.aws.errors import ModelError, PayloadTooLarge, RuntimeValidationError, ServiceUnavailable
from sagelocal.service.hosting.store import HostingStore, Instance

#: A pool's key: the instance (its id) and the port it listens on.
PoolKey = tuple[str, int]

#: InvokeEndpoint's payload limit (botocore ``BodyBlob`` max; reference inference §6).
MAX_PAYLOAD_BYTES = 6291456
#: A container must answer within 60 s (botocore InvokeEndpoint documentation).
INVOCATION_TIMEOUT = 60.0
_ROUTABLE = ("InService", "Updating")
_TIMED_OUT = (
    "Your invocation timed out while waiting for a response from container primary. Review the latency metrics "
    "for each container in Amazon CloudWatch, resolve the issue, and try again."
)


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str | None
    invoked_variant: str
    custom_attributes: str | None = None


def endpoint_not_found(name: str) -> RuntimeValidationError:
    return RuntimeValidationError(f"Endpoint {name} of account {config.ACCOUNT_ID} not found.")


def log_group_arn(name: str) -> str:
    return f"arn:aws:logs:{config.region()}:{config.ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{name}"


def model_error(name: str, status: int, body: bytes) -> ModelError:
    """``Received client error (415) from primary with message "…". See https://…#logEventViewer:group=…
    in account … for more information.`` (GH aws/sagemaker-xgboost-container#390); 5xx and 0 are server errors."""
    text = body.decode("utf-8", "replace")
    kind = "client" if 400 <= status < 500 else "server"
    region = config.region()
    console = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{name}"
    )
    message = (
        f'Received {kind} error ({status}) from primary with message "{text}". See {console} in account '
        f"{config.ACCOUNT_ID} for more information."
    )
    return ModelError(message, status, text, log_group_arn(name))


def pool_key(instance: Instance) -> PoolKey:
    return instance.instance_id, instance.port


class _Pool:
    """Idle kept-alive connections to one instance. Once closed it keeps nothing: a connection given back after
    that (by an invocation that was under way) is closed at once."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> tuple[http.client.HTTPConnection, bool]:
        """A connection, and whether it was used before (so may have been closed by the server meanwhile)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=INVOCATION_TIMEOUT), False

    def give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < 64:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class Runtime:
    """The data plane. ``on_unreachable(name)`` is called when no instance of endpoint ``name`` answers (so the
    service can check whether the endpoint's supervisor died)."""

    def __init__(self, store: HostingStore, on_unreachable: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.on_unreachable = on_unreachable
        self._pools: dict[PoolKey, _Pool] = {}
        #: Endpoint (lower-cased) -> the instances its invocations were last routed to.
        self._routed: dict[str, frozenset[PoolKey]] = {}
        self._turns: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def invoke(
        self,
        name: str,
        body: bytes,
        content_type: str | None = None,
        accept: str | None = None,
        custom_attributes: str | None = None,
        target_variant: str | None = None,
    ) -> Invocation:
        if len(body) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(f"HTTP content length exceeded {MAX_PAYLOAD_BYTES} bytes.")
        routing = self.store.routing(name)
        if routing is None or routing[0].status not in _ROUTABLE or not routing[1]:
            self._retire(name, frozenset())
            raise endpoint_not_found(name)
        record, instances = routing
        self._retire(record.name, frozenset(pool_key(i) for i in instances))
        if target_variant is not None:
            instances = [i for i in instances if i.variant == target_variant]
            if not instances:
                raise RuntimeValidationError(
                    f"Variant {target_variant} not found for endpoint {record.name} of account {config.ACCOUNT_ID}."
                )
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        if custom_attributes is not None:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        first = next(self._turn(record.name)) % len(instances)
        errors: list[str] = []
        for offset in range(len(instances)):
            instance = instances[(first + offset) % len(instances)]
            try:
                status, response_headers, answer = self._post(instance, body, headers)
            except TimeoutError:
                raise model_error(record.name, 0, _TIMED_OUT.encode()) from None
            except OSError as e:
                errors.append(f"{instance.instance_id}: {e}")
                continue
            if 200 <= status < 300:
                return Invocation(
                    answer if status != 204 else b"",
                    response_headers.get("content-type"),
                    instance.variant,
                    response_headers.get("x-amzn-sagemaker-custom-attributes"),
                )
            raise model_error(record.name, status, answer)
        if self.on_unreachable is not None:
            self.on_unreachable(record.name)
        raise ServiceUnavailable(
            f"sagelocal: no instance of endpoint {record.name} answered ({'; '.join(errors)})."
        )

    def _turn(self, name: str) -> itertools.count[int]:
        key = name.lower()
        turns = self._turns.get(key)
        if turns is None:
            with self._lock:
                turns = self._turns.setdefault(key, itertools.count())
        return turns

    def _pool(self, instance: Instance) -> _Pool:
        key = pool_key(instance)
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.setdefault(key, _Pool(instance.port))
        return pool

    def _retire(self, name: str, current: frozenset[PoolKey]) -> None:
        """Endpoint ``name`` now routes to ``current``: close the pools of its instances that are gone."""
        endpoint = name.lower()
        if self._routed.get(endpoint, frozenset()) == current:
            return
        with self._lock:
            gone = self._routed.get(endpoint, frozenset()) - current
            if current:
                self._routed[endpoint] = current
            else:
                self._routed.pop(endpoint, None)
            pools = [self._pools.pop(key) for key in gone if key in self._pools]
        for pool in pools:
            pool.close()

    def _post(
        self, instance: Instance, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        pool = self._pool(instance)
        while True:
            conn, reused = pool.take()
            try:
                conn.request("POST", "/invocations", body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
            except TimeoutError:
                conn.close()
                raise
            except (http.client.HTTPException, OSError) as e:
                conn.close()
                if reused:
                    continue  # the instance closed an idle connection: try a fresh one
                if isinstance(e, OSError):
                    raise
                raise ConnectionError(str(e)) from None
            response_headers = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close:
                conn.close()
            else:
                pool.give_back(conn)
            return response.status, response_headers, answer

    def forget(self, instances: list[Instance]) -> None:
        """Close the pooled connections to ``instances`` (gone, or about to be)."""
        keys = {pool_key(i) for i in instances}
        with self._lock:
            pools = [self._pools.pop(key) for key in keys if key in self._pools]
            for endpoint, routed in list(self._routed.items()):
                if routed & keys:
                    self._routed[endpoint] = routed - keys
        for pool in pools:
            pool.close()
