"""`python -m tests.support.crashing_server POINT`: the server `kms serve` runs, built from
KMS_* variables, that kills itself with SIGKILL (no cleanup, no reply) when a finalize
reaches POINT. The crash tests start it, finalize, and let a normal server finish the order.

    after_begin          the order is processing; nothing reserved yet
    before_signing       the certificate is reserved (pending), not signed
    after_signing        signed in memory, never stored
    after_storing        stored and active; the order not updated
    before_order_update  the order update about to be sent
"""

from __future__ import annotations

import contextvars
import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from acme_server.acme.handlers import orders
from acme_server.app import create_app
from acme_server.services.certificates import issuance
from acme_server.settings import load_settings
from store import Store

_IN_FINALIZE: contextvars.ContextVar[bool] = contextvars.ContextVar("in_finalize", default=False)


def _die() -> None:
    """Only inside a finalize request: the recovery sweep passes the same points."""
    if _IN_FINALIZE.get():
        os.kill(os.getpid(), signal.SIGKILL)


async def _finalize(request: Request) -> Response:
    _IN_FINALIZE.set(True)
    return await _FINALIZE(request)


_FINALIZE = orders.finalize


def _async_wrap(method: Callable[..., Any], *, after: bool) -> Callable[..., Any]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not after:
            _die()
        result = await method(*args, **kwargs)
        _die()
        return result

    return wrapper


def _sync_wrap(function: Callable[..., Any], *, after: bool) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not after:
            _die()
        result = function(*args, **kwargs)
        _die()
        return result

    return wrapper


def arm(point: str) -> None:
    orders.finalize = _finalize  # type: ignore[assignment]
    if point == "after_begin":
        Store.reserve_certificate = _async_wrap(Store.reserve_certificate, after=False)  # type: ignore[method-assign]
    elif point in ("before_signing", "after_signing"):
        issuance.issue_leaf = _sync_wrap(issuance.issue_leaf, after=point == "after_signing")  # type: ignore[attr-defined]
    elif point == "after_storing":
        Store.activate_certificate = _async_wrap(Store.activate_certificate, after=True)  # type: ignore[method-assign]
    elif point == "before_order_update":
        Store.complete_order = _async_wrap(Store.complete_order, after=False)  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown crash point {point!r}")


def main() -> None:
    arm(sys.argv[1])
    settings = load_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()
