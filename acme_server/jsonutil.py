"""Strict JSON in, compact JSON out, both through orjson.

orjson refuses what json.loads accepts but nothing downstream can use: lone UTF-16
surrogates written as \\ud800 escapes (no database driver can encode them), NaN and
Infinity, and nesting deeper than 1024 levels. NUL characters (\\u0000) are refused here
too: PostgreSQL stores no NUL in text or JSON columns, and no field of ours has a use for
one. Refused here, once, for ACME and REST bodies alike, with a message that completes
"the body is ...".
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class BadJSON(ValueError):
    """The text is not JSON we accept; the message completes "the body is ..."."""


def loads_strict(data: str | bytes) -> Any:
    nul = b"\\u0000" in data if isinstance(data, bytes) else "\\u0000" in data
    if nul:
        raise BadJSON("not accepted: it holds a NUL character (\\u0000)")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if "depth limit" in reason:
            raise BadJSON("nested too deeply") from None
        if "surrogate in string" in reason:
            raise BadJSON("not valid Unicode (it holds lone surrogates)") from None
        raise BadJSON("not valid JSON") from None


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class FastJSONResponse(JSONResponse):
    """Starlette's JSONResponse, rendered by orjson (compact, UTF-8, no NaN)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
