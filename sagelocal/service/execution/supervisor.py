"""The detached per-job worker: ``python -m sagelocal.service.execution.supervisor <job-name>``.

Started by ``Emulator.create_training_job`` in its own session, it drives one job through SageMaker's
phases (reference sagemaker-api §6): prepare the job's container layout, make the image runnable, run ``train`` while
its output goes to the log store, upload the artifacts, and record the terminal state. SIGTERM
(StopTrainingJob) stops the algorithm and ends the job Stopped. Imports stay light (no pandas/xgboost): this
process is on the critical path of every job.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.algorithms.xgboost.versions import UnknownImage, version_from_image_uri
from sagelocal.aws.errors import INTERNAL_SERVER_ERROR, JobFailure
from sagelocal.config import StatePaths
from sagelocal.contract import FIRST_HOST, Layout
from sagelocal.service.db import Database
from sagelocal.service.execution.hosts import run_hosts
from sagelocal.service.execution.runners.base import AlgorithmRun, Cluster, Runner
from sagelocal.service.logstore import TRAINING_LOG_GROUP, LogStore, render_message
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training import artifacts
from sagelocal.service.training import store as states
from sagelocal.service.training.layout import build_layout, hosts, save_checkpoints
from sagelocal.service.training.metrics import MetricTracker, metric_definitions

_stop = threading.Event()
_SIGNALS = {s.value: s.name for s in signal.Signals}


def _on_sigterm(signum: int, frame: Any) -> None:
    _stop.set()


def install_stop_handler() -> None:
    """SIGTERM (what StopTrainingJob sends once the job is marked ready) stops the job."""
    signal.signal(signal.SIGTERM, _on_sigterm)


class LogWriter:
    """Buffers the algorithm's output lines and writes them to the log store in batches (every
    ``interval`` seconds or ``batch`` lines), so per-line overhead stays a list append."""

    def __init__(
        self, logs: LogStore, group: str, stream: str, interval: float = 0.2, batch: int = 100
    ) -> None:
        self.logs, self.group, self.stream = logs, group, stream
        self.interval, self.batch = interval, batch
        self._pending: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sagelocal-log-flush", daemon=True)
        self._thread.start()

    def add(self, timestamp_ms: int, message: str) -> None:
        with self._lock:
            self._pending.append((timestamp_ms, message))
            full = len(self._pending) >= self.batch
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        if events:
            self.logs.put_log_events(self.group, self.stream, events)

    def _loop(self) -> None:
        while not self._closed.wait(self.interval):
            try:
                self.flush()
            except Exception:
                traceback.print_exc()

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        self.flush()


def failure_reason(failure_text: str | None, code: int, host: str | None = None) -> str:
    """FailureReason for an algorithm that exited ``code`` != 0: the failure file's text, prefixed
    ``AlgorithmError: `` unless it already names its kind, then ``, exit code: N``; at most 1024 chars. A
    process that wrote no reason gets a line of sagelocal's own, which names the training host when the job
    has several (``host``)."""
    text = (failure_text or "").rstrip()
    if not text:
        where = f" on {host}" if host else ""
        if code > 128 and code - 128 in _SIGNALS:
            text = (
                f"AlgorithmError: The algorithm process{where} was killed by signal {code - 128} "
                f"({_SIGNALS[code - 128]}) and wrote no failure reason"
            )
        elif host:
            text = f"AlgorithmError: See job logs for more information (the algorithm on {host} exited)"
        else:
            text = "AlgorithmError: See job logs for more information"
    if not text.startswith(("ClientError:", "AlgorithmError:")):
        text = "AlgorithmError: " + text
    return (text + f", exit code: {code}")[:1024]


def _start_feeders(
    ml_root: Path, request: dict[str, Any], objects: ObjectStore, host: str = FIRST_HOST
) -> list[Any]:
    """What runs beside the algorithm: the Pipe-mode FIFO writers and the checkpoint upload watcher."""
    from sagelocal.service.execution.checkpoint_sync import start_checkpoint_sync
    from sagelocal.service.execution.pipes import start_pipes

    feeders: list[Any] = [start_pipes(ml_root, request, objects, host)]
    sync = start_checkpoint_sync(ml_root, request, objects)
    if sync is not None:
        feeders.append(sync)
    return feeders


def _stop_feeders(feeders: list[Any]) -> None:
    for feeder in feeders:
        try:
            feeder.stop()
        except Exception:
            traceback.print_exc()


def get_runner(name: str) -> Runner:
    # Imported on demand: each runner pulls in what only it needs (the Docker SDK for "docker").
    if name == "process":
        from sagelocal.service.execution.runners.process import ProcessRunner

        return ProcessRunner()
    if name == "docker":
        from sagelocal.service.execution.runners.container import ContainerRunner

        return ContainerRunner()
    raise ValueError(f"unknown runner {name!r}")


class _Ended(Exception):
    """The job ended Stopped before its next phase: a stop was requested (SIGTERM here, or the record says
    Stopping) or it already ended."""


def _model_source(layouts: list[Layout]) -> Layout:
    """The host whose ``/opt/ml/model`` becomes model.tar.gz: only the collective's master saves (the image's
    ``is_master``), which is ``algo-1`` unless it had no data and left; the first host holding a model."""
    return next((lay for lay in layouts if artifacts.has_files(lay.model_dir)), layouts[0])


def run_job(home: Path, name: str) -> int:
    paths = StatePaths(home)
    db = Database(paths.database)
    store = states.JobStore(db)
    status = store.mark_ready(name)
    record = store.require(name)
    request = record.request
    objects = ObjectStore(paths.objects)
    ml_root = paths.job_dir(name)
    host_names = hosts(request)
    layouts = [Layout(paths.host_dir(name, host)) for host in host_names]
    metrics = MetricTracker(metric_definitions(request))
    metrics_lock = threading.Lock()

    def stopped() -> bool:
        return _stop.is_set()

    def advance(phase: tuple[str, str]) -> None:
        """Enter the job's next phase, unless it is to stop (then raise _Ended)."""
        if stopped() or not store.advance(name, phase):
            raise _Ended

    def upload_outputs() -> None:
        source = _model_source(layouts)
        artifacts.upload_folder(
            objects, source.model_dir, artifacts.model_artifact_uri(request), source.ml_root
        )
        if artifacts.has_files(source.output_data_dir):
            artifacts.upload_folder(
                objects, source.output_data_dir, artifacts.output_artifact_uri(request), source.ml_root
            )

    def upload_partial_model() -> None:
        """After a stop: a model saved so far (save_model_on_termination) is still uploaded."""
        source = _model_source(layouts)
        if artifacts.has_files(source.model_dir):
            try:
                artifacts.upload_folder(
                    objects, source.model_dir, artifacts.model_artifact_uri(request), source.ml_root
                )
            except Exception:
                traceback.print_exc()

    if status != "InProgress":
        store.finish(name, "Stopped")
        return 0

    try:
        advance(states.PREPARING)
        advance(states.DOWNLOADING)
        # MaxRuntimeInSeconds counts from TrainingStartTime (the instances start working), as billing does.
        runtime_start = time.monotonic()
        if len(host_names) > 1:
            shutil.rmtree(paths.host_dirs(name), ignore_errors=True)  # an earlier job's of that name
        for host, layout in zip(host_names, layouts, strict=True):
            build_layout(layout.ml_root, request, objects, host)

        advance(states.DOWNLOADING_IMAGE)
        spec = request.get("AlgorithmSpecification") or {}
        image = spec.get("TrainingImage") or ""
        try:
            version: str | None = version_from_image_uri(image).name
        except UnknownImage:
            version = None
        runner = get_runner(record.runner)
        runner.prepare_image(image, version)

        started = time.time()
        advance(states.TRAINING)
        logs = LogStore(db)
        writers: list[LogWriter] = []

        def line_sink(writer: LogWriter) -> Any:
            def on_line(line: str) -> None:
                now = time.time()
                message = render_message(line)
                writer.add(int(now * 1000), message)
                with metrics_lock:
                    metrics.feed(message, round(now, 3))

            return on_line

        max_runtime = int((request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))
        deadline = runtime_start + max_runtime
        env = {str(k): str(v) for k, v in (request.get("Environment") or {}).items()}
        cluster = runner.open_cluster(name, host_names) if len(host_names) > 1 else Cluster()
        feeders: list[Any] = []
        try:
            runs = []
            for host, layout in zip(host_names, layouts, strict=True):
                # SageMaker's stream name: <job>/<host>-<epoch seconds> (reference sagemaker-api §9).
                stream = f"{name}/{host}-{int(started)}"
                logs.create_log_stream(TRAINING_LOG_GROUP, stream)
                writer = LogWriter(logs, TRAINING_LOG_GROUP, stream)
                writers.append(writer)
                feeders += _start_feeders(layout.ml_root, request, objects, host)
                runs.append(
                    AlgorithmRun(
                        layout.ml_root,
                        image,
                        version,
                        env,
                        line_sink(writer),
                        job=name,
                        host=host,
                        platform_env=dict(cluster.environment),
                        network=cluster.network,
                    )
                )
            ended = run_hosts(runner, runs, _stop, deadline)
        finally:
            for writer in writers:
                writer.close()
            _stop_feeders(feeders)
            if len(host_names) > 1:
                runner.close_cluster(cluster)
        outcome = ended.outcome
        final = metrics.final()
        try:
            save_checkpoints(ml_root, request, objects)
        except Exception:
            traceback.print_exc()  # SageMaker syncs checkpoints best-effort too; the job's outcome stands

        if outcome.ended_by == "stop" or (stopped() and outcome.ended_by == "exit"):
            upload_partial_model()
            store.finish(name, "Stopped", final_metrics=final)
            return 0
        if outcome.ended_by == "max_runtime":
            upload_partial_model()
            store.finish(name, "MaxRuntimeExceeded", final_metrics=final)
            return 0
        if outcome.exit_code != 0:
            failed_host = ended.failed or FIRST_HOST
            failure = layouts[host_names.index(failed_host)].failure_file
            text = failure.read_text(errors="replace") if failure.exists() else None
            reason = failure_reason(text, outcome.exit_code, ended.failed)
            store.finish(name, "Failed", failure_reason=reason, final_metrics=final)
            return 0
        if not store.advance(name, states.UPLOADING):
            upload_partial_model()
            store.finish(name, "Stopped", final_metrics=final)
            return 0
        upload_outputs()
        store.finish(name, "Completed", final_metrics=final)
        return 0
    except _Ended:
        store.finish(name, "Stopped")
        return 0
    except JobFailure as e:
        store.finish(name, "Failed", failure_reason=str(e)[:1024])
        return 0
    except BaseException as e:
        traceback.print_exc()
        internal = JobFailure(INTERNAL_SERVER_ERROR, f"sagelocal: {type(e).__name__}: {e}")
        store.finish(name, "Failed", failure_reason=str(internal)[:1024])
        return 1


def main(argv: list[str] | None = None) -> int:
    install_stop_handler()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sagelocal.service.execution.supervisor <training-job-name>", file=sys.stderr)
        return 2
    return run_job(config.home(), args[0])


if __name__ == "__main__":
    sys.exit(main())
