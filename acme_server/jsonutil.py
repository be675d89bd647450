"""Strict JSON input: what json.loads accepts but nothing downstream can use.

json.loads accepts lone UTF-16 surrogates written as \\ud800 escapes, which no database
driver can encode, and nests as deep as the input asks until RecursionError. Both are
refused here, once, for ACME and REST bodies alike.
"""

from __future__ import annotations

import json
from typing import Any


class BadJSON(ValueError):
    """The text is not JSON we accept; the message completes "the body is ..."."""


def loads_strict(data: str | bytes) -> Any:
    try:
        value = json.loads(data)
    except RecursionError:
        raise BadJSON("nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise BadJSON("not valid JSON") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadJSON("not valid Unicode (it holds lone surrogates)") from None
    return value
