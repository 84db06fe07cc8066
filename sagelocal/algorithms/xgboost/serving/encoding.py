"""Scores into response bodies, per image version and Accept type (byte-exact).

Sources (aws/sagemaker-xgboost-container, ``src/sagemaker_xgboost_container/algorithm_mode/``):
- ``serve.py`` ``invocations``: 0.72 (comma-joined scores, reference T1), 0.90-x, 1.0-1 and 1.2-1 answer
  ``",".join(map(str, preds.tolist()))`` as ``text/csv`` whatever the Accept; with ``SAGEMAKER_BATCH`` every
  version answers ``"\\n".join(map(str, preds.tolist())) + "\\n"``. From 1.2-2, ``_parse_accept`` (first value of
  the header, ``*/*`` or none → ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` or ``text/csv``) picks JSON
  (``serve_utils.encode_predictions_as_json``) or sagemaker-containers ``encoders.encode``: ``text/csv`` is
  ``_encoders.array_to_csv`` (one ``csv.writer`` row per score, ``\\n``-terminated), any other type raises
  ``UnsupportedFormatError`` (an uncaught 500).
- ``serve_utils.py`` selectable inference (``SAGEMAKER_INFERENCE_OUTPUT``, 1.0-1+): ``get_selected_predictions``
  and ``encode_selected_predictions`` (JSON, JSON Lines via ``encoder.json_to_jsonlines``, CSV in env-var key
  order with lists quoted, RecordIO-protobuf ``Record`` per row).
Numbers are Python ``repr`` of the float32 score widened to double, as ``str(float)``/``json.dumps`` print them.
"""

from __future__ import annotations

import io
import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sagelocal.algorithms.xgboost.channels import _split_parameters
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.serving.rules import ServingRules

SUPPORTED_ACCEPTS = [
    "application/json",
    "application/jsonlines",
    "application/x-recordio-protobuf",
    "text/csv",
]

PREDICTED_LABEL = "predicted_label"
LABELS = "labels"
PROBABILITY = "probability"
PROBABILITIES = "probabilities"
RAW_SCORE = "raw_score"
RAW_SCORES = "raw_scores"
PREDICTED_SCORE = "predicted_score"
_CLASSIFICATION = [PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES]
_LABEL_ONLY = [PREDICTED_LABEL, LABELS, RAW_SCORE, RAW_SCORES]
#: ``serve_utils.VALID_OBJECTIVES``; ``reg:absoluteerror`` joined in 3.0-5.
VALID_OBJECTIVES: dict[str, list[str]] = {
    "reg:squarederror": [PREDICTED_SCORE],
    "reg:logistic": [PREDICTED_SCORE],
    "reg:gamma": [PREDICTED_SCORE],
    "reg:tweedie": [PREDICTED_SCORE],
    "binary:logistic": _CLASSIFICATION,
    "binary:logitraw": _LABEL_ONLY,
    "binary:hinge": _LABEL_ONLY,
    "multi:softmax": _LABEL_ONLY,
    "multi:softprob": _CLASSIFICATION,
}
_KEY_ORDER = [*_CLASSIFICATION, PREDICTED_SCORE]


class NotAcceptable(Exception):
    """406 with ``message`` as the body."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedFormat(Exception):
    """sagemaker-containers' ``UnsupportedFormatError``: the image does not catch it (a plain 500 page)."""


@dataclass
class Encoded:
    body: bytes
    mimetype: str


def parse_accept(header: str | None, default_accept: str) -> str:
    """``serve.py`` ``_parse_accept``: the first value (``cgi.parse_header``), checked after predicting."""
    accept = _split_parameters(header or "")[0]
    if not accept or accept == "*/*":
        return default_accept
    if accept.lower() not in SUPPORTED_ACCEPTS:
        raise NotAcceptable(
            f"Accept type {accept} is not supported. Please use supported accept types: {SUPPORTED_ACCEPTS}."
        )
    return accept.lower()


def encode_scores(preds: Any, accept: str, rules: ServingRules, batch: bool) -> Encoded:
    """The body of a plain (not selectable) answer."""
    values = preds.tolist()
    if not rules.accept_driven:
        if batch:
            return Encoded(("\n".join(map(str, values)) + "\n").encode(), "text/csv")
        return Encoded(",".join(map(str, values)).encode(), "text/csv")
    if batch:
        return Encoded(("\n".join(map(str, values)) + "\n").encode(), accept)
    if accept == "application/json":
        return Encoded(json.dumps({"predictions": [{"score": v} for v in values]}).encode(), accept)
    if accept == "text/csv":
        return Encoded(array_to_csv(values).encode(), accept)
    raise UnsupportedFormat(accept)


