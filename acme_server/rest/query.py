"""REST query parameters declared once. A list route's query is a `Query` of `Param`s
(name, type, enum, bounds, default, or a deepObject map such as `metadata[key]=value`);
from that one declaration come both

    parse_query(QUERY, request)   the checked values by name, declared defaults for the
                                  absent ones, or ApiError(400) naming the parameter
                                  ("limit must be a whole number from 1 to 100")
    QUERY.openapi()               the operation's OpenAPI parameter objects

and `@declares(QUERY)` on the handler is how openapi.py finds them (through the route's
endpoint), so the parser and the document cannot drift apart. An empty value counts as
absent, as it always has on this API; a repeated scalar parameter takes its last value;
parameters no declaration names are ignored. Checks that need the store (a profile given
by slug) stay in the handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from starlette.requests import Request

from acme_server.rest.common import ApiError

ParamKind = Literal["string", "integer", "map"]
Values = dict[str, Any]
Handler = TypeVar("Handler", bound=Callable[..., Any])
QUERY_ATTRIBUTE = "kms_query"  # where @declares keeps a handler's Query


@dataclass(frozen=True, slots=True)
class Param:
    """One query parameter. `kind` "integer" needs `minimum` and `maximum`; "map" is a
    deepObject of string values written `name[key]=value` (repeatable, each key once)."""

    name: str
    kind: ParamKind = "string"
    description: str = ""
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    default: str | int | None = None

    def __post_init__(self) -> None:
        if self.kind == "integer" and (self.minimum is None or self.maximum is None):
            raise ValueError(f"integer query parameter {self.name} needs minimum and maximum")

    def parse(self, request: Request) -> Any:
        if self.kind == "map":
            return self._map(request)
        raw = request.query_params.get(self.name)
        if raw is None or raw == "":
            return self.default
        if self.kind == "integer":
            low, high = self.minimum, self.maximum
            assert low is not None and high is not None  # __post_init__
            if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
                raise ApiError(400, f"{self.name} must be a whole number from {low} to {high}")
            return int(raw)
        if self.enum and raw not in self.enum:
            raise ApiError(400, f"{self.name} must be one of {', '.join(self.enum)}")
        if self.max_length is not None and len(raw) > self.max_length:
            raise ApiError(400, f"{self.name} must be at most {self.max_length} characters")
        return raw

    def _map(self, request: Request) -> dict[str, str]:
        """`?metadata[team]=web&metadata[env]=prod` -> {"team": "web", "env": "prod"}."""
        found: dict[str, str] = {}
        opening = f"{self.name}["
        for name, value in request.query_params.multi_items():
            if not (name.startswith(opening) and name.endswith("]")):
                continue
            key = name[len(opening) : -1]
            if not key:
                raise ApiError(400, f"{self.name} filters are written {self.name}[key]=value")
            if key in found and found[key] != value:
                raise ApiError(400, f"{self.name}[{key}] is given twice with different values")
            found[key] = value
        return found

    def schema(self) -> dict[str, Any]:
        if self.kind == "map":
            return {"type": "object", "additionalProperties": {"type": "string"}}
        out: dict[str, Any] = {"type": self.kind}
        if self.enum:
            out["enum"] = list(self.enum)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.default is not None:
            out["default"] = self.default
        return out

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 parameter object."""
        out: dict[str, Any] = {"name": self.name, "in": "query", "required": False}
        if self.description:
            out["description"] = self.description
        if self.kind == "map":
            out["style"] = "deepObject"
            out["explode"] = True
        out["schema"] = self.schema()
        return out


@dataclass(frozen=True, slots=True)
class Query:
    params: tuple[Param, ...]

    def openapi(self) -> list[dict[str, Any]]:
        return [param.openapi() for param in self.params]


def query(*params: Param) -> Query:
    names = [param.name for param in params]
    if len(names) != len(set(names)):
        raise ValueError(f"a query parameter is declared twice: {names}")
    return Query(params)


def parse_query(spec: Query, request: Request) -> Values:
    """Every declared parameter by name: its checked value, or its default (None, {})."""
    return {param.name: param.parse(request) for param in spec.params}


def declares(spec: Query) -> Callable[[Handler], Handler]:
    """Mark a handler as reading `spec` (with parse_query), for the OpenAPI document."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, QUERY_ATTRIBUTE, spec)
        return handler

    return mark


def declared_query(endpoint: Callable[..., Any]) -> Query | None:
    """The Query a route's endpoint declares (through functools.wraps wrappers), if any."""
    seen: Callable[..., Any] | None = endpoint
    while seen is not None:
        spec = getattr(seen, QUERY_ATTRIBUTE, None)
        if isinstance(spec, Query):
            return spec
        seen = getattr(seen, "__wrapped__", None)
    return None
