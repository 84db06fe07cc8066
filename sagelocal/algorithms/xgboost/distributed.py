"""Training on several hosts through XGBoost's own collective, on the real image's code path
(aws/sagemaker-xgboost-container ``distributed.py``, ``algorithm_mode/train.py``; reference §14).

What the image does when ``len(SM_HOSTS) > 1``:

1. log ``Distributed node training with N hosts: [...]`` and wait (up to 15 minutes) until every host name
   resolves;
2. a host without train data (or, from 1.7-1, with a validation channel but no validation data) logs that it
   does not have data and will not be used;
3. first collective round (port 9099): every host broadcasts whether it has data; a host without data then logs
   ``Host <h> not being used for distributed training.`` and exits 0;
4. second round (the next port) with only the hosts that have data: ``sorted(hosts)[0]`` starts the tracker and
   is the master (the only host that saves the model); each worker's task id is its index in the sorted hosts,
   so the master is rank 0. With one host left it trains alone; with none: ``No hosts received training
   data.``

XGBoost 1.x images used Rabit (``xgboost.rabit`` and a patched dmlc tracker); 3.0-5 uses ``xgboost.collective``
with ``xgboost.tracker.RabitTracker``. sagelocal runs XGBoost 3.0.5, so every image version trains through
``xgboost.collective`` and ``RabitTracker``, while each version's log lines are its own. Host names resolve
through the container contract (``contract.host_address``): real DNS in containers, the supervisor's
host -> loopback map with ``--backend local``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from sagelocal.algorithms.xgboost.errors import AlgorithmError
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import ImageVersion
from sagelocal.contract import host_address, rabit_port

#: ``_dns_lookup``'s ``@retry(stop_max_delay=1000 * 60 * 15, wait_exponential_multiplier=100,
#: wait_exponential_max=30000)``.
DNS_WAIT_SECONDS = 15 * 60
#: Between two attempts to join the tracker. The images wait 3 s (1.x, ``connect_retry_timeout``) or 5 s
#: (3.0-5); on one machine the tracker is up within moments, so sagelocal tries again sooner.
CONNECT_RETRY_SECONDS = 0.2
CONNECT_ATTEMPTS = 150
#: The collective's timeout (``dmlc_timeout``). The 3.0-5 image passes ``max(connect_retry_timeout, 30)``; a
#: busy machine running every host of a job can stall one of them longer than that, and a host that dies is
#: noticed by the supervisor (its process or container exits), not by this timeout, so sagelocal waits longer.
COLLECTIVE_TIMEOUT_SECONDS = 600


def wait_hostname_resolution(hosts: list[str], environ: Mapping[str, str]) -> None:
    """``distributed.wait_hostname_resolution``: every name must resolve; retried with exponential waits
    (100 ms doubling, at most 30 s) for up to 15 minutes, then the lookup's error propagates."""
    for host in hosts:
        end = time.monotonic() + DNS_WAIT_SECONDS
        wait = 0.1
        while True:
            try:
                host_address(host, environ)
                break
            except OSError:
                if time.monotonic() + wait > end:
                    raise
                time.sleep(wait)
                wait = min(wait * 2, 30.0)