def array_to_csv(values: Sequence[Any]) -> str:
    """sagemaker-containers ``_encoders.array_to_csv``: a 1-D array is a column; ``csv.writer`` prints floats
    with ``repr`` and ends every row with ``\\n``."""
    return "".join((",".join(map(repr, v)) if isinstance(v, list) else repr(v)) + "\n" for v in values)


# --- selectable inference output ---------------------------------------------------------------------------


def selected_keys(inference_output: str) -> list[str]:
    return inference_output.replace(" ", "").lower().split(",")


def encode_selected(
    preds: Any,
    accept: str,
    keys: list[str],
    objective: str,
    num_class: str,
    rules: ServingRules,
    batch: bool,
    log: Log,
) -> Encoded:
    """``_handle_selectable_inference_response``; a ValueError/RuntimeError here is the 500 with its text."""
    valid_objectives = dict(VALID_OBJECTIVES)
    if rules.absolute_error_selectable:
        valid_objectives["reg:absoluteerror"] = [PREDICTED_SCORE]
    if objective not in valid_objectives:
        raise ValueError(f"Objective `{objective}` unsupported for selectable inference predictions.")
    valid = valid_objectives[objective]
    # The image iterates a set here; sagelocal keeps the env-var order so that bodies are reproducible.
    invalid = list(dict.fromkeys(k for k in keys if k not in valid))
    if invalid:
        log.warning(
            f"Selected key(s) {set(invalid)} incompatible for objective '{objective}'. "
            f"Please use list of compatible selectable inference predictions: {valid}"
        )
    wanted = [k for k in _KEY_ORDER if k in keys and k in valid]
    predictions = [_selected(objective, num_class, raw, wanted, invalid) for raw in preds]
    if accept == "application/json":
        return Encoded(json.dumps({"predictions": predictions}).encode(), accept)
    if accept == "application/jsonlines":
        return Encoded(b"".join((json.dumps(p) + "\n").encode() for p in predictions), accept)
    if accept == "application/x-recordio-protobuf":
        return Encoded(_recordio(predictions), accept)
    if accept == "text/csv":
        lines = "\n".join(
            ",".join(f'"{p[k]}"' if isinstance(p[k], list) else str(p[k]) for k in keys) for p in predictions
        )
        return Encoded((lines + "\n" if batch else lines).encode(), accept)
    raise RuntimeError(f"Cannot encode selected predictions into accept type '{accept}'.")


def _selected(
    objective: str, num_class: str, raw: Any, wanted: list[str], invalid: list[str]
) -> dict[str, Any]:
    import numpy as np

    softprob = objective == "multi:softprob"
    out: dict[str, Any] = {}
    for key in wanted:
        if key == PREDICTED_LABEL:
            if objective in ("binary:hinge", "multi:softmax"):
                out[key] = raw.item()
            elif objective == "binary:logistic":
                out[key] = int(raw > 0.5)
            elif objective == "binary:logitraw":
                out[key] = int(raw > 0)
            else:
                out[key] = np.argmax(raw).item()
        elif key == LABELS:
            if "binary:" in objective:
                out[key] = [0, 1]
            elif "multi:" in objective and num_class:
                out[key] = list(range(int(num_class)))
            else:
                out[key] = math.nan
        elif key in (PROBABILITY, RAW_SCORE) and softprob:
            out[key] = max(raw).item()
        elif key in (PROBABILITIES, RAW_SCORES) and softprob:
            out[key] = raw.tolist()
        elif key in (PROBABILITY, RAW_SCORE, PREDICTED_SCORE):
            out[key] = raw.item()
        else:  # probabilities / raw_scores of a one-score objective
            one = raw.item()
            out[key] = [1.0 - one, one]
    for key in invalid:
        out[key] = math.nan
    return out


_RECORDIO_MAGIC = 0xCED7230A


def _recordio(predictions: list[dict[str, Any]]) -> bytes:
    """``_encode_selected_predictions_recordio_protobuf``: one ``Record`` per row, every value a float32 tensor
    under ``label``. The image never empties its record buffer, so record *n* carries the bytes of records
    0…n (each RecordIO frame is cumulative); sagelocal writes the same frames."""
    from sagelocal.algorithms.xgboost.data import _record_module

    _record_module()  # imports the SDK quietly
    from sagemaker.amazon.record_pb2 import Record

    records = io.BytesIO()
    out = io.BytesIO()
    record = Record()
    for item in predictions:
        for key, value in item.items():
            record.label[key].float32_tensor.values.extend(value if isinstance(value, list) else [value])
        records.write(record.SerializeToString())
        record.Clear()
        data = records.getvalue()
        pad = (((len(data) + 3) >> 2) << 2) - len(data)
        out.write(struct.pack("I", _RECORDIO_MAGIC) + struct.pack("I", len(data)) + data + b"\x00" * pad)
    return out.getvalue()
