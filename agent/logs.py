"""Structured logs: one event per line on stderr, as JSON (default) or as text.

    {"time": "2026-12-02T18:00:00.123Z", "level": "info", "event": "certificate.renewed",
     "message": "renewed web: inside the renew window", "certificate": "web", "serial": "..."}

Every event says what happened (`event`), to which certificate, and why (`reason`). Secrets
never enter a log line: events carry serials, paths and times only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LOGGER = "kms.agent"
log = logging.getLogger(LOGGER)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", "agent"),
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = getattr(record, "fields", {})
        extra = " ".join(f"{key}={value}" for key, value in fields.items())
        event = getattr(record, "event", "agent")
        return f"{moment} {record.levelname.lower():7} {event}: {record.getMessage()} {extra}"


def setup(kind: Literal["json", "text"]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if kind == "json" else _TextFormatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


def event(level: int, name: str, message: str, **fields: Any) -> None:
    log.log(level, message, extra={"event": name, "fields": fields})


def info(name: str, message: str, **fields: Any) -> None:
    event(logging.INFO, name, message, **fields)


def warning(name: str, message: str, **fields: Any) -> None:
    event(logging.WARNING, name, message, **fields)


def error(name: str, message: str, **fields: Any) -> None:
    event(logging.ERROR, name, message, **fields)
