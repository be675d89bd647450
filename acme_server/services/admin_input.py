"""Shape checks for the JSON objects the management API takes (CAs, policies, profiles,
EAB credentials): unknown members are refused, since a misspelt `eabRequired` silently
ignored would leave a profile open; wrong types are named by their path (`subject.country`).
InvalidRequestError is a 400 on the REST API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from acme_server.services.errors import InvalidRequestError

_KIND_NAMES = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    dict: "an object",
    list: "an array",
}


def known_keys(data: dict[str, Any], keys: Iterable[str], where: str = "") -> None:
    allowed = tuple(keys)
    for key in data:
        if key not in allowed:
            place = f"{where}: " if where else ""
            raise InvalidRequestError(
                f"{place}unknown field {key!r}; known fields: {', '.join(allowed)}"
            )


def member(
    data: dict[str, Any],
    name: str,
    kind: type,
    *,
    where: str = "",
    required: bool = False,
    default: Any = None,
) -> Any:
    """data[name] checked to be of `kind`; None or absent gives `default` (or an error when
    `required`). Messages name the member's path: `where.name`."""
    path = f"{where}.{name}" if where else name
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequestError(f"{path} is required")
        return default
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise InvalidRequestError(f"{path} must be {_KIND_NAMES.get(kind, kind.__name__)}")
    return value
