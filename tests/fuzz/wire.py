"""A raw HTTP/1.1 exchange over a loopback socket, for requests no HTTP client library would
send (control bytes in the target, lying Content-Length, odd Host), and the tally of what
came back: a 5xx, or no complete response (empty reply, reset, cut-off body, timeout), is
a failure; every outcome is counted.

    outcome = exchange(port, b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    outcome.status, outcome.failure     # 200, None
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from dataclasses import dataclass, field

TIMEOUT_S = 10.0  # every answer on loopback comes far sooner; past this it is a hang
_MAX_SHOWN = 600  # bytes of an offending request shown in a report
_BODY_KEPT = 300  # bytes of a response body kept in its Outcome


@dataclass(frozen=True)
class Outcome:
    status: int | None  # of the first final response; None when there was none
    failure: str | None  # None, "5xx", or why no complete response came
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""  # the start of the response body


def _head_end(data: bytes) -> int:
    return data.find(b"\r\n\r\n")


def _parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        return None
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            return None
        headers.append((name.strip().lower(), value.strip()))
    return int(parts[1]), headers


def _chunked_complete(body: bytes) -> bool | None:
    """True when a chunked body is complete, False when more is due, None if malformed."""
    at = 0
    while True:
        line_end = body.find(b"\r\n", at)
        if line_end < 0:
            return False
        size_text = body[at:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        if size < 0:
            return None
        if size == 0:  # then the trailer section, ended by an empty line
            return body.find(b"\r\n\r\n", line_end) >= 0
        at = line_end + 2 + size + 2
        if at > len(body):
            return False


def _response(data: bytes, no_body: bool) -> tuple[Outcome | None, bool]:
    """(the first final response in `data` if it is complete, whether `data` is malformed).
    Interim 1xx responses (100 Continue) are skipped."""
    while True:
        end = _head_end(data)
        if end < 0:
            return None, False
        parsed = _parse_head(data[:end])
        if parsed is None:
            return None, True
        status, headers = parsed
        rest = data[end + 4 :]
        if 100 <= status < 200:
            data = rest
            continue
        values = dict(headers)
        failure = "5xx" if status >= 500 else None
        outcome = Outcome(status, failure, tuple(headers), rest[:_BODY_KEPT])
        if no_body or status in (204, 304):
            return outcome, False
        if values.get(b"transfer-encoding", b"").lower() == b"chunked":
            complete = _chunked_complete(rest)
            return (outcome if complete else None), complete is None
        length = values.get(b"content-length")
        if length is None:
            return None, False  # a body up to the close: complete only at EOF
        if not length.isdigit():
            return None, True
        return (outcome if len(rest) >= int(length) else None), False


def exchange(port: int, request: bytes, *, head: bool = False, half_close: bool = False) -> Outcome:
    """Send `request` (raw bytes) to 127.0.0.1:`port` and read the first response.
    `head`: the response has no body (a HEAD request). `half_close`: shut the write side
    after sending (the request announced more body than it sends); then the server may
    rightly close without answering, reported as status None, failure None."""
    deadline = time.monotonic() + TIMEOUT_S
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        try:
            sock.sendall(request)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything: read on
        while True:
            found, malformed = _response(data, head)
            if found is not None:
                return found
            if malformed:
                return Outcome(None, "malformed response")
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return Outcome(None, "timeout (no complete response)")
            except ConnectionResetError:
                return Outcome(None, "connection reset" + (" mid-response" if data else ""))
            if not chunk:
                break
            data += chunk
    if not data:
        return Outcome(None, None if half_close else "empty reply")
    end = _head_end(data)
    parsed = _parse_head(data[:end]) if end >= 0 else None
    if parsed is None:
        return Outcome(None, "incomplete response head")
    status, headers = parsed
    if dict(headers).get(b"content-length") is None and b"chunked" not in data[:end].lower():
        failure = "5xx" if status >= 500 else None
        return Outcome(status, failure, tuple(headers), data[end + 4 :][:_BODY_KEPT])
    return Outcome(status, "incomplete body")


@dataclass
class Tally:
    """Every outcome of a run, and the requests that failed (the first ones in full)."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    offending: list[str] = field(default_factory=list)

    def record(self, request: bytes, outcome: Outcome, label: str = "") -> None:
        self.requests += 1
        if outcome.status is not None:
            self.statuses[outcome.status] += 1
        if outcome.failure is None:
            return
        self.failures["5xx" if outcome.failure == "5xx" else "dropped"] += 1
        if len(self.offending) < 20:
            what = f"{outcome.status} {outcome.body[:120]!r}"
            if outcome.failure != "5xx":
                what = outcome.failure
            shown = request[:_MAX_SHOWN] + (b"..." if len(request) > _MAX_SHOWN else b"")
            self.offending.append(f"[{label}] {what} <- {shown!r}")

    def add(self, other: Tally) -> None:
        self.requests += other.requests
        self.statuses.update(other.statuses)
        self.failures.update(other.failures)

    @property
    def server_errors(self) -> int:
        return self.failures["5xx"]

    @property
    def dropped(self) -> int:
        return self.failures["dropped"]

    def summary(self) -> str:
        classes = Counter(f"{status // 100}xx" for status in self.statuses.elements())
        spread = ", ".join(f"{name} {count}" for name, count in sorted(classes.items()))
        return (
            f"{self.requests} requests ({spread}): "
            f"{self.server_errors} responses 5xx, {self.dropped} dropped connections"
        )

    def report(self) -> str:
        return "\n".join([self.summary(), *self.offending])


RUNS: dict[str, Tally] = {}  # per server ("sqlite/h11"...): all a session's wire fuzz sent


def runs_report() -> list[str]:
    """The lines the session prints at its end (tests/fuzz/conftest.py), [] if none ran."""
    if not RUNS:
        return []
    total = Tally()
    for tally in RUNS.values():
        total.add(tally)
    lines = [f"HTTP fuzz over loopback: {total.summary()}"]
    lines += [f"  {label}: {tally.summary()}" for label, tally in sorted(RUNS.items())]
    return lines
