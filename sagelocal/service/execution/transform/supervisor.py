"""The detached worker of one transform job: ``python -m sagelocal.service.execution.transform.supervisor <name>``.

Started by CreateTransformJob in its own session, it does what SageMaker does for a batch transform (DOC
batch-transform; reference inference §9): list the input objects, start ``InstanceCount`` instances of the
model's image with ``serve`` (``execution/hosting/instances.py``: a process, or a container on the docker runner)
and ``SAGEMAKER_BATCH`` set, wait for ``GET /ping``, ask ``GET /execution-parameters`` for what the request left
unset, then send every object's records to ``POST /invocations`` (``service/transform/records.py`` splits,
batches, filters and joins them) with up to MaxConcurrentTransforms requests in flight per instance. Each
object's ``<name>.out`` is stored under S3OutputPath in one piece once all its records are transformed, so an
object that failed or was stopped has no output at all.

Logs go to ``/aws/sagemaker/TransformJobs``: the container's output to ``<job>/<instance-id>-<epoch>``, the
platform's lines (``[sagemaker logs]: …``) to ``<job>/<instance-id>-<epoch>/data-log`` (DOC logging-cloudwatch).
SIGTERM (StopTransformJob) stops the requests and the instances and ends the job Stopped. The instances of
runner ``process`` die with this process (PR_SET_PDEATHSIG); if this process dies, the next DescribeTransformJob
fails the job (``service/transform/store.py``) and removes its containers.
"""

from __future__ import annotations

import gzip
import http.client
import json
import shutil
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagelocal import config
from sagelocal.algorithms.xgboost.versions import UnknownImage, version_from_image_uri
from sagelocal.aws.errors import JobFailure, ServiceError
from sagelocal.aws.refs import S3Uri
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
from sagelocal.service.execution.supervisor import LogWriter
from sagelocal.service.execution.transform.launch import job_labels
from sagelocal.service.hosting import model_data
from sagelocal.service.logstore import LogStore, render_message
from sagelocal.service.objectstore import ObjectStore
from sagelocal.service.training.layout import _relative_path
from sagelocal.service.transform import records
from sagelocal.service.transform.records import Processing, RecordError
from sagelocal.service.transform.store import TransformRecord, TransformStore

LOG_GROUP = "/aws/sagemaker/TransformJobs"
CLIENT_ERROR = "ClientError: See job logs for more information"
ALGORITHM_ERROR = "AlgorithmError: See job logs for more information"
#: How long an instance has to answer ``/ping`` with 200.
HEALTH_TIMEOUT = 600.0
#: ModelClientConfig defaults (botocore ``ModelClientConfig`` doc: 600 s, 3 retries).
DEFAULT_INVOCATION_TIMEOUT = 600.0
DEFAULT_RETRIES = 3

_stop = threading.Event()


class TransformFailed(Exception):
    """``str()`` is the job's FailureReason."""


class _Stopped(Exception):
    """SIGTERM arrived (StopTransformJob)."""


class _ObjectFailed(Exception):
    """One object could not be transformed: the data-log lines say why, ``reason`` is the FailureReason."""

    def __init__(self, lines: list[str], reason: str) -> None:
        super().__init__(lines[0] if lines else reason)
        self.lines, self.reason = lines, reason


@dataclass
class Source:
    """One input object and where its output goes."""

    bucket: str
    key: str
    out_bucket: str
    out_key: str

    @property
    def label(self) -> str:
        return f"{self.bucket}/{self.key}"


@dataclass
class Instance:
    instance_id: str
    running: RunningInstance
    writer: LogWriter  # the container's output
    data_log: LogWriter  # the platform's lines about this instance's work

    def say(self, message: str) -> None:
        """One data-log line: ``<ISO8601 ms>:[sagemaker logs]: <message>`` (reference inference §8)."""
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        self.data_log.add(int(now.timestamp() * 1000), f"{stamp}:[sagemaker logs]: {message}")


# --- inputs and outputs -----------------------------------------------------------------------------------


def no_objects(uri: str, role: str) -> str:
    """FailureReason for an input with nothing under it (the wording of the training jobs' download error)."""
    bucket = uri[len("s3://") :].split("/", 1)[0] if uri.startswith("s3://") else uri
    return (
        f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that '
        f"the bucket exists in the selected region ({config.region()}), that objects exist under that S3 prefix, "
        f'and that the role "{role}" has "s3:ListBucket" permissions on bucket "{bucket}".'
    )


