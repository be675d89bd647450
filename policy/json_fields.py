"""Reading JSON documents: typed values or a PolicyError that names where and what.

Never raises anything else, whatever the JSON (or Python) value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from policy.errors import PolicyError

E = TypeVar("E", bound=StrEnum)


def read_object(value: object, where: str, keys: tuple[str, ...] = ()) -> dict[str, object]:
    """A JSON object (None = empty); with `keys`, any other key is refused."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected an object, got {type_name(value)}")
    for key in value:
        if not isinstance(key, str):
            raise PolicyError(f"{where}: keys must be strings, got {type_name(key)}")
        if keys and key not in keys:
            raise PolicyError(f"{where}: unknown key {short(key)}; known keys: {', '.join(keys)}")
    return value


def read_list(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"{where}: expected a list, got {type_name(value)}")
    return value


def read_strings(value: object, where: str) -> tuple[str, ...]:
    items = read_list(value, where)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise PolicyError(f"{where}[{index}]: expected a string, got {type_name(item)}")
    return tuple(str(item) for item in items)


def read_enum(cls: type[E], value: object, where: str) -> E:
    if isinstance(value, str):
        for member in cls:
            if member.value == value:
                return member
    raise PolicyError(
        f"{where}: unknown value {short(value)}; use one of {', '.join(m.value for m in cls)}"
    )


def read_enums(cls: type[E], value: object, where: str) -> frozenset[E]:
    return frozenset(
        read_enum(cls, item, f"{where}[{index}]")
        for index, item in enumerate(read_list(value, where))
    )


def enum_values(cls: type[E], members: frozenset[E]) -> list[str]:
    """Enum values in declaration order, so documents are stable."""
    return [m.value for m in cls if m in members]


def read_bool(value: object, where: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise PolicyError(f"{where}: expected true or false, got {type_name(value)}")
    return value


def read_int(value: object, where: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise PolicyError(
            f"{where}: expected a whole number from 0 to {maximum}, got {short(value)}"
        )
    return value


def enum_names(members: frozenset[E]) -> str:
    return ", ".join(sorted(m.value for m in members))


_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def short(value: object) -> str:
    """A short repr; huge numbers (whose repr may raise) are named by type."""
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > 10**15:
        return type_name(value)
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # a huge int inside, or very deep nesting
        return type_name(value)
    return text if len(text) <= 60 else text[:60] + "..."
