"""Hosting records and the endpoint state machine, in the emulator's SQLite database (``service/db.py``).

Models and endpoint configs are their Create requests. An endpoint runs *deployments*: generation 1 is made
by CreateEndpoint, each UpdateEndpoint adds the next. A deployment is a snapshot of the endpoint config and its
models taken when it was requested (deleting a config or a model afterwards does not touch the endpoint, as in
SageMaker), driven by one detached supervisor process (``execution/hosting/supervisor.py``) that starts the
deployment's instances and lists them in ``endpoint_instances``. Invocations go to the instances of the
endpoint's current ``generation``.

Statuses (reference: botocore ``sagemaker`` ``EndpointStatus`` and its doc strings): ``Creating → InService |
Failed``; ``InService → Updating → InService`` (a failed update rolls back: InService again, with the
FailureReason); ``→ Deleting →`` gone. Every change is one short write transaction. This module imports
nothing heavy: the supervisors use it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sagelocal import config
from sagelocal.aws.errors import ValidationException
from sagelocal.service.db import Database

#: Endpoint statuses after which nothing happens until the user acts.
SETTLED = frozenset({"InService", "Failed", "OutOfService"})
#: Statuses in which UpdateEndpoint is accepted.
UPDATABLE = frozenset({"InService"})


def arn(kind: str, name: str) -> str:
    """``arn:aws:sagemaker:<region>:<account>:<kind>/<name lower-cased>``, as SageMaker spells its ARNs
    (GH aws/amazon-sagemaker-examples#293: ``…:endpoint/demo-imageclassification-ep--…``)."""
    return f"arn:aws:sagemaker:{config.region()}:{config.ACCOUNT_ID}:{kind}/{name.lower()}"


def model_not_found(name: str) -> ValidationException:
    return ValidationException(f'Could not find model "{arn("model", name)}".')


def config_not_found(name: str) -> ValidationException:
    return ValidationException(f'Could not find endpoint configuration "{arn("endpoint-config", name)}".')


def endpoint_not_found(name: str) -> ValidationException:
    return ValidationException(f'Could not find endpoint "{arn("endpoint", name)}".')


def _now() -> float:
    return round(time.time(), 3)  # SageMaker reports milliseconds


# --- records ----------------------------------------------------------------------------------------------


@dataclass
class StoredRequest:
    """A model or an endpoint config: its Create request."""

    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float

    @classmethod
    def from_row(cls, row: Any) -> StoredRequest:
        return cls(row["name"], row["arn"], json.loads(row["request"]), row["creation_time"])


@dataclass
class EndpointRecord:
    name: str
    arn: str
    runner: str
    request: dict[str, Any]
    config_name: str
    status: str
    failure_reason: str | None
    creation_time: float
    last_modified_time: float
    generation: int
    last_generation: int

    @classmethod
    def from_row(cls, row: Any) -> EndpointRecord:
        return cls(
            name=row["name"],
            arn=row["arn"],
            runner=row["runner"],
            request=json.loads(row["request"]),
            config_name=row["config_name"],
            status=row["status"],
            failure_reason=row["failure_reason"],
            creation_time=row["creation_time"],
            last_modified_time=row["last_modified_time"],
            generation=row["generation"],
            last_generation=row["last_generation"],
        )


@dataclass
class Deployment:
    endpoint: str
    generation: int
    config_name: str
    config: dict[str, Any]  # the CreateEndpointConfig request
    models: dict[str, dict[str, Any]]  # model name -> CreateModel request
    creation_time: float
    supervisor_pid: int | None
    supervisor_start: str | None

    @classmethod
    def from_row(cls, row: Any) -> Deployment:
        snapshot = json.loads(row["deployment"])
        return cls(
            endpoint=row["endpoint"],
            generation=row["generation"],
            config_name=row["config_name"],
            config=snapshot["config"],
            models=snapshot["models"],
            creation_time=row["creation_time"],
            supervisor_pid=row["supervisor_pid"],
            supervisor_start=row["supervisor_start"],
        )


@dataclass(frozen=True)
class Instance:
    endpoint: str
    generation: int
    variant: str
    instance_id: str
    port: int
    container: str | None

    @classmethod
    def from_row(cls, row: Any) -> Instance:
        return cls(
            row["endpoint"],
            row["generation"],
            row["variant"],
            row["instance_id"],
            row["port"],
            row["container"],
        )


# --- the store --------------------------------------------------------------------------------------------


class HostingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- models and endpoint configs ---

    def _insert_request(self, table: str, kind: str, label: str, name: str, request: dict[str, Any]) -> str:
        resource_arn = arn(kind, name)
        with self.db.write() as conn:
            if conn.execute(f"SELECT 1 FROM {table} WHERE name = ?", (name,)).fetchone():
                raise ValidationException(f'Cannot create already existing {label} "{resource_arn}".')
            conn.execute(
                f"INSERT INTO {table} (name, arn, request, creation_time) VALUES (?, ?, ?, ?)",
                (name, resource_arn, json.dumps(request), _now()),
            )
        return resource_arn

    def _get_request(self, table: str, name: str) -> StoredRequest | None:
        row = self.db.conn().execute(f"SELECT * FROM {table} WHERE name = ?", (name,)).fetchone()
        return StoredRequest.from_row(row) if row else None

    def _delete_request(self, table: str, name: str) -> bool:
        with self.db.write() as conn:
            return conn.execute(f"DELETE FROM {table} WHERE name = ?", (name,)).rowcount > 0

    def _all_requests(self, table: str) -> list[StoredRequest]:
        rows = self.db.conn().execute(f"SELECT * FROM {table} ORDER BY creation_time").fetchall()
        return [StoredRequest.from_row(r) for r in rows]

    def insert_model(self, name: str, request: dict[str, Any]) -> str:
        """Store a CreateModel request; returns the ModelArn. A model of that name (any case) is an error."""
        return self._insert_request("models", "model", "model", name, request)

    def model(self, name: str) -> StoredRequest:
        found = self._get_request("models", name)
        if found is None:
            raise model_not_found(name)
        return found

    def models(self) -> list[StoredRequest]:
        return self._all_requests("models")

    def delete_model(self, name: str) -> None:
        if not self._delete_request("models", name):
            raise model_not_found(name)

    def insert_config(self, name: str, request: dict[str, Any]) -> str:
        return self._insert_request(
            "endpoint_configs", "endpoint-config", "endpoint configuration", name, request
        )

    def config(self, name: str) -> StoredRequest:
        found = self._get_request("endpoint_configs", name)
        if found is None:
            raise config_not_found(name)
        return found

    def configs(self) -> list[StoredRequest]:
        return self._all_requests("endpoint_configs")

    def delete_config(self, name: str) -> None:
        if not self._delete_request("endpoint_configs", name):
            raise config_not_found(name)

    # --- endpoints: reads ---

    def get(self, name: str) -> EndpointRecord | None:
        row = self.db.conn().execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
        return EndpointRecord.from_row(row) if row else None

    def require(self, name: str) -> EndpointRecord:
        record = self.get(name)
        if record is None:
            raise endpoint_not_found(name)
        return record

    def endpoints(self) -> list[EndpointRecord]:
        rows = self.db.conn().execute("SELECT * FROM endpoints ORDER BY creation_time").fetchall()
        return [EndpointRecord.from_row(r) for r in rows]

    def deployment(self, name: str, generation: int) -> Deployment | None:
        row = (
            self.db.conn()
            .execute(
                "SELECT * FROM endpoint_deployments WHERE endpoint = ? AND generation = ?", (name, generation)
            )
            .fetchone()
        )
        return Deployment.from_row(row) if row else None

    def deployments(self, name: str) -> list[Deployment]:
        rows = (
            self.db.conn()
            .execute("SELECT * FROM endpoint_deployments WHERE endpoint = ? ORDER BY generation", (name,))
            .fetchall()
        )
        return [Deployment.from_row(r) for r in rows]

    def all_deployments(self) -> list[Deployment]:
        rows = self.db.conn().execute("SELECT * FROM endpoint_deployments").fetchall()
        return [Deployment.from_row(r) for r in rows]

    def instances(self, name: str, generation: int | None = None) -> list[Instance]:
        """The instances of ``generation`` (default: every generation), in start order."""
        sql = "SELECT * FROM endpoint_instances WHERE endpoint = ?"
        args: list[Any] = [name]
        if generation is not None:
            sql += " AND generation = ?"
            args.append(generation)
        rows = self.db.conn().execute(sql + " ORDER BY rowid", args).fetchall()
        return [Instance.from_row(r) for r in rows]

    def routing(self, name: str) -> tuple[EndpointRecord, list[Instance]] | None:
        """The endpoint and the instances invocations go to, read together; None when there is no endpoint."""
        conn = self.db.conn()
        conn.execute("BEGIN")
        try:
            row = conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            rows = conn.execute(
                "SELECT * FROM endpoint_instances WHERE endpoint = ? AND generation = ? ORDER BY rowid",
                (name, row["generation"]),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        return EndpointRecord.from_row(row), [Instance.from_row(r) for r in rows]

    # --- endpoints: writes ---

    def insert_endpoint(
        self, name: str, runner: str, request: dict[str, Any], config_name: str, snapshot: dict[str, Any]
    ) -> EndpointRecord:
        """CreateEndpoint: the endpoint (Creating) and its first deployment."""
        now = _now()
        endpoint_arn = arn("endpoint", name)
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM endpoints WHERE name = ?", (name,)).fetchone():
                raise ValidationException(f'Cannot create already existing endpoint "{endpoint_arn}".')
            # Leftovers of an earlier endpoint of that name whose supervisor never cleaned up.
            conn.execute("DELETE FROM endpoint_deployments WHERE endpoint = ?", (name,))
            conn.execute("DELETE FROM endpoint_instances WHERE endpoint = ?", (name,))
            conn.execute(
                "INSERT INTO endpoints (name, arn, runner, request, config_name, status, creation_time,"
                " last_modified_time, generation, last_generation) VALUES (?, ?, ?, ?, ?, 'Creating', ?, ?, 1, 1)",
                (name, endpoint_arn, runner, json.dumps(request), config_name, now, now),
            )
            self._insert_deployment(conn, name, 1, config_name, snapshot, now)
        return self.require(name)

    @staticmethod
    def _insert_deployment(
        conn: Any, name: str, generation: int, config_name: str, snapshot: dict[str, Any], now: float
    ) -> None:
        conn.execute(
            "INSERT INTO endpoint_deployments (endpoint, generation, config_name, deployment, creation_time)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, generation, config_name, json.dumps(snapshot), now),
        )

    def start_update(self, name: str, config_name: str, snapshot: dict[str, Any]) -> int:
        """UpdateEndpoint: InService → Updating with a new deployment; returns its generation."""
        now = _now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise endpoint_not_found(name)
            if row["status"] not in UPDATABLE:
                raise ValidationException(
                    f'Cannot update in-progress endpoint "{row["arn"]}".'
                    if row["status"] != "Failed"
                    else f'Cannot update failed endpoint "{row["arn"]}".'
                )
            generation = row["last_generation"] + 1
            conn.execute(
                "UPDATE endpoints SET status = 'Updating', last_generation = ?, last_modified_time = ?"
                " WHERE name = ?",
                (generation, now, name),
            )
            self._insert_deployment(conn, name, generation, config_name, snapshot, now)
        return generation

    def set_supervisor(self, name: str, generation: int, pid: int, start: str | None) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE endpoint_deployments SET supervisor_pid = ?, supervisor_start = ?"
                " WHERE endpoint = ? AND generation = ?",
                (pid, start, name, generation),
            )

    def put_instance(self, instance: Instance, replacing: str | None = None) -> None:
        with self.db.write() as conn:
            if replacing is not None:
                conn.execute(
                    "DELETE FROM endpoint_instances WHERE endpoint = ? AND instance_id = ?",
                    (instance.endpoint, replacing),
                )
            conn.execute(
                "INSERT INTO endpoint_instances (endpoint, generation, variant, instance_id, port, container)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    instance.endpoint,
                    instance.generation,
                    instance.variant,
                    instance.instance_id,
                    instance.port,
                    instance.container,
                ),
            )

    def wanted(self, name: str, generation: int) -> bool:
        """True while deployment ``generation`` should keep running: the endpoint exists, is not being deleted,
        and no newer deployment has gone live."""
        row = (
            self.db.conn()
            .execute("SELECT status, generation FROM endpoints WHERE name = ?", (name,))
            .fetchone()
        )
        return row is not None and row["status"] != "Deleting" and row["generation"] <= generation

    def go_live(self, name: str, generation: int) -> list[Deployment] | None:
        """Deployment ``generation`` is healthy: route to it (status InService). Returns the older deployments
        to stop, or None when it is no longer wanted (deleted meanwhile, or superseded)."""
        now = _now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
            if row is None or row["status"] in ("Deleting", "Failed") or row["last_generation"] != generation:
                return None
            dep = conn.execute(
                "SELECT config_name FROM endpoint_deployments WHERE endpoint = ? AND generation = ?",
                (name, generation),
            ).fetchone()
            conn.execute(
                "UPDATE endpoints SET status = 'InService', generation = ?, config_name = ?, failure_reason = NULL,"
                " last_modified_time = ? WHERE name = ?",
                (generation, dep["config_name"], now, name),
            )
            rows = conn.execute(
                "SELECT * FROM endpoint_deployments WHERE endpoint = ? AND generation < ?", (name, generation)
            ).fetchall()
        return [Deployment.from_row(r) for r in rows]

    def fail(self, name: str, generation: int, reason: str) -> str | None:
        """Deployment ``generation`` cannot run. While it is the one being created or serving, the endpoint is
        Failed with ``reason``; a failed update rolls back (InService on the previous deployment, with the
        reason). Returns the endpoint's new status (None: nothing changed, e.g. it is being deleted)."""
        now = _now()
        reason = reason[:1024]
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
            if row is None or row["status"] == "Deleting":
                return None
            if row["status"] == "Updating" and generation == row["last_generation"] != row["generation"]:
                status = "InService"
            elif generation == row["generation"] and row["status"] != "Failed":
                status = "Failed"
            else:
                return None
            conn.execute(
                "UPDATE endpoints SET status = ?, failure_reason = ?, last_modified_time = ? WHERE name = ?",
                (status, reason, now, name),
            )
        return status

    def mark_deleting(self, name: str) -> list[Deployment]:
        """DeleteEndpoint: status Deleting until the deployments (returned: their supervisors must stop) have
        ended; an endpoint with none is removed at once."""
        now = _now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise endpoint_not_found(name)
            rows = conn.execute("SELECT * FROM endpoint_deployments WHERE endpoint = ?", (name,)).fetchall()
            if rows:
                conn.execute(
                    "UPDATE endpoints SET status = 'Deleting', last_modified_time = ? WHERE name = ?",
                    (now, name),
                )
            else:  # nothing runs (e.g. a Failed endpoint): gone at once
                conn.execute("DELETE FROM endpoints WHERE name = ?", (name,))
        return [Deployment.from_row(r) for r in rows]

    def end_deployment(self, name: str, generation: int) -> bool:
        """Deployment ``generation`` has stopped: forget it and its instances. Returns True when that was the
        last deployment of an endpoint being deleted, which is then gone too."""
        with self.db.write() as conn:
            conn.execute(
                "DELETE FROM endpoint_instances WHERE endpoint = ? AND generation = ?", (name, generation)
            )
            conn.execute(
                "DELETE FROM endpoint_deployments WHERE endpoint = ? AND generation = ?", (name, generation)
            )
            row = conn.execute("SELECT status FROM endpoints WHERE name = ?", (name,)).fetchone()
            remaining = conn.execute(
                "SELECT COUNT(*) FROM endpoint_deployments WHERE endpoint = ?", (name,)
            ).fetchone()[0]
            if row is not None and row["status"] == "Deleting" and remaining == 0:
                conn.execute("DELETE FROM endpoints WHERE name = ?", (name,))
                return True
        return False
