"""Process-wide settings: where state lives and the identity the emulator answers with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The AWS account the emulator pretends to be. Any 12 digits would do; this one is AWS's documentation example.
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
#: Used locally when a request names no role (SageMaker itself always requires one).
DUMMY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/SageMakerRole"
#: The bucket the CLI uploads local inputs to when no --output-path names one (SageMaker's default_bucket()).
DEFAULT_BUCKET = f"sagemaker-{DEFAULT_REGION}-{ACCOUNT_ID}"


def home() -> Path:
    """The state directory: ``$SAGELOCAL_HOME``, else ``~/.sagelocal``. Created on first use."""
    path = Path(os.environ.get("SAGELOCAL_HOME") or "~/.sagelocal").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


#: The docker backend's memory limit for each training container: bytes, or a number ending in k, m or g
#: (1024-based, as ``docker run --memory``). Unset: no limit.
CONTAINER_MEMORY_VARIABLE = "SAGELOCAL_CONTAINER_MEMORY"
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def container_memory() -> int | None:
    """``$SAGELOCAL_CONTAINER_MEMORY`` in bytes, or None when unset. Raises ValueError for anything else."""
    text = os.environ.get(CONTAINER_MEMORY_VARIABLE, "").strip().lower()
    if not text:
        return None
    number, unit = (text[:-1], text[-1]) if text[-1] in _UNITS and not text[-1].isdigit() else (text, "")
    try:
        value = int(float(number) * _UNITS[unit])
    except ValueError:
        value = 0
    if value < 6 << 20:  # docker's own minimum
        raise ValueError(
            f"{CONTAINER_MEMORY_VARIABLE}={text!r}: give the container memory limit in bytes or with a k, m or g "
            "suffix, at least 6m"
        )
    return value


@dataclass(frozen=True)
class StatePaths:
    """Every path of the state folder, named once. Processes that share a ``home`` (CLI, server, the detached
    job supervisors) share the state: ``sagelocal.db`` (jobs and log events, SQLite in WAL mode), ``s3/`` (the
    object store), ``jobs/<name>/`` (each job's container layout and supervisor log), ``endpoints/<name>/``
    (each endpoint's instance folders and supervisor logs), ``artifacts/`` (models fetched from real SageMaker),
    the SageMaker SDK config ``sagelocal serve`` writes and the credentials its clients must sign with."""

    home: Path

    @classmethod
    def current(cls) -> StatePaths:
        """The paths under :func:`home`."""
        return cls(home())

    @property
    def database(self) -> Path:
        return self.home / "sagelocal.db"

    @property
    def objects(self) -> Path:
        """The object store's root: one folder per bucket."""
        return self.home / "s3"

    @property
    def jobs(self) -> Path:
        return self.home / "jobs"

    def job_dir(self, name: str) -> Path:
        """Training job ``name``'s folder: the root of its container layout."""
        return self.jobs / name

    def host_dirs(self, name: str) -> Path:
        """Where the layouts of job ``name``'s hosts after the first live: ``jobs/<name>.hosts/`` (a job name
        holds no ``.``, so no job's folder can be called that), outside the first host's layout, which a
        container mounts at /opt/ml."""
        return self.jobs / f"{name}.hosts"

    def host_dir(self, name: str, host: str) -> Path:
        """The root of training host ``host``'s container layout: ``algo-1``'s is :meth:`job_dir`."""
        return self.job_dir(name) if host == "algo-1" else self.host_dirs(name) / host

    def supervisor_log(self, name: str) -> Path:
        """Where job ``name``'s supervisor process writes its own output (not the algorithm's: that is in the
        log store)."""
        return self.job_dir(name) / "supervisor.log"

    def artifact_dir(self, job_name: str) -> Path:
        """Where ``--backend sagemaker`` downloads job ``job_name``'s model."""
        return self.home / "artifacts" / job_name

    @property
    def temp(self) -> Path:
        """Scratch space of the long-lived processes (``sagelocal serve`` and its fork server), kept in the
        state folder rather than the system's temp folder so nothing of sagelocal's is left outside it."""
        return self.home / "tmp"

    @property
    def request_spool(self) -> Path:
        """Where the server spools request bodies too large to hold in memory (S3 uploads)."""
        return self.temp / "requests"

    def process_temp(self, pid: int) -> Path:
        """Process ``pid``'s multiprocessing temp folder (the fork server's socket); removed when the process
        ends, or by the next ``serve`` if it was killed."""
        return self.temp / f"mp-{pid}"

    @property
    def endpoints(self) -> Path:
        return self.home / "endpoints"

    def endpoint_dir(self, name: str) -> Path:
        """Endpoint ``name``'s folder: its supervisors' logs and one folder per instance."""
        return self.endpoints / name.lower()

    def instance_dir(self, name: str, instance_id: str) -> Path:
        """One endpoint instance's folder: the root of its container layout (the model in ``model/``)."""
        return self.endpoint_dir(name) / instance_id

    def endpoint_supervisor_log(self, name: str, generation: int) -> Path:
        """Where the supervisor of endpoint ``name``'s deployment ``generation`` writes its own output."""
        return self.endpoint_dir(name) / f"supervisor-{generation}.log"

    @property
    def sdk_config(self) -> Path:
        """The SageMaker Python SDK config ``sagelocal serve`` points SAGEMAKER_USER_CONFIG_OVERRIDE at."""
        return self.home / "sagemaker-sdk-config.yaml"

    @property
    def credentials(self) -> Path:
        """The access key id and secret every request to ``sagelocal serve`` must be signed with (mode 0600,
        created at first use by :func:`sagelocal.server.credentials.load_or_create`)."""
        return self.home / "credentials.json"

    def tuning_dir(self, name: str) -> Path:
        """Hyperparameter tuning job ``name``'s folder: its tuner process's own output (``tuner.log``)."""
        return self.home / "tuning" / name.lower()

    @property
    def transforms(self) -> Path:
        return self.home / "transforms"

    def transform_dir(self, name: str) -> Path:
        """Transform job ``name``'s folder: its supervisor's log, one folder per instance (the model in
        ``<instance>/model/``) and the outputs being assembled."""
        return self.transforms / name.lower()

    def transform_supervisor_log(self, name: str) -> Path:
        return self.transform_dir(name) / "supervisor.log"
