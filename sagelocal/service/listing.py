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
    # ListTrainingJobsForHyperParameterTuningJob (its records have an objective: service/tuning/documents.py)
    "FinalObjectiveMetricValue": lambda r: (r.objective_sort_value, r.name),
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


#: The List* operations' answer to a NextToken they did not issue.
INVALID_TOKEN = "Invalid pagination token"


def _token_offset(token: str) -> int:
    """The offset a NextToken of ours carries. ValidationException for anything we did not issue (not our
    encoding, or an offset that is not a whole number >= 0)."""
    try:
        offset = json.loads(base64.urlsafe_b64decode(token))["offset"]
    except Exception:
        raise ValidationException(INVALID_TOKEN) from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValidationException(INVALID_TOKEN)
    return offset


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
    offset = _token_offset(params["NextToken"]) if params.get("NextToken") else 0
    result: dict[str, Any] = {key: [summary(r) for r in selected[offset : offset + max_results]]}
    if offset + max_results < len(selected):
        token = json.dumps({"offset": offset + max_results}).encode()
        result["NextToken"] = base64.urlsafe_b64encode(token).decode()
    return result
