"""How a hyperparameter is declared: its type, range and the images it exists in.

The vocabulary of ``params.py`` (the declarations) and ``hyperparameters.py`` (the engine that reads them),
after sagemaker_algorithm_toolkit's ``hyperparameter_validation`` module (Interval, the ``range_validator`` and
``dependencies_validator`` decorators) that the open-source images use. Ranges print the way the toolkit prints
them in messages.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.tables import Item, at
from sagelocal.algorithms.xgboost.versions import FIRST_OPEN_SOURCE, ImageVersion

T = TypeVar("T")
Kind = Literal["int", "float", "cat", "list", "nested", "tuple"]
#: ``range_validator``: (categories, value) -> allowed; may raise a more specific UserError itself.
RangeCheck = Callable[[Sequence[Any], Any], bool]
#: ``dependencies_validator``: (value, the validated values of the declared deps that were given, image).
DependencyCheck = Callable[[Any, Mapping[str, Any], ImageVersion], None]


@dataclass(frozen=True)
class Interval:
    """A numeric range: ``[1, +inf)``, ``(0, 1]``, ``(-2147483648, 2147483647)`` …"""

    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __str__(self) -> str:
        if self.min_open is not None:
            low = f"({self.min_open}, "
        elif self.min_closed is not None:
            low = f"[{self.min_closed}, "
        else:
            low = "(-inf, "
        if self.max_open is not None:
            high = f"{self.max_open})"
        elif self.max_closed is not None:
            high = f"{self.max_closed}]"
        else:
            high = "+inf)"
        return low + high

    def __contains__(self, value: Any) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )


@dataclass(frozen=True)
class Choices:
    """Allowed values (a version-annotated list, printed as a Python list in messages). ``check`` replaces the
    plain membership test in the images it exists in, as the toolkit's ``range_validator`` does."""

    values: Sequence[Any]
    check: Sequence[RangeCheck | Item[RangeCheck]] = ()


@dataclass(frozen=True)
class Param:
    """One hyperparameter, declared once for every image that has it (``[since, until)``)."""

    name: str
    kind: Kind
    range: Interval | Choices
    since: str = FIRST_OPEN_SOURCE
    until: str | None = None
    required: bool = False
    #: The value the container uses when the key is not given (only where training reads it).
    default: Any = None
    #: Other hyperparameters whose validated values ``check`` sees (validated first when given).
    deps: tuple[str, ...] = ()
    check: Sequence[DependencyCheck | Item[DependencyCheck]] = ()
    #: Other names the user may give (``declare_alias``); the value is kept under ``name``.
    aliases: Sequence[str | Item[str]] = ()

    def parse(self, raw: Any) -> Any:
        if self.kind == "int":
            return int(raw)
        if self.kind == "float":
            return float(raw)
        if self.kind == "list":
            return raw.split(",")
        if self.kind in ("nested", "tuple"):
            # The images use ast.literal_eval (nested lists) and eval (tuples); literal_eval is the safe
            # equivalent.
            return ast.literal_eval(raw) if isinstance(raw, str) else raw
        return raw


def _first(entries: list[T]) -> T | None:
    return entries[0] if entries else None


@dataclass(frozen=True)
class Spec:
    """A :class:`Param` as one image version has it: its range list and checks resolved."""

    param: Param
    range: Interval | list[Any]
    range_check: RangeCheck | None
    check: DependencyCheck | None

    @classmethod
    def of(cls, param: Param, version: ImageVersion) -> Spec:
        """``param`` as ``version`` has it: the range list's entries and the validators of that image."""
        check = _first(at(param.check, version))
        if isinstance(param.range, Choices):
            return cls(param, at(param.range.values, version), _first(at(param.range.check, version)), check)
        return cls(param, param.range, None, check)

    def contains(self, value: Any) -> bool:
        if isinstance(self.range, Interval):
            return value in self.range
        if self.range_check is not None:
            return self.range_check(self.range, value)
        return value in self.range

    def validate_range(self, value: Any) -> None:
        name, kind, rng = self.param.name, self.param.kind, self.range
        if kind == "list":
            # a list comprehension, as upstream: every item is checked, so a validator error on a later
            # item wins
            if any([not self.contains(v) for v in value]):
                raise UserError(f"Hyperparameter {name}: value {value} not in range {rng}")
        elif kind == "nested":
            if any([not self.contains(element) for outer in value for element in outer]):
                raise UserError(f"Hyperparameter {name}: value {value} not in range {rng}")
        elif kind == "tuple":
            if any([not self.contains(element) for element in value]):
                raise UserError(f"Hyperparameter {name}: value {value} not in range {rng}")
        elif not self.contains(value):
            raise UserError(f"Hyperparameter {name}: {value} is not in {rng}")
