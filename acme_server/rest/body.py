"""REST request bodies declared once. A body is a tree of `Field`s (name, JSON type,
required, enum, string length, nested object members, array items, map values); from that
one declaration come both

    parse(BODY, data)            the checked members ({} for none), or ApiError(400) naming
                                 the member at fault ("subject.state must be a string")
    component_schemas(BODY, ...) the JSON Schemas (OpenAPI 3.1) of every named object in it

so the parser and the OpenAPI document cannot drift apart. JSON null counts as absent, as
it always has on this API. A field's `errors` overrides a default message template
(DEFAULT_ERRORS; `{path}`, `{parent}`, `{name}`, `{kind}`, `{allowed}`, `{value}`, `{min}`,
`{max}` are filled in) where a body has always answered in its own words. `extra` holds
schema-only annotations of rules a service enforces (a TTL's pattern, a minimum), never
a second description of a member. Checks that need more than one member, or the store,
stay in the handler or the service.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Literal

from acme_server.rest.common import ApiError

JsonType = Literal["string", "integer", "boolean", "object", "array"]
Values = dict[str, Any]

_PYTHON: dict[str, type] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
}
KIND_NAMES: dict[str, str] = {
    "string": "a string",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
}
DEFAULT_ERRORS: dict[str, str] = {
    "required": "{path} is required",
    "type": "{path} must be {kind}",
    "enum": "{path} must be one of {allowed}",
    "short": "{path} must be at least {min} characters",
    "long": "{path} is longer than {max} characters",
    "unknown": "{place}unknown field {value!r}; known fields: {allowed}",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One member of a body (or, unnamed, an array's items or a map's values).

    `kind`: a JSON type or several ("array" or "string"); `fields`: an object's members,
    in the order checked and documented; `closed`: unknown members are refused; `values`:
    the members of a map (an object of arbitrary keys); `items`: an array's elements;
    `ref`: a components/schemas name, under which an object is documented once and
    referred to; a `ref` with no fields and no values names an object whose shape another
    component describes and a service checks (it is passed through as given)."""

    name: str
    kind: JsonType | tuple[JsonType, ...]
    required: bool = False
    description: str = ""
    enum: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    default: Any = None
    nullable: bool = False
    fields: tuple[Field, ...] = ()
    closed: bool = False
    values: Field | None = None
    items: Field | None = None
    ref: str | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kinds(self) -> tuple[JsonType, ...]:
        return self.kind if isinstance(self.kind, tuple) else (self.kind,)


def body(name: str, *fields: Field, closed: bool = True, description: str = "") -> Field:
    """A request body: a named object, closed (unknown members refused) unless told."""
    return Field(name, "object", fields=fields, closed=closed, ref=name, description=description)


def loosened(spec: Field, name: str) -> Field:
    """The same body with every member optional and no defaults (a PATCH of a POST's body)."""
    members = tuple(replace(f, required=False, default=None) for f in spec.fields)
    return replace(spec, name=name, ref=name, fields=members)


def names_of(kind: type[Enum]) -> dict[str, Any]:
    """A schema-only `extra` listing an enum's values, for a name a service checks."""
    return {"enum": [member.value for member in kind]}


def _refuse(spec: Field, error: str, path: str, parent: str, **more: Any) -> ApiError:
    template = spec.errors.get(error, DEFAULT_ERRORS[error])
    names = " or ".join(KIND_NAMES[k] for k in spec.kinds)
    text = template.format(path=path, parent=parent, name=spec.name, kind=names, **more)
    return ApiError(400, text)


def parse(spec: Field, data: dict[str, Any]) -> Values:
    """The members of `data` (a request body) that `spec` declares, each checked, with
    declared defaults for the absent ones."""
    return _object(spec, data, "")


def _object(spec: Field, data: dict[str, Any], where: str) -> Values:
    declared = tuple(f.name for f in spec.fields)
    if spec.closed:
        for key in data:
            if key not in declared:
                place = f"{where}: " if where else ""
                known = ", ".join(declared)
                raise _refuse(spec, "unknown", where, where, place=place, value=key, allowed=known)
    out: Values = {}
    for member in spec.fields:
        path = f"{where}.{member.name}" if where else member.name
        value = data.get(member.name)
        if value is None:
            if member.required:
                raise _refuse(member, "required", path, where)
            if member.default is not None:
                out[member.name] = member.default
            continue
        out[member.name] = _value(member, value, path, where)
    if spec.values is not None:
        for key, value in data.items():
            if key not in declared:
                out[key] = _value(spec.values, value, f"{where}.{key}", where)
    return out


def _value(spec: Field, value: Any, path: str, parent: str) -> Any:
    kinds = spec.kinds
    if isinstance(value, bool) and "boolean" not in kinds:
        raise _refuse(spec, "type", path, parent)
    if not any(isinstance(value, _PYTHON[kind]) for kind in kinds):
        raise _refuse(spec, "type", path, parent)
    if isinstance(value, str):
        if spec.enum and value not in spec.enum:
            raise _refuse(spec, "enum", path, parent, allowed=", ".join(spec.enum), value=value)
        if spec.max_length is not None and len(value) > spec.max_length:
            raise _refuse(spec, "long", path, parent, max=spec.max_length)
        if spec.min_length is not None and len(value) < spec.min_length:
            raise _refuse(spec, "short", path, parent, min=spec.min_length)
    if isinstance(value, dict) and (spec.fields or spec.values is not None):
        return _object(spec, value, path)
    if isinstance(value, list) and spec.items is not None:
        items = spec.items
        return [_value(items, item, f"{path}[{i}]", path) for i, item in enumerate(value)]
    return value


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def schema(spec: Field) -> dict[str, Any]:
    """The JSON Schema of one field, a named object written as its $ref."""
    return _ref(spec.ref) if spec.ref is not None else _inline(spec)


def _inline(spec: Field) -> dict[str, Any]:
    kinds: list[Any] = [*spec.kinds, *(["null"] if spec.nullable else [])]
    out: dict[str, Any] = {"type": kinds[0] if len(kinds) == 1 else kinds}
    if spec.description:
        out["description"] = spec.description
    if spec.enum:
        out["enum"] = list(spec.enum)
    if spec.min_length is not None:
        out["minLength"] = spec.min_length
    if spec.max_length is not None:
        out["maxLength"] = spec.max_length
    if spec.default is not None:
        out["default"] = spec.default
    if spec.items is not None:
        out["items"] = schema(spec.items)
    if spec.fields:
        out["properties"] = {f.name: schema(f) for f in spec.fields}
        if required := [f.name for f in spec.fields if f.required]:
            out["required"] = required
    if spec.closed:
        out["additionalProperties"] = False
    elif spec.values is not None:
        out["additionalProperties"] = schema(spec.values)
    out.update(spec.extra)
    return out


def _named(spec: Field) -> Iterator[Field]:
    if spec.ref is not None and (spec.fields or spec.values is not None):
        yield spec
    for child in (*spec.fields, spec.values, spec.items):
        if child is not None:
            yield from _named(child)


def component_schemas(*bodies: Field) -> dict[str, Any]:
    """components/schemas entries of every named object the bodies declare."""
    found: dict[str, Any] = {}
    for top in bodies:
        for spec in _named(top):
            found.setdefault(spec.ref or "", _inline(spec))
    return found
