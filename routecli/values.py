"""`@frozen`: a frozen dataclass at a third of the start-up cost.

On CPython 3.11, `@dataclass(frozen=True)` compiles four or five methods with exec() for every class
(__init__, __repr__, __eq__, __hash__, __setattr__, __delattr__): about 1 ms a class. `route explain`
defines some 55 value classes before it can answer, so that was over 50 ms, more than anything else it
does. `@frozen` lets dataclasses write `__init__` only (the one method whose code depends on the fields)
and takes the others from this module, written once for every class. What the class offers is unchanged:
`dataclasses.fields`, `replace` and `asdict` work, fields cannot be assigned after `__init__`
(FrozenInstanceError), `eq=False` keeps identity comparison, and repr, equality and hashing follow the
fields just as a dataclass's do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, overload

C = TypeVar("C", bound=type)


def _field_names(cls: type, attribute: str) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if getattr(f, attribute))


def _set_once(self: object, name: str, value: Any) -> None:
    """Fields are set by __init__ and never again; a second assignment is an error, as on a frozen dataclass."""
    if name in self.__dict__ or name not in self.__dataclass_fields__:  # type: ignore[attr-defined]
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _no_delete(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _repr(self: object) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__frozen_repr__)  # type: ignore[attr-defined]
    return f"{type(self).__qualname__}({fields})"


def _compared(self: object) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in type(self).__frozen_compare__)  # type: ignore[attr-defined]


def _eq(self: object, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self: object) -> int:
    return hash(_compared(self))


def _make(cls: C, eq: bool) -> C:
    if not cls.__doc__:
        cls.__doc__ = cls.__name__  # else dataclass builds one from inspect.signature, slowly
    dataclasses.dataclass(cls, repr=False, eq=False)
    cls.__frozen_repr__ = _field_names(cls, "repr")
    cls.__repr__ = _repr
    cls.__setattr__ = _set_once
    cls.__delattr__ = _no_delete
    if eq:
        cls.__frozen_compare__ = _field_names(cls, "compare")
        cls.__eq__ = _eq
        cls.__hash__ = _hash
    return cls


@overload
def frozen(cls: C, /) -> C: ...
@overload
def frozen(*, eq: bool = True) -> Callable[[C], C]: ...


def frozen(cls: Any = None, /, *, eq: bool = True) -> Any:
    """Use as `@frozen` or `@frozen(eq=False)`, like `@dataclass(frozen=True[, eq=False])`."""
    if cls is None:
        return lambda inner: _make(inner, eq)
    return _make(cls, eq)
