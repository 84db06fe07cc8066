"""CreateTrainingJob request validation as the SageMaker service does it (reference sagemaker-api §2–3).

The constraints (lengths, patterns, enums, ranges, required members) are read at runtime from the SageMaker
service model that ships with botocore, so they stay in step with the client the user has installed. The
request is walked shape by shape and every violation becomes one item of SageMaker's message::

    2 validation errors detected: Value '…' at 'trainingJobName' failed to satisfy constraint: Member must
    satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; Value '…' at 'trainingJobName'
    failed to satisfy constraint: Member must have length less than or equal to 63

Member paths are lower camel case; list members are ``<list>.<1-based index>.member``; map constraints are
reported once on the map itself (``Map keys must satisfy constraint: [...]`` / ``Map value must satisfy
constraint: [...]``), keys first. A value of the wrong JSON type (which botocore never sends, but a raw
HTTP client may) is rejected before validation, as the service's deserializer does, with
``SerializationException``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sagelocal.aws.errors import SerializationException, ValidationException

__all__ = [
    "SerializationException",
    "check_request_types",
    "format_validation_errors",
    "validate_create_training_job",
]

#: Instance types a local backend runs (SageMaker SDK local mode's spelling). Only with allow_local_instance.
LOCAL_INSTANCE_TYPES = frozenset({"local"})

#: Members the emulator cannot run a job without. Current botocore made AlgorithmSpecification and
#: ResourceConfig optional (serverless jobs); older models, and SageMaker for non-serverless jobs, required
#: them.
_EXTRA_REQUIRED = {"CreateTrainingJobRequest": ("AlgorithmSpecification", "ResourceConfig")}

#: Patterns as the service prints them. Its own model keeps the ``^``/``$`` anchors that botocore's copy has
#: since dropped (e.g. ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` in real error messages). Matching is a full match
#: either way, so only the displayed text differs.
_SHOWN_PATTERNS = {
    "TrainingJobName": r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    "RoleArn": r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$",
    "S3Uri": r"^(https|s3)://([^/]+)/?(.*)$",
    "TagKey": r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
    "TagValue": r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
}


# --- the model ----------------------------------------------------------------------------------------------


@functools.cache
def _shapes() -> dict[str, dict[str, Any]]:
    from botocore.loaders import Loader

    model = Loader().load_service_model("sagemaker", "service-2")
    return model["shapes"]


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


# --- rendering ----------------------------------------------------------------------------------------------


def _java_str(value: Any) -> str:
    """The value roughly as Java's toString() shows it in the service's messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
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


# --- the walk -----------------------------------------------------------------------------------------------


class _Walker:
    def __init__(self, allow_local_instance: bool) -> None:
        self.allow_local_instance = allow_local_instance
        self.items: list[str] = []
        self.shapes = _shapes()

    # JSON type checks, as the deserializer does them (first mismatch wins)
    def check_types(self, shape_name: str, value: Any) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if value is None:
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
            if isinstance(value, dict):
                raise SerializationException("Start of structure or map found where not expected.")
            if not isinstance(value, list):
                raise SerializationException(f"{_token(value)} can not be converted to a List")
            for item in value:
                self.check_types(shape["member"]["shape"], item)
        else:
            _expect_scalar(kind, value)

    # constraint checks
    def walk(self, shape_name: str, value: Any, path: str) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
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
        elif kind in ("integer", "long", "float", "double"):
            self.number(shape, value, path)

    def structure(self, shape_name: str, shape: dict[str, Any], value: dict[str, Any], path: str) -> None:
        required = set(shape.get("required", ())) | set(_EXTRA_REQUIRED.get(shape_name, ()))
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

    def map(self, shape: dict[str, Any], value: dict[str, Any], path: str) -> None:
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
            if (
                path == "resourceConfig.instanceType"
                and self.allow_local_instance
                and value in LOCAL_INSTANCE_TYPES
            ):
                return found
            if value not in shape["enum"]:
                found.append(f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
            return found
        if "pattern" in shape and not _matcher(shape["pattern"])(value):
            shown = _SHOWN_PATTERNS.get(shape_name, shape["pattern"])
            found.append(f"Member must satisfy regular expression pattern: {shown}")
        length = _java_length(value)
        if "max" in shape and length > shape["max"]:
            found.append(f"Member must have length less than or equal to {shape['max']}")
        if "min" in shape and length < shape["min"]:
            found.append(f"Member must have length greater than or equal to {shape['min']}")
        return found

    @staticmethod
    def all_string_constraints(shape_name: str, shape: dict[str, Any]) -> list[str]:
        constraints: list[str] = []
        if "enum" in shape:
            constraints.append(f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
        if "max" in shape:
            constraints.append(f"Member must have length less than or equal to {shape['max']}")
        if "min" in shape:
            constraints.append(f"Member must have length greater than or equal to {shape['min']}")
        if "pattern" in shape:
            shown = _SHOWN_PATTERNS.get(shape_name, shape["pattern"])
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


def _token(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    return "VALUE"


def _expect_object(value: Any) -> None:
    if isinstance(value, dict):
        return
    if isinstance(value, list):
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


def _expect_scalar(kind: str, value: Any) -> None:
    if isinstance(value, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    if isinstance(value, list):
        raise SerializationException("Start of list found where not expected")
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int | float) and not isinstance(value, bool),
        "long": isinstance(value, int | float) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "double": isinstance(value, int | float) and not isinstance(value, bool),
        "timestamp": isinstance(value, int | float | str) and not isinstance(value, bool),
        "blob": isinstance(value, str),
    }.get(kind, True)
    if not ok:
        raise SerializationException(
            f"{_token(value)} can not be converted to {_SCALAR_NAMES.get(kind, kind)}"
        )


def check_request_types(shape_name: str, request: dict[str, Any]) -> None:
    """Raise SerializationException, as the service's deserializer does, when a member of ``request`` has the
    wrong JSON type for the operation's input shape ``shape_name`` (e.g. ``ListTrainingJobsRequest``)."""
    _Walker(allow_local_instance=True).check_types(shape_name, request)


def _duplicate_channel(request: dict[str, Any]) -> str | None:
    seen: set[str] = set()
    for channel in request.get("InputDataConfig") or []:
        name = channel.get("ChannelName") if isinstance(channel, dict) else None
        if name is None:
            continue
        if name in seen:
            return name
        seen.add(name)
    return None


def validate_create_training_job(request: dict[str, Any], *, allow_local_instance: bool = True) -> None:
    """Raise ValidationException, worded as SageMaker words it
    (``1 validation error detected: Value '…' at '…' failed to satisfy constraint: …``), for every violated
    constraint of the request. ``allow_local_instance`` lets InstanceType ``local`` through (local backends).
    A wrongly typed value raises SerializationException (a ValidationException subclass) instead."""
    walker = _Walker(allow_local_instance)
    walker.check_types("CreateTrainingJobRequest", request)
    walker.walk("CreateTrainingJobRequest", request, "")
    if walker.items:
        raise ValidationException(format_validation_errors(walker.items))
    duplicate = _duplicate_channel(request)
    if duplicate is not None:
        raise ValidationException(
            f"Channel names must be unique within a training job. Duplicate channel name: {duplicate}"
        )
