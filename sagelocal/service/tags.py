"""SageMaker resource tags (AddTags / ListTags / DeleteTags), kept per resource ARN in the emulator's database.

One table serves every resource kind (training jobs, models, endpoints, …): a tag belongs to an ARN, not to a
kind. Semantics follow the SageMaker API reference: AddTags overwrites the value of a key the resource already
has; a resource has at most 50 tags ("Tag keys must be unique per resource"; "Resources have a limit of 50
tags"); DeleteTags ignores keys the resource does not have; ListTags returns tags in the order they were first
added, at most ``MaxResults`` (default 50) per page with a ``NextToken`` when more remain.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sagelocal.aws.errors import ValidationException
from sagelocal.service.db import Database

#: SageMaker's per-resource tag limit (API reference: AddTags, "Tags").
MAX_TAGS_PER_RESOURCE = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    seq INTEGER NOT NULL,               -- first-added order, kept when a value is overwritten
    PRIMARY KEY (arn, key)
);
"""


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _offset(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except Exception:
        raise ValidationException("Invalid pagination token") from None


class TagStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        with self.db.write() as conn:
            conn.execute(_SCHEMA)

    def add(self, arn: str, tags: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Set each ``{"Key", "Value"}`` on ``arn`` (a missing Value is the empty string, as SageMaker stores
        it); returns the tags as given, which is AddTags' response."""
        added = [{"Key": str(t["Key"]), "Value": str(t.get("Value") or "")} for t in tags]
        if not added:
            return []
        with self.db.write() as conn:
            existing = {r["key"] for r in conn.execute("SELECT key FROM tags WHERE arn = ?", (arn,))}
            new_keys = {t["Key"] for t in added} - existing
            if len(existing) + len(new_keys) > MAX_TAGS_PER_RESOURCE:
                # AddTags declares no error of its own; the wording is sagelocal's.
                raise ValidationException(
                    f"The number of tags on the resource would exceed the limit of {MAX_TAGS_PER_RESOURCE}."
                )
            (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM tags WHERE arn = ?", (arn,)).fetchone()
            for tag in added:
                seq += 1
                conn.execute(
                    "INSERT INTO tags (arn, key, value, seq) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
                    (arn, tag["Key"], tag["Value"], seq),
                )
        return added

    def list_tags(self, arn: str, max_results: int = 50, next_token: str | None = None) -> dict[str, Any]:
        offset = _offset(next_token) if next_token else 0
        rows = (
            self.db.conn()
            .execute(
                "SELECT key, value FROM tags WHERE arn = ? ORDER BY seq LIMIT ? OFFSET ?",
                (arn, max_results + 1, offset),
            )
            .fetchall()
        )
        result: dict[str, Any] = {
            "Tags": [{"Key": r["key"], "Value": r["value"]} for r in rows[:max_results]]
        }
        if len(rows) > max_results:
            result["NextToken"] = _token(offset + max_results)
        return result

    def delete(self, arn: str, keys: list[str]) -> None:
        with self.db.write() as conn:
            conn.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys])

    def delete_all(self, arn: str) -> None:
        """A deleted resource's tags go with it."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM tags WHERE arn = ?", (arn,))
