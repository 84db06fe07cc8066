"""The List* operations' common rules: NameContains, StatusEquals and the time filters, SortBy / SortOrder, and
MaxResults pages chained by an opaque NextToken. One implementation for every resource kind (training jobs,
models, endpoint configs, endpoints): their records all have ``name``, ``creation_time`` and, where the kind
has them, ``last_modified_time`` and ``status``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sagelocal.aws.errors import ValidationException

T = TypeVar("T")

#: ``SortBy`` values and the keys they sort on (ties broken by name, then creation time).
_SORT_KEYS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "Name": lambda r: (r.name,),
    "CreationTime": lambda r: (r.creation_time, r.name),
    "Status": lambda r: (r.status, r.creation_time, r.name),
}
_BOUNDS = (
    ("CreationTimeAfter", "creation_time", lambda v, b: v > b),
    ("CreationTimeBefore", "creation_time", lambda v, b: v < b),
    ("LastModifiedTimeAfter", "last_modified_time", lambda v, b: v > b),
    ("LastModifiedTimeBefore", "last_modified_time", lambda v, b: v < b),
)


def epoch(value: Any) -> float:
    """A time filter's value (an aware datetime from boto3-shaped callers, or epoch seconds) as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def list_page(
    records: Sequence[T], params: dict[str, Any], summary: Callable[[T], dict[str, Any]], key: str
) -> dict[str, Any]:
    """``{key: [summary(r) …], "NextToken"?}`` for the records the (already validated) ``params`` select."""
    params = {k: v for k, v in params.items() if v is not None}  # null is absent
    selected = list(records)
    if params.get("NameContains"):
        needle = str(params["NameContains"]).lower()
        selected = [r for r in selected if needle in r.name.lower()]  # type: ignore[attr-defined]
    if params.get("StatusEquals") is not None:
        selected = [r for r in selected if r.status == params["StatusEquals"]]  # type: ignore[attr-defined]
    for param, attr, keep in _BOUNDS:
        if params.get(param) is not None:
            bound = epoch(params[param])
            selected = [r for r in selected if keep(getattr(r, attr), bound)]
    sort_key = _SORT_KEYS[params.get("SortBy", "CreationTime")]
    selected.sort(key=sort_key, reverse=params.get("SortOrder", "Descending") == "Descending")

    max_results = int(params.get("MaxResults", 10))
    offset = 0
    if params.get("NextToken"):
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(params["NextToken"]))["offset"])
        except Exception:
            raise ValidationException("Invalid pagination token") from None
    result: dict[str, Any] = {key: [summary(r) for r in selected[offset : offset + max_results]]}
    if offset + max_results < len(selected):
        token = json.dumps({"offset": offset + max_results}).encode()
        result["NextToken"] = base64.urlsafe_b64encode(token).decode()
    return result
