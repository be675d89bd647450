"""The agent's loop: obtain missing certificates, renew those inside their window, finish
what a renewal left to do (post-renewal command, revocation of the superseded certificate),
then sleep until the next certificate is due or the check interval has passed.

- Transient failures (server unreachable, 5xx, 429) are retried with exponential backoff
  and jitter (initial-delay doubling up to max-delay, each wait drawn from [d/2, d]); the
  certificate already on disk stays in place meanwhile.
- Refusals (4xx) are logged and tried again at the next check.
- SIGHUP re-reads the configuration (a bad one is logged and the old one kept); SIGTERM and
  SIGINT stop after the step in progress.
- `run_once` (--once) does one pass, retrying transient failures up to retry.attempts
  times, and reports whether every certificate is in place and fresh.

What one look at a certificate does is in agent.certificate_check; this module schedules
the looks and handles their failures.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agent import logs
from agent.certificate_check import CertificateCheck, iso_z
from agent.config import AgentConfig, CertificateConfig, ClientCertificateAuth, ConfigError
from agent.config_file import check_paths, load_config
from agent.enroller import Enroller
from agent.errors import CredentialsRefused, EnrollmentError, ProfileMissing, TransientError
from agent.files import CertificateFiles, check_owner
from agent.signals import Wakeup
from agent.state import save_state


class Outcome(enum.Enum):
    OK = "ok"  # in place and fresh
    RETRY = "retry"  # a transient failure: try again after a backoff
    FAILED = "failed"  # refused: try again at the next check


@dataclass
class Schedule:
    """When to look at one certificate next, and how many attempts failed in a row."""

    next_check: datetime
    failures: int = 0
    last_error: str | None = None


def backoff(config: AgentConfig, failures: int) -> timedelta:
    """Exponential backoff with jitter: initial * 2^(failures-1), capped, drawn from [d/2, d]."""
    retry = config.retry
    ceiling = min(retry.max_delay, retry.initial_delay * (2 ** min(failures - 1, 30)))
    seconds = ceiling.total_seconds()
    return timedelta(seconds=random.uniform(seconds / 2, seconds))


class Agent(CertificateCheck):
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.enrollers: dict[str, Enroller] = {}
        self.schedules: dict[str, Schedule] = {}
        self.wakeup = Wakeup()

    # --- setup -------------------------------------------------------------------------------

    def close(self) -> None:
        for each in self.enrollers.values():
            each.close()
        self.enrollers.clear()

    def preflight(self) -> None:
        """ConfigError for what can be checked before the first request: paths, owners,
        and (when the server answers) the credentials and that each profile exists."""
        check_paths(self.config)
        for cert in self.config.certificates:
            check_owner(cert)
        self.config.state_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        for cert in self.config.certificates:
            CertificateFiles(self.config.state_dir, cert).prepare()
            try:
                self.enroller(cert).check(cert)
            except ProfileMissing as exc:
                raise ConfigError(f"{cert.where}.profile: {exc}") from None
            except CredentialsRefused as exc:
                key = (
                    "auth.client-certificate"
                    if isinstance(self.config.auth, ClientCertificateAuth)
                    else "auth.client-id"
                )
                raise ConfigError(f"{key}: {exc}") from None
            except EnrollmentError as exc:
                logs.warning(
                    "server.unchecked",
                    f"could not check profile {cert.profile!r} of {cert.name}: {exc}",
                    certificate=cert.name,
                )

    # --- one certificate ---------------------------------------------------------------------

    def step(self, cert: CertificateConfig, now: datetime) -> Outcome:
        """check_certificate with the failure handling; updates the schedule."""
        schedule = self.schedules.setdefault(cert.name, Schedule(next_check=now))
        try:
            due = self.check_certificate(cert, now)
        except TransientError as exc:
            schedule.failures += 1
            wait = backoff(self.config, schedule.failures)
            schedule.next_check = now + wait
            schedule.last_error = str(exc)
            self._failed(cert, exc, wait, transient=True)
            return Outcome.RETRY
        except (EnrollmentError, OSError, ValueError) as exc:
            schedule.failures += 1
            wait = self.config.check_interval
            schedule.next_check = now + wait
            schedule.last_error = str(exc)
            self._failed(cert, exc, wait, transient=False)
            return Outcome.FAILED
        schedule.failures = 0
        schedule.last_error = None
        if due <= datetime.now(UTC):  # due at once although just obtained: do not loop
            logs.warning(
                "certificate.due_on_arrival",
                f"{cert.name} is inside its renew window as soon as it is issued "
                f"(renew-before {cert.renew_before} is too long for its lifetime); "
                f"next attempt after the check interval",
                certificate=cert.name,
            )
            due = now + self.config.check_interval
        schedule.next_check = min(max(due, now), now + self.config.check_interval)
        self._save_state(cert)
        return Outcome.OK

    def _failed(
        self, cert: CertificateConfig, exc: Exception, wait: timedelta, *, transient: bool
    ) -> None:
        current = CertificateFiles(self.config.state_dir, cert).current()
        kept = (
            f"; keeping serial {current.serial_hex} (valid until "
            f"{iso_z(current.leaf.not_valid_after_utc)})"
            if current is not None
            else ""
        )
        logs.event(
            30 if transient else 40,
            "certificate.failed",
            f"{cert.name}: {exc}{kept}; next attempt in {wait.total_seconds():.1f}s",
            certificate=cert.name,
            transient=transient,
            failures=self.schedules[cert.name].failures,
            retryIn=round(wait.total_seconds(), 1),
            kept=None if current is None else current.serial_hex,
        )
        self._save_state(cert)

    def _save_state(self, cert: CertificateConfig) -> None:
        schedule = self.schedules.get(cert.name)
        if schedule is not None:
            save_state(
                CertificateFiles(self.config.state_dir, cert).root,
                next_check=schedule.next_check,
                failures=schedule.failures,
                last_error=schedule.last_error,
            )

    # --- the loops ---------------------------------------------------------------------------

    def run_once(self) -> bool:
        """One pass; transient failures retried (backoff) up to retry.attempts times."""
        ok = True
        for cert in self.config.certificates:
            for attempt in range(1, self.config.retry.attempts + 1):
                outcome = self.step(cert, datetime.now(UTC))
                if outcome is Outcome.OK:
                    break
                if outcome is Outcome.FAILED or attempt == self.config.retry.attempts:
                    ok = False
                    break
                wait = self.schedules[cert.name].next_check - datetime.now(UTC)
                if self.wakeup.sleep(max(0.0, wait.total_seconds())):
                    return False
        return ok

    def run_forever(self) -> None:
        logs.info(
            "agent.started",
            f"watching {len(self.config.certificates)} certificate(s) from {self.config.path}",
            certificates=[c.name for c in self.config.certificates],
            checkInterval=str(self.config.check_interval),
        )
        while not self.wakeup.stopping:
            if self.wakeup.reload_wanted:
                self.wakeup.reload_wanted = False
                self.reload()
            now = datetime.now(UTC)
            for cert in self.config.certificates:
                schedule = self.schedules.get(cert.name)
                if schedule is None or schedule.next_check <= now:
                    self.step(cert, now)
                if self.wakeup.stopping or self.wakeup.reload_wanted:
                    break
            if self.wakeup.stopping or self.wakeup.reload_wanted:
                continue
            wake = min(
                (s.next_check for s in self.schedules.values()),
                default=now + self.config.check_interval,
            )
            self.wakeup.sleep(max(0.05, (wake - datetime.now(UTC)).total_seconds()))
        logs.info("agent.stopped", "stopped")

    def reload(self) -> None:
        try:
            fresh = load_config(self.config.path)
            old, self.config = self.config, fresh
            try:
                self.preflight()
            except ConfigError:
                self.config = old
                raise
        except ConfigError as exc:
            logs.error("config.rejected", f"kept the running configuration: {exc}")
            return
        self.close()
        self.schedules.clear()
        logs.info(
            "config.reloaded",
            f"re-read {fresh.path}: {len(fresh.certificates)} certificate(s)",
            certificates=[c.name for c in fresh.certificates],
        )
