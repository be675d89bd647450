"""The post-renewal command: `/bin/sh -c <command>` in its own process group, killed
(the whole group) when it outlives its timeout. It learns what happened from the
environment: KMS_AGENT_CERTIFICATE (the configured name), KMS_AGENT_EVENT (issued, renewed or
rewritten), KMS_AGENT_SERIAL, KMS_AGENT_NOT_AFTER and KMS_AGENT_CERT_DIR."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass

from agent.config import PostRenewal

OUTPUT_LIMIT = 2000  # characters of the command's output kept for the log


@dataclass(frozen=True, slots=True)
class HookResult:
    ok: bool
    summary: str  # "exit 0", "exit 3", "timed out after 30s", "cannot start: ..."
    output: str


def run_hook(hook: PostRenewal, env: dict[str, str]) -> HookResult:
    seconds = hook.timeout.total_seconds()
    try:
        process = subprocess.Popen(
            ["/bin/sh", "-c", hook.command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **env},
            start_new_session=True,
        )
    except OSError as exc:
        return HookResult(False, f"cannot start: {exc}", "")
    try:
        output, _ = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return HookResult(False, f"timed out after {seconds:g}s", (output or "")[-OUTPUT_LIMIT:])
    code = process.returncode
    return HookResult(code == 0, f"exit {code}", (output or "")[-OUTPUT_LIMIT:])
