"""Request validation for any operation of any AWS service, as the service itself does it, from botocore's model.

AWS's JSON services check a request in two steps, and so does :func:`validate`:

1. The deserializer: a value of the wrong JSON type (a number where a string belongs, a list where a structure
   belongs, …; botocore never sends one, a raw HTTP client may) is rejected at the first mismatch with
   ``SerializationException``, e.g. ``NUMBER_VALUE can not be converted to a String``.
2. The constraints of the operation's input shape (required members, lengths, patterns, enums, ranges) are
   checked all at once; every violation becomes one item of a single message::

       2 validation errors detected: Value '…' at 'trainingJobName' failed to satisfy constraint: Member must
       satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; Value '…' at 'trainingJobName'
       failed to satisfy constraint: Member must have length less than or equal to 63

Member paths are the members' wire names with a lower-case first letter (``trainingJobName``, ``maxResults``;
CloudWatch Logs' members are lower camel case already); list members are ``<list>.<1-based index>.member``; map
constraints are reported once on the map itself (``Map keys must satisfy constraint: [...]`` / ``Map value must
satisfy constraint: [...]``), keys first. SageMaker answers with ``ValidationException``, CloudWatch Logs with
``InvalidParameterException`` (same text).

The model is botocore's (``botocore/data/<service>/<version>/service-2.json`` in boto/botocore), read at runtime so
the rules stay in step with the client the user has installed.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sagelocal.aws.errors import (
    InvalidParameterException,
    SerializationException,
    ServiceError,
    ValidationException,
)

__all__ = ["format_validation_errors", "known_members", "members_of_shape", "parse_timestamp", "validate"]

#: The error each service raises for a constraint violation (default ValidationException).
_ERRORS: dict[str, type[ServiceError]] = {"logs": InvalidParameterException}

#: Patterns as the service prints them, by service and shape. SageMaker's own model keeps the ``^``/``$``
#: anchors that botocore's copy has since dropped (e.g. ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` in real error
#: messages). Matching is a full match either way, so only the displayed text differs.
_SHOWN_PATTERNS: dict[str, dict[str, str]] = {
    "sagemaker": {
        "TrainingJobName": r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        "RoleArn": r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$",
        "S3Uri": r"^(https|s3)://([^/]+)/?(.*)$",
        "TagKey": r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
        "TagValue": r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
    }
}

_NUMBER_KINDS = ("integer", "long", "float", "double")
#: The range of each whole-number kind: Java's int and long, which the service deserializes them into.
_WHOLE_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


# --- the model ----------------------------------------------------------------------------------------------


@functools.cache
def _model(service: str) -> dict[str, Any]:
    # botocore is imported here, not at the top: it is a large import that ``sagelocal --help`` need not pay.
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    return model


def _input_shape(service: str, operation: str) -> str | None:
    try:
        spec = _model(service)["operations"][operation]
    except KeyError:
        raise ValueError(f"botocore's {service} model has no operation {operation}") from None
    return spec["input"]["shape"] if "input" in spec else None


_UNICODE_CLASSES = {"L": "L", "Z": "Z", "N": "N", "M": "M", "P": "P", "S": "S"}


def _unicode_class_matcher(pattern: str) -> Callable[[str], bool] | None:
    """Java's ``([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)`` (tags): Python's ``re`` has no ``\\p{..}``, so check
    it by hand."""
    m = re.fullmatch(r"\^?\(?\[((?:\\p\{[A-Za-z]+\})+)([^\]]*)\]\*\)?\$?", pattern)
    if not m:
        return None
    categories = tuple(_UNICODE_CLASSES.get(c, c) for c in re.findall(r"\\p\{([A-Za-z]+)\}", m.group(1)))
    extra = set(re.sub(r"\\(.)", r"\1", m.group(2)))

    def matches(value: str) -> bool:
        return all(ch in extra or unicodedata.category(ch)[0] in categories for ch in value)

    return matches


@functools.cache
def _matcher(pattern: str) -> Callable[[str], bool]:
    if "\\p{" in pattern:
        special = _unicode_class_matcher(pattern)
        if special is not None:
            return special
        pattern = pattern.replace(r"\p{Alnum}", "a-zA-Z0-9").replace(r"\p{Alpha}", "a-zA-Z")
    try:
        compiled = re.compile(pattern)
    except re.error:  # a Java-only construct: do not reject what we cannot judge
        return lambda value: True
    return lambda value: compiled.fullmatch(value) is not None


# --- timestamps ---------------------------------------------------------------------------------------------


def parse_timestamp(value: Any) -> datetime | None:
    """A timestamp member as the JSON protocols send it (epoch seconds as a number or a numeric string, or an
    ISO 8601 string), or a datetime a Python caller passed, as an aware datetime; ``None`` if it is none of
    these."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