def list_sources(objects: ObjectStore, request: dict[str, Any], role: str) -> list[Source]:
    """Every input object in key order (S3Prefix) or manifest order (ManifestFile), with its output's place:
    ``<S3OutputPath>/<path relative to the input prefix>.out``."""
    s3 = request["TransformInput"]["DataSource"]["S3DataSource"]
    uri, data_type = s3["S3Uri"], s3.get("S3DataType", "S3Prefix")
    out_bucket, out_prefix = S3Uri.parse(request["TransformOutput"]["S3OutputPath"])
    out_prefix = out_prefix.rstrip("/")
    try:
        bucket, prefix = S3Uri.parse(uri)
    except ValueError:
        raise TransformFailed(no_objects(uri, role)) from None
    found: list[tuple[str, str, str]] = []
    if data_type == "ManifestFile":
        try:
            with objects.open_object(bucket, prefix) as f:
                manifest = json.load(f)
            base = next(e["prefix"] for e in manifest if isinstance(e, dict) and "prefix" in e)
            mbucket, mprefix = S3Uri.parse(base)
            found = [(mbucket, mprefix + k, k) for k in manifest if isinstance(k, str)]
        except (ServiceError, ValueError, StopIteration, KeyError, TypeError) as e:
            raise TransformFailed(f"ClientError: Unable to read manifest file {uri}: {e}") from None
    elif data_type == "S3Prefix":
        try:
            listed = list(objects.iter_objects(bucket, prefix))
        except ServiceError:
            listed = []
        found = [(bucket, o.key, _relative_path(o.key, prefix)) for o in listed if not o.key.endswith("/")]
    else:
        raise TransformFailed(f"ClientError: S3DataType {data_type} is not supported by sagelocal.")
    if not found:
        raise TransformFailed(no_objects(uri, role))
    return [
        Source(b, k, out_bucket, f"{out_prefix}/{rel}.out" if out_prefix else f"{rel}.out")
        for b, k, rel in found
    ]


# --- talking to an instance -------------------------------------------------------------------------------