class Collective:
    """One collective round, as the image's ``Rabit`` context manager: the master host starts XGBoost's
    ``RabitTracker``; every host joins through ``collective.CommunicatorContext``."""

    def __init__(
        self,
        hosts: list[str],
        current_host: str,
        port: int,
        environ: Mapping[str, str],
        log: Log,
        version: ImageVersion,
    ) -> None:
        self.hosts = sorted(hosts)
        self.current_host = current_host
        self.port = port
        self.environ = environ
        self.log = log
        self.version = version
        self.master_host = self.hosts[0]
        self.is_master = current_host == self.master_host
        self._tracker: Any = None
        self._context: Any = None

    def __enter__(self) -> Collective:
        if len(self.hosts) == 1:
            return self
        from xgboost import collective
        from xgboost.tracker import RabitTracker

        try:
            address = host_address(self.master_host, self.environ)
            args: dict[str, Any]
            if self.is_master:
                self._tracker = RabitTracker(
                    n_workers=len(self.hosts), host_ip=address, port=self.port, sortby="task"
                )
                self._tracker.start()
                args = dict(self._tracker.worker_args())
                if self.version.name == "3.0-5":
                    self.log.info(f"RabitTracker started, worker_args: {args}")
                else:
                    slave_envs = {"DMLC_TRACKER_URI": self.master_host, "DMLC_TRACKER_PORT": self.port}
                    self.log.info(f"Rabit slave environment: {slave_envs}")
            else:
                args = {"dmlc_tracker_uri": address, "dmlc_tracker_port": self.port}
            args["dmlc_task_id"] = str(self.hosts.index(self.current_host))
            args["dmlc_timeout"] = COLLECTIVE_TIMEOUT_SECONDS
            # No retry inside XGBoost: its back-off (2 s, then 4 s) made a worker that started before the
            # master's tracker listened wait seconds; _join tries again every CONNECT_RETRY_SECONDS instead.
            args["dmlc_retry"] = 0
            self._join(collective, args)
        except BaseException:
            self._free_tracker()
            raise
        return self

    def _join(self, collective: Any, args: dict[str, Any]) -> None:
        """Join the tracker, trying again while it is not listening yet (a worker may start first)."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                context = collective.CommunicatorContext(**args)
                context.__enter__()
                self._context = context
                break
            except Exception:
                if attempt == CONNECT_ATTEMPTS - 1:
                    raise
                if self.version.name != "3.0-5":
                    self.log.info(f"Failed to connect to RabitTracker on attempt {attempt}")
                    self.log.info(f"Sleeping for {CONNECT_RETRY_SECONDS} sec before retrying")
                time.sleep(CONNECT_RETRY_SECONDS)
        if self.version.name != "3.0-5":
            self.log.info("Connected to RabitTracker.")

    def synchronize(self, data: Any) -> list[Any]:
        """``RabitHelper.synchronize``: every worker's ``data``, in rank order (one broadcast per rank)."""
        from xgboost import collective

        size = int(collective.get_world_size())
        if size == 1:
            return [data]
        rank = int(collective.get_rank())
        results = []
        for root in range(size):
            text = collective.broadcast(json.dumps(data) if root == rank else "", root)
            results.append(json.loads(str(text)))
        return results

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)
        self._free_tracker()

    def _free_tracker(self) -> None:
        if self._tracker is not None:
            tracker, self._tracker = self._tracker, None
            try:
                tracker.wait_for(timeout=5)
            except Exception:
                pass
            try:
                tracker.free()
            except Exception:
                pass  # workers that never joined; the image's ``_cleanup`` ignores this too


def rabit_run(
    train: Callable[[bool], None],
    include_in_training: bool,
    hosts: list[str],
    current_host: str,
    environ: Mapping[str, str],
    log: Log,
    version: ImageVersion,
) -> int | None:
    """``distributed.rabit_run``: two collective rounds (see the module docstring). ``train(is_master)``
    runs inside the second. Returns 0 when this host leaves without training (the image's ``sys.exit(0)``),
    else None."""
    first_port = rabit_port(environ)
    with Collective(hosts, current_host, first_port, environ, log, version) as round_one:
        records = round_one.synchronize({"host": current_host, "include_in_training": include_in_training})
    with_data = [r["host"] for r in records if r["include_in_training"]]

    if not include_in_training:
        log.warning(f"Host {current_host} not being used for distributed training.")
        return 0
    if len(with_data) > 1:
        with Collective(with_data, current_host, first_port + 1, environ, log, version) as cluster:
            train(cluster.is_master)
    elif len(with_data) == 1:
        train(True)
    else:
        raise AlgorithmError("No hosts received training data.")
    return None


__all__ = ["Collective", "rabit_run", "wait_hostname_resolution"]
