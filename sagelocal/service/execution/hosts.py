"""Running a job's training hosts side by side: ``algo-1`` … ``algo-N`` for ``InstanceCount`` N.

Every host runs ``train`` over its own layout through the same runner, at the same time, as SageMaker starts
one container per instance. The hosts find each other by name (``Runner.open_cluster``) and train through
XGBoost's own collective, which the algorithm starts as the image does (``algorithms/xgboost/distributed.py``).

The job ends as the cluster does on SageMaker:
- every host exits 0 (a host without data leaves the collective and exits 0 early): the job completes;
- a host exits non-zero (it failed, or was killed): the others are stopped (SIGTERM, then SIGKILL after the
  grace period) and the job fails with the first failing host's reason;
- StopTrainingJob or MaxRuntimeInSeconds: every host is stopped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sagelocal.service.execution.runners.base import AlgorithmRun, Runner, RunOutcome


@dataclass
class HostsOutcome:
    """How the hosts ended: ``outcome`` is the job's (the first failing host's exit code, or 0), ``failed``
    the host whose exit decided a failure."""

    outcome: RunOutcome
    failed: str | None = None


class _Host:
    def __init__(self, run: AlgorithmRun) -> None:
        self.run = run
        self.stop = threading.Event()
        self.outcome: RunOutcome | None = None
        self.error: BaseException | None = None


def run_hosts(
    runner: Runner, runs: list[AlgorithmRun], stop: threading.Event, deadline: float | None
) -> HostsOutcome:
    """Run every host's ``train`` at once until all ended; see the module docstring. Raises the first
    RunnerError a host's runner raised (after stopping the rest)."""
    if len(runs) == 1:
        return HostsOutcome(runner.run(runs[0], stop, deadline))
    hosts = [_Host(run) for run in runs]
    lock = threading.Lock()
    first_failure: list[_Host] = []
    all_done = threading.Event()

    def stop_all() -> None:
        for host in hosts:
            host.stop.set()

    def relay_job_stop() -> None:
        """StopTrainingJob reaches every host."""
        while not all_done.is_set():
            if stop.wait(0.05):
                stop_all()
                return

    def drive(host: _Host) -> None:
        try:
            host.outcome = runner.run(host.run, host.stop, deadline)
        except BaseException as e:
            host.error = e
        failed = host.error is not None or (
            host.outcome is not None and host.outcome.ended_by == "exit" and host.outcome.exit_code != 0
        )
        if failed:
            with lock:
                first = not first_failure
                if first:
                    first_failure.append(host)
            if first:
                stop_all()

    relay = threading.Thread(target=relay_job_stop, name="sagelocal-hosts-stop", daemon=True)
    relay.start()
    threads = [
        threading.Thread(target=drive, args=(host,), name=f"sagelocal-{host.run.host}", daemon=True)
        for host in hosts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_done.set()
    relay.join()

    if first_failure:
        failed = first_failure[0]
        if failed.error is not None:
            raise failed.error
        assert failed.outcome is not None
        if not stop.is_set():
            return HostsOutcome(failed.outcome, failed.run.host)
    outcomes = [host.outcome for host in hosts if host.outcome is not None]
    for reason in ("stop", "max_runtime"):
        if any(o.ended_by == reason for o in outcomes):
            return HostsOutcome(RunOutcome(exit_code=0, ended_by=reason))
    return HostsOutcome(RunOutcome(exit_code=0))