class InstanceClient:
    """Keep-alive HTTP connections to one instance, one per thread."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self._local = threading.local()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._local.conn = conn
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self._local.conn = None
            raise


class TransformSupervisor:
    def __init__(self, home: Path, name: str) -> None:
        self.paths = StatePaths(home)
        self.db = Database(self.paths.database)
        self.store = TransformStore(self.db)
        self.logs = LogStore(self.db)
        self.objects = ObjectStore(self.paths.objects)
        self.name = name
        self.instances: list[Instance] = []
        self.clients: list[InstanceClient] = []
        self._runner: Any = None

    # --- instances ---

    def _start_instance(self, record: TransformRecord, env: dict[str, str]) -> Instance:
        if _stop.is_set():
            raise _Stopped
        container = record.model.get("PrimaryContainer") or (record.model.get("Containers") or [{}])[0]
        image = str(container.get("Image", ""))
        instance_id = new_instance_id()
        root = self.paths.transform_dir(self.name) / instance_id
        model_dir = Layout(root).model_dir
        model_dir.mkdir(parents=True, exist_ok=True)
        if container.get("ModelDataUrl"):
            try:
                model_data.install(self.objects, container["ModelDataUrl"], model_dir)
            except model_data.ModelDataError as e:
                raise TransformFailed(f"ClientError:{e}") from None
        try:
            version: str | None = version_from_image_uri(image).name
        except UnknownImage as e:
            version = None
            if record.runner != "docker":
                raise TransformFailed(f"ClientError: {e}") from None
        stream = f"{self.name}/{instance_id}-{int(time.time())}"
        self.logs.create_log_stream(LOG_GROUP, stream)
        self.logs.create_log_stream(LOG_GROUP, f"{stream}/data-log")
        writer = LogWriter(self.logs, LOG_GROUP, stream)
        data_log = LogWriter(self.logs, LOG_GROUP, f"{stream}/data-log")

        def on_line(line: str) -> None:
            writer.add(int(time.time() * 1000), render_message(line))

        environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
        environment.update(env)
        spec = InstanceSpec(
            root, image, version, environment, on_line, labels=job_labels(self.paths, self.name)
        )
        try:
            running = self._launch(record.runner, spec, free_port())
        except JobFailure as e:
            writer.close()
            data_log.close()
            raise TransformFailed(str(e)) from None
        instance = Instance(instance_id, running, writer, data_log)
        self.instances.append(instance)
        return instance

    def _launch(self, runner: str, spec: InstanceSpec, port: int) -> RunningInstance:
        if runner == "docker":
            from sagelocal.service.execution.hosting.container import ContainerInstance
            from sagelocal.service.execution.runners.container import ContainerRunner

            if self._runner is None:
                self._runner = ContainerRunner()
            return ContainerInstance(self._runner, spec, port)
        return ProcessInstance(spec, port)

    def _stop_instances(self) -> None:
        for instance in self.instances:
            try:
                instance.running.stop()
            except Exception:
                traceback.print_exc()
            instance.writer.close()
            instance.data_log.close()
            shutil.rmtree(self.paths.transform_dir(self.name) / instance.instance_id, ignore_errors=True)

    # --- the job ---

    def run(self) -> int:
        record = self.store.get(self.name)
        if record is None or record.terminal:
            return 0
        outcome, failure = "Completed", None
        try:
            if record.status == "Stopping":
                raise _Stopped
            self._transform_all(record)
        except _Stopped:
            outcome = "Stopped"
        except TransformFailed as e:
            outcome, failure = "Failed", str(e)
        except BaseException as e:
            traceback.print_exc()
            outcome, failure = "Failed", f"InternalServerError: sagelocal: {type(e).__name__}: {e}"
        finally:
            # Everything is stopped before the job says it has ended: then nothing of it is left running.
            self._stop_instances()
            self.store.finish(self.name, outcome, failure)
        return 0

    def _transform_all(self, record: TransformRecord) -> None:
        request = record.request
        role = str(record.model.get("ExecutionRoleArn") or config.DUMMY_ROLE_ARN)
        sources = list_sources(self.objects, request, role)
        env = {"SAGEMAKER_BATCH": "True"}
        if request.get("MaxPayloadInMB") is not None:
            env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(request["MaxPayloadInMB"])
        if request.get("BatchStrategy"):
            env["SAGEMAKER_BATCH_STRATEGY"] = (
                "SINGLE_RECORD" if request["BatchStrategy"] == "SingleRecord" else "MULTI_RECORD"
            )
        if request.get("MaxConcurrentTransforms"):
            env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(request["MaxConcurrentTransforms"])
        env.update({str(k): str(v) for k, v in (request.get("Environment") or {}).items()})
        count = int(request["TransformResources"]["InstanceCount"])
        client_config = request.get("ModelClientConfig") or {}
        timeout = float(client_config.get("InvocationsTimeoutInSeconds") or DEFAULT_INVOCATION_TIMEOUT)
        retries = int(client_config.get("InvocationsMaxRetries", DEFAULT_RETRIES))
        for _ in range(count):
            self._start_instance(record, env)
        if not self.store.start(self.name):
            raise _Stopped
        for instance in self.instances:
            status = wait_healthy(instance.running, HEALTH_TIMEOUT, _stop)
            if _stop.is_set():
                raise _Stopped
            if status != 200:
                instance.say("Unable to get response from algorithm")
                raise TransformFailed(ALGORITHM_ERROR)
            self.clients.append(InstanceClient(instance.running.port, timeout))
        concurrent, strategy, payload = self._execution_parameters(request)
        for instance in self.instances:
            strategy_name = "SINGLE_RECORD" if strategy == "SingleRecord" else "MULTI_RECORD"
            instance.say(
                f"MaxConcurrentTransforms={concurrent}, MaxPayloadInMB={payload}, BatchStrategy={strategy_name}"
            )
        processing = Processing.of(request, strategy, payload)
        headers = {}
        if request["TransformInput"].get("ContentType"):
            headers["Content-Type"] = request["TransformInput"]["ContentType"]
        if (request.get("TransformOutput") or {}).get("Accept"):
            headers["Accept"] = request["TransformOutput"]["Accept"]
        compressed = request["TransformInput"].get("CompressionType") == "Gzip"
        with ThreadPoolExecutor(max_workers=concurrent * len(self.instances)) as pool:
            try:
                for i, source in enumerate(sources):
                    which = i % len(self.instances)
                    self._transform_object(pool, which, source, processing, headers, compressed, retries)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def _execution_parameters(self, request: dict[str, Any]) -> tuple[int, str, int]:
        """MaxConcurrentTransforms, BatchStrategy and MaxPayloadInMB: the request's, else the container's
        ``GET /execution-parameters`` answer, else 1, MultiRecord and 6."""
        given = (
            request.get("MaxConcurrentTransforms"),
            request.get("BatchStrategy"),
            request.get("MaxPayloadInMB"),
        )
        asked: dict[str, Any] = {}
        if None in given or not given[0]:
            try:
                status, answer = self.clients[0].request("GET", "/execution-parameters")
                if status == 200:
                    asked = json.loads(answer)
            except (OSError, http.client.HTTPException, ValueError):
                asked = {}
        concurrent = given[0] or int(asked.get("MaxConcurrentTransforms") or 1)
        strategy = given[1] or (
            "SingleRecord" if asked.get("BatchStrategy") == "SINGLE_RECORD" else "MultiRecord"
        )
        payload = (
            given[2]
            if given[2] is not None
            else int(asked.get("MaxPayloadInMB") or records.DEFAULT_MAX_PAYLOAD_MB)
        )
        return max(1, int(concurrent)), strategy, int(payload) or records.DEFAULT_MAX_PAYLOAD_MB

    def _transform_object(
        self,
        pool: ThreadPoolExecutor,
        which: int,
        source: Source,
        processing: Processing,
        headers: dict[str, str],
        compressed: bool,
        retries: int,
    ) -> None:
        instance, client = self.instances[which], self.clients[which]
        with self.objects.open_object(source.bucket, source.key) as f:
            data = f.read()
        try:
            if compressed:
                data = gzip.decompress(data)
            plain = processing.split_type == "Line" and processing.batch_strategy == "MultiRecord"
            plain = plain and processing.input_filter == "$" and not processing.per_record
            work: list[tuple[bytes, int]] = []
            inputs: list[bytes] = []
            if plain:
                for start, stop in records.line_batches(data, processing.max_payload_bytes):
                    work.append((data[start:stop], data.count(b"\n", start, stop) + 1))
            else:
                inputs = records.split(data, processing.split_type)
                sent = [records.filter_input(r, processing) for r in inputs]
                for batch in records.mini_batches(sent, processing):
                    work.append((records.body(sent, batch), len(batch)))
        except (RecordError, OSError, EOFError) as e:
            instance.say(f"{source.label}: {e}")
            raise TransformFailed(CLIENT_ERROR) from None
        futures: list[Future[bytes]] = [
            pool.submit(self._invoke, client, body, headers, retries) for body, _ in work
        ]
        outputs: list[bytes] = []
        position = 0
        try:
            for future, (_, count) in zip(futures, work, strict=True):
                while True:
                    if _stop.is_set():
                        raise _Stopped
                    try:
                        response = future.result(timeout=0.2)
                        break
                    except TimeoutError:
                        continue
                pieces = records.outputs_of(response, count, processing)
                if processing.per_record:
                    pieces = [
                        records.finish_output(inputs[position + j], piece, processing)
                        for j, piece in enumerate(pieces)
                    ]
                position += count
                outputs.extend(pieces)
        except _ObjectFailed as e:
            for line in e.lines:
                instance.say(f"{source.label}: {line}")
            raise TransformFailed(e.reason) from None
        except RecordError as e:
            instance.say(f"{source.label}: {e}")
            raise TransformFailed(CLIENT_ERROR) from None
        finally:
            for future in futures:
                future.cancel()
        self.objects.create_bucket(source.out_bucket)
        self.objects.put_object(source.out_bucket, source.out_key, records.assemble(outputs, processing))

    def _invoke(self, client: InstanceClient, body: bytes, headers: dict[str, str], retries: int) -> bytes:
        attempt = 0
        while True:
            if _stop.is_set():
                raise _Stopped
            try:
                status, answer = client.request("POST", "/invocations", body, headers)
                break
            except (OSError, http.client.HTTPException):
                attempt += 1
                if attempt > retries or _stop.is_set():
                    raise _ObjectFailed(["Unable to get response from algorithm"], ALGORITHM_ERROR) from None
                time.sleep(0.2)
        if status in (200, 204):
            return answer
        message = answer.decode("utf-8", "replace").splitlines() or [""]
        if 400 <= status < 500:
            head, reason = f"ClientError: {status}", CLIENT_ERROR
        else:
            head, reason = f"Bad HTTP status received from algorithm: {status}", ALGORITHM_ERROR
        raise _ObjectFailed([head, "Message:", *message], reason)


def _on_sigterm(signum: int, frame: Any) -> None:
    _stop.set()


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m sagelocal.service.execution.transform.supervisor <transform-job-name>",
            file=sys.stderr,
        )
        return 2
    return TransformSupervisor(config.home(), args[0]).run()


if __name__ == "__main__":
    sys.exit(main())