# --- rendering ----------------------------------------------------------------------------------------------


def _java_str(value: Any) -> str:
    """The value roughly as Java's toString() shows it in the service's messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_java_str(k)}={_java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_java_str(v) for v in value) + "]"
    return str(value)


def _camel(member: str) -> str:
    return member[:1].lower() + member[1:]


def _java_length(value: str) -> int:
    """String length as Java counts it (UTF-16 code units)."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def format_validation_errors(items: list[str]) -> str:
    """``1 validation error detected: <item>`` / ``N validation errors detected: <item>; <item>``."""
    noun = "error" if len(items) == 1 else "errors"
    return f"{len(items)} validation {noun} detected: " + "; ".join(items)


def _item(value: Any, path: str, constraint: str) -> str:
    shown = "null" if value is None else f"'{_java_str(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


# --- step 1: JSON types, as the deserializer checks them (first mismatch wins) ----------------------------


def _token(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    return "VALUE"


def _expect_object(value: Any) -> None:
    if isinstance(value, Mapping):
        return
    if isinstance(value, list | tuple):
        raise SerializationException("Start of list found where not expected")
    raise SerializationException(f"{_token(value)} can not be converted to a Structure")


_SCALAR_NAMES = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "float": "a Float",
    "double": "a Double",
    "boolean": "a Boolean",
    "timestamp": "a Timestamp",
    "blob": "a Blob",
}


