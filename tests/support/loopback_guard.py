"""A test-time fence: while active, no socket may reach a non-loopback address.

Validation code contacts whatever DNS and redirects name; a bug (or a test that forgot its
nameserver) would send packets to the world. `only_loopback()` installs a Python audit hook
(PEP 578, once per process; inactive outside the context) that refuses socket connect/sendto
to any IP outside 127.0.0.0/8 and ::1 and any name lookup other than of loopback literals.
A refusal raises NonLoopbackContact, which is not an OSError (so code that maps network
errors cannot swallow it), and is also recorded in `violations` for the fixture to assert.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
from collections.abc import Iterator
from typing import Any

violations: list[str] = []
_active = 0
_installed = False


class NonLoopbackContact(RuntimeError):
    """A test tried to contact something other than loopback."""


@contextlib.contextmanager
def only_loopback() -> Iterator[list[str]]:
    """Within: refuse non-loopback contact; yields the violations seen meanwhile."""
    global _active, _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    start = len(violations)
    _active += 1
    seen: list[str] = []
    try:
        yield seen
    finally:
        _active -= 1
        seen.extend(violations[start:])


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return address.is_loopback


def refusal(event: str, args: tuple[Any, ...]) -> str | None:
    """What is wrong with audit event (event, args) under the fence, or None if fine."""
    if event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[1]
        family = getattr(sock, "family", None)
        if family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            return f"{event} to {address!r}"
    elif event == "socket.getaddrinfo":
        host = args[0]
        if host is not None and not _is_loopback(host):
            return f"name lookup of {host!r}"
    return None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _active:
        return
    what = refusal(event, args)
    if what is not None:
        violations.append(what)
        raise NonLoopbackContact(f"tests may only contact loopback: {what}")
