"""`@frozen` (routecli/values.py) behaves as `@dataclass(frozen=True)` does, wherever route relies on it."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from routecli.values import frozen


@frozen
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: str = dataclasses.field(default="", compare=False, repr=False)


@frozen(eq=False)
class Handle:
    name: str


@dataclasses.dataclass(frozen=True)
class Reference:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: str = dataclasses.field(default="", compare=False, repr=False)


def test_fields_cannot_be_assigned_or_deleted():
    point = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.y
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.other = 1  # type: ignore[attr-defined]
    assert (point.x, point.y) == (1, 2)


def test_repr_equality_and_hash_match_a_frozen_dataclass():
    ours, theirs = Point(1, 2, ("a",), note="n"), Reference(1, 2, ("a",), note="n")
    assert repr(ours).replace("Point", "Reference") == repr(theirs)
    assert ours == Point(1, 2, ("a",), note="other")  # compare=False fields do not count
    assert ours != Point(1, 3, ("a",))
    assert hash(ours) == hash(Point(1, 2, ("a",))) and len({ours, Point(1, 2, ("a",))}) == 1
    assert ours != theirs  # another class is never equal, as with dataclasses


def test_eq_false_compares_identity():
    one = Handle("a")
    assert one == one and one != Handle("a")
    assert hash(one) == object.__hash__(one)


def test_dataclass_helpers_and_copies_work():
    point = Point(1, 2)
    assert dataclasses.is_dataclass(point)
    assert [f.name for f in dataclasses.fields(point)] == ["x", "y", "tags", "note"]
    moved = dataclasses.replace(point, y=5)
    assert moved == Point(1, 5) and point.y == 2
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "tags": (), "note": ""}
    assert copy.copy(point) == point and copy.deepcopy(point) == point
    assert pickle.loads(pickle.dumps(point)) == point
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]  # __init__ is a dataclass's: required fields are required