def _number_ok(kind: str, value: int | float) -> bool:
    """A JSON number fits the kind: finite (NaN and Infinity are not JSON), and for ``integer``/``long`` a
    whole number (``5`` or ``5.0``, not ``1.7``) within Java's int/long range."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if kind in _WHOLE_RANGES:
        if isinstance(value, float) and not value.is_integer():
            return False
        low, high = _WHOLE_RANGES[kind]
        return low <= value <= high
    return True


def _scalar_ok(kind: str, value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in _NUMBER_KINDS:
        return number and _number_ok(kind, value)
    if kind == "timestamp":
        return number or isinstance(value, str | datetime)
    if kind == "blob":
        return isinstance(value, str | bytes | bytearray)
    return True


def _expect_scalar(kind: str, value: Any) -> None:
    if isinstance(value, Mapping):
        raise SerializationException("Start of structure or map found where not expected.")
    if isinstance(value, list | tuple):
        raise SerializationException("Start of list found where not expected")
    if not _scalar_ok(kind, value):
        raise SerializationException(
            f"{_token(value)} can not be converted to {_SCALAR_NAMES.get(kind, kind)}"
        )


# --- step 2: constraints ------------------------------------------------------------------------------------


class _Walker:
    def __init__(
        self,
        service: str,
        required: Mapping[str, Collection[str]],
        also_allowed: Mapping[str, Collection[str]],
        ranges: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.shapes: dict[str, dict[str, Any]] = _model(service)["shapes"]
        self.shown_patterns = _SHOWN_PATTERNS.get(service, {})
        self.required = required
        self.also_allowed = also_allowed
        self.ranges = ranges or {}
        self.items: list[str] = []

    def check_types(self, shape_name: str, value: Any) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if value is None or shape.get("document"):
            return
        if kind == "structure":
            _expect_object(value)
            for member, spec in shape["members"].items():
                if member in value:
                    self.check_types(spec["shape"], value[member])
        elif kind == "map":
            _expect_object(value)
            for key, item in value.items():
                self.check_types(shape["key"]["shape"], key)
                self.check_types(shape["value"]["shape"], item)
        elif kind == "list":
            if isinstance(value, Mapping):
                raise SerializationException("Start of structure or map found where not expected.")
            if not isinstance(value, list | tuple):
                raise SerializationException(f"{_token(value)} can not be converted to a List")
            for item in value:
                self.check_types(shape["member"]["shape"], item)
        else:
            _expect_scalar(kind, value)

    def walk(self, shape_name: str, value: Any, path: str) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if shape.get("document"):
            return
        if kind == "structure":
            self.structure(shape_name, shape, value, path)
        elif kind == "list":
            self.sized(shape, value, path, len(value))
            for index, item in enumerate(value, start=1):
                if item is None:
                    continue
                self.walk(shape["member"]["shape"], item, f"{path}.{index}.member")
        elif kind == "map":
            self.map(shape, value, path)
        elif kind == "string":
            self.string(shape_name, shape, value, path)
        elif kind in _NUMBER_KINDS:
            self.number({**shape, **self.ranges.get(path, {})}, value, path)
        elif kind == "timestamp" and parse_timestamp(value) is None:
            self.items.append(_item(value, path, "Member must be a timestamp"))

    def structure(self, shape_name: str, shape: dict[str, Any], value: Mapping[str, Any], path: str) -> None:
        required = set(shape.get("required", ())) | set(self.required.get(shape_name, ()))
        prefix = f"{path}." if path else ""
        for member, spec in shape["members"].items():
            member_path = prefix + _camel(member)
            item = value.get(member)
            if item is None:
                if member in required:
                    self.items.append(_item(None, member_path, "Member must not be null"))
                continue
            self.walk(spec["shape"], item, member_path)

    def sized(self, shape: dict[str, Any], value: Any, path: str, size: int) -> None:
        if "max" in shape and size > shape["max"]:
            self.items.append(
                _item(value, path, f"Member must have length less than or equal to {shape['max']}")
            )
        if "min" in shape and size < shape["min"]:
            self.items.append(
                _item(value, path, f"Member must have length greater than or equal to {shape['min']}")
            )

    def map(self, shape: dict[str, Any], value: Mapping[str, Any], path: str) -> None:
        self.sized(shape, value, path, len(value))
        for part, label, items in (
            ("key", "Map keys", list(value.keys())),
            ("value", "Map value", list(value.values())),
        ):
            item_shape_name = shape[part]["shape"]
            item_shape = self.shapes[item_shape_name]
            if item_shape["type"] != "string":
                for key, item in value.items():
                    if part == "value" and item is not None:
                        self.walk(item_shape_name, item, f"{path}.{key}")
                continue
            if any(
                item is None or self.string_violations(item_shape_name, item_shape, item) for item in items
            ):
                constraints = self.all_string_constraints(item_shape_name, item_shape)
                if part == "value" and any(item is None for item in items):
                    constraints.append("Member must not be null")
                self.items.append(
                    _item(value, path, f"{label} must satisfy constraint: [{', '.join(constraints)}]")
                )

    def string(self, shape_name: str, shape: dict[str, Any], value: str, path: str) -> None:
        for constraint in self.string_violations(shape_name, shape, value, path=path):
            self.items.append(_item(value, path, constraint))

    def string_violations(
        self, shape_name: str, shape: dict[str, Any], value: str, path: str = ""
    ) -> list[str]:
        found: list[str] = []
        if "enum" in shape:
            if value not in shape["enum"] and value not in self.also_allowed.get(path, ()):
                found.append(f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
            return found
        if "pattern" in shape and not _matcher(shape["pattern"])(value):
            shown = self.shown_patterns.get(shape_name, shape["pattern"])
            found.append(f"Member must satisfy regular expression pattern: {shown}")
        length = _java_length(value)
        if "max" in shape and length > shape["max"]:
            found.append(f"Member must have length less than or equal to {shape['max']}")
        if "min" in shape and length < shape["min"]:
            found.append(f"Member must have length greater than or equal to {shape['min']}")
        return found

    def all_string_constraints(self, shape_name: str, shape: dict[str, Any]) -> list[str]:
        constraints: list[str] = []
        if "enum" in shape:
            constraints.append(f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
        if "max" in shape:
            constraints.append(f"Member must have length less than or equal to {shape['max']}")
        if "min" in shape:
            constraints.append(f"Member must have length greater than or equal to {shape['min']}")
        if "pattern" in shape:
            shown = self.shown_patterns.get(shape_name, shape["pattern"])
            constraints.append(f"Member must satisfy regular expression pattern: {shown}")
        return constraints

    def number(self, shape: dict[str, Any], value: float, path: str) -> None:
        if "min" in shape and value < shape["min"]:
            self.items.append(
                _item(value, path, f"Member must have value greater than or equal to {shape['min']}")
            )
        if "max" in shape and value > shape["max"]:
            self.items.append(
                _item(value, path, f"Member must have value less than or equal to {shape['max']}")
            )


def _known(shapes: Mapping[str, dict[str, Any]], shape_name: str, value: Any) -> Any:
    shape = shapes[shape_name]
    kind = shape["type"]
    if value is None or shape.get("document"):
        return value
    if kind == "structure" and isinstance(value, Mapping):
        return {
            member: _known(shapes, spec["shape"], value[member])
            for member, spec in shape["members"].items()
            if member in value
        }
    if kind == "list" and isinstance(value, list | tuple):
        return [_known(shapes, shape["member"]["shape"], item) for item in value]
    if kind == "map" and isinstance(value, Mapping):
        return {key: _known(shapes, shape["value"]["shape"], item) for key, item in value.items()}
    return value


def known_members(service: str, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with only the members botocore's model gives the operation's input, at every depth (a copy).

    The JSON services ignore members they do not model; so does the emulator, and it never stores them: what it
    keeps of a request, and shows back in Describe documents, is bounded by the model's own limits."""
    shape_name = _input_shape(service, operation)
    if shape_name is None:
        return {}
    return dict(_known(_model(service)["shapes"], shape_name, params))


def _of_shape(
    shapes: Mapping[str, dict[str, Any]], shape_name: str, value: Any, path: str, wanted: str
) -> Iterator[tuple[str, Any]]:
    if value is None:
        return
    if shape_name == wanted:
        yield path, value
    shape = shapes[shape_name]
    kind = shape["type"]
    if shape.get("document"):
        return
    prefix = f"{path}." if path else ""
    if kind == "structure" and isinstance(value, Mapping):
        for member, spec in shape["members"].items():
            yield from _of_shape(shapes, spec["shape"], value.get(member), prefix + _camel(member), wanted)
    elif kind == "list" and isinstance(value, list | tuple):
        for index, item in enumerate(value, start=1):
            yield from _of_shape(shapes, shape["member"]["shape"], item, f"{path}.{index}.member", wanted)
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _of_shape(shapes, shape["value"]["shape"], item, f"{path}.{key}", wanted)


def members_of_shape(
    service: str, operation: str, params: Mapping[str, Any], shape: str
) -> list[tuple[str, Any]]:
    """(member path as the service's messages spell it, value) of every member of ``params`` whose model shape is
    ``shape`` (e.g. every ``S3Uri`` of a CreateTrainingJob request: ``outputDataConfig.s3OutputPath``, …)."""
    shape_name = _input_shape(service, operation)
    if shape_name is None:
        return []
    return list(_of_shape(_model(service)["shapes"], shape_name, params, "", shape))


def validate(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    required: Mapping[str, Collection[str]] | None = None,
    also_allowed: Mapping[str, Collection[str]] | None = None,
    ranges: Mapping[str, Mapping[str, float]] | None = None,
) -> None:
    """Check ``params``, the input of ``operation`` of ``service`` (botocore's names: ``"sagemaker"``,
    ``"ListTrainingJobs"``; members keyed by their wire names), as the service does.

    Raises SerializationException for a wrongly typed value, else the service's validation error (see
    ``_ERRORS``) listing every violated constraint. A member that is ``None`` counts as absent. Rules a caller
    has beyond the model: ``required`` names more required members per shape (``{"CreateTrainingJobRequest":
    ("ResourceConfig",)}``), ``also_allowed`` more values per member path for an enum
    (``{"resourceConfig.instanceType": {"local"}}``), ``ranges`` a tighter ``min``/``max`` per number member
    path than the model's (``{"stoppingCondition.maxRuntimeInSeconds": {"max": 2419200}}``).
    """
    shape_name = _input_shape(service, operation)
    if shape_name is None:
        return
    walker = _Walker(service, required or {}, also_allowed or {}, ranges)
    walker.check_types(shape_name, params)
    walker.walk(shape_name, params, "")
    if walker.items:
        raise _ERRORS.get(service, ValidationException)(format_validation_errors(walker.items))
