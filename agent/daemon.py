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
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from agent import logs
from agent.config import AgentConfig, CertificateConfig, ClientCertificateAuth, ConfigError
from agent.config_file import check_paths, load_config
from agent.errors import (
    CredentialsRefused,
    EnrollmentError,
    PermanentError,
    ProfileMissing,
    TransientError,
)
from agent.files import (
    HOOK_PENDING,
    REVOKE_PENDING,
    CertificateFiles,
    Installed,
    Material,
    check_owner,
)
from agent.hooks import run_hook
from agent.signals import Wakeup
from agent.state import save_state


class Enroller(Protocol):
    """How one certificate is obtained and revoked (REST or ACME)."""

    def check(self, cert: CertificateConfig) -> None: ...
    def obtain(self, cert: CertificateConfig, files: CertificateFiles) -> Material: ...
    def revoke(self, cert: CertificateConfig, old: Installed) -> None: ...
    def server_renewed(self, cert: CertificateConfig, current: Installed) -> Material | None: ...
    def renewal_hint(self, cert: CertificateConfig, current: Installed) -> str | None: ...
    def close(self) -> None: ...


def make_enroller(config: AgentConfig, cert: CertificateConfig) -> Enroller:
    if cert.enrollment == "acme":
        from agent.acme_mode import AcmeEnroller

        return AcmeEnroller(config, cert)
    from agent.api_mode import RestEnroller

    return RestEnroller(config)


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


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.enrollers: dict[str, Enroller] = {}
        self.schedules: dict[str, Schedule] = {}
        self.wakeup = Wakeup()

    # --- setup -------------------------------------------------------------------------------

    def enroller(self, cert: CertificateConfig) -> Enroller:
        key = cert.name if cert.enrollment == "acme" else "rest"
        if key not in self.enrollers:
            self.enrollers[key] = make_enroller(self.config, cert)
        return self.enrollers[key]

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

    def why_renew(
        self, cert: CertificateConfig, files: CertificateFiles, now: datetime
    ) -> str | None:
        """Why the certificate must be obtained now; None when what is on disk will do."""
        current = files.current()
        if current is None:
            return "no certificate on disk yet"
        if current.meta.get("requestDigest") != cert.request_digest():
            return "the configuration asks for a different certificate"
        leaf = current.leaf
        if now >= leaf.not_valid_after_utc:
            return f"the certificate expired at {_iso(leaf.not_valid_after_utc)}"
        due = cert.renew_before.renew_at(leaf.not_valid_before_utc, leaf.not_valid_after_utc)
        if now >= due:
            return (
                f"inside the renew window (renew-before {cert.renew_before}, due {_iso(due)}, "
                f"expires {_iso(leaf.not_valid_after_utc)})"
            )
        return None

    def renew_at(self, cert: CertificateConfig, installed: Installed) -> datetime:
        leaf = installed.leaf
        return cert.renew_before.renew_at(leaf.not_valid_before_utc, leaf.not_valid_after_utc)

    def finish_pending(self, cert: CertificateConfig, files: CertificateFiles) -> None:
        """Run the post-renewal command and revoke the superseded certificate, if a renewal
        (possibly of a killed run) left them to do. A revocation that may succeed later
        keeps its marker and is tried again at the next check."""
        current = files.current()
        if current is None:
            return
        if current.has(HOOK_PENDING):
            self._run_hook(cert, files, current)
        if current.has(REVOKE_PENDING):
            pending = current.marker(REVOKE_PENDING)
            old = files.version(int(pending["version"]))
            serial = str(pending.get("serialNumber"))
            if old is not None:
                try:
                    self.enroller(cert).revoke(cert, old)
                except TransientError as exc:
                    logs.warning(
                        "certificate.revoke_postponed",
                        f"could not revoke the superseded certificate of {cert.name} yet: {exc}",
                        certificate=cert.name,
                        serial=serial,
                    )
                    return
                except PermanentError as exc:
                    logs.error(
                        "certificate.revoke_failed",
                        f"could not revoke the superseded certificate of {cert.name}: {exc}",
                        certificate=cert.name,
                        serial=serial,
                    )
                else:
                    logs.info(
                        "certificate.revoked",
                        f"revoked the superseded certificate of {cert.name} (SUPERSEDED)",
                        certificate=cert.name,
                        serial=serial,
                        reason="revoke-superseded is set and the renewal succeeded",
                    )
            files.clear(current, REVOKE_PENDING)
            files.prune()

    def _run_hook(
        self, cert: CertificateConfig, files: CertificateFiles, current: Installed
    ) -> None:
        hook = cert.post_renewal
        if hook is not None:
            env = {
                "KMS_AGENT_CERTIFICATE": cert.name,
                "KMS_AGENT_EVENT": str(current.meta.get("event", "renewed")),
                "KMS_AGENT_SERIAL": current.serial_hex,
                "KMS_AGENT_NOT_AFTER": str(_iso(current.leaf.not_valid_after_utc)),
                "KMS_AGENT_CERT_DIR": str(current.directory),
            }
            result = run_hook(hook, env)
            fields = {
                "certificate": cert.name,
                "serial": current.serial_hex,
                "result": result.summary,
            }
            if result.ok:
                logs.info("hook.done", f"post-renewal command of {cert.name} done", **fields)
            else:
                logs.error(
                    "hook.failed",
                    f"post-renewal command of {cert.name} failed: {result.summary}",
                    output=result.output,
                    **fields,
                )
        files.clear(current, HOOK_PENDING)

    def _server_side(
        self, cert: CertificateConfig, current: Installed
    ) -> tuple[Material | None, str | None]:
        """What the server says about the certificate on disk: a renewal it made itself
        (api-managed auto-renewal), or a reason to renew now (ACME ARI). A server that does
        not answer says nothing: the agent's own schedule decides."""
        enroller = self.enroller(cert)
        try:
            renewed = enroller.server_renewed(cert, current)
            if renewed is not None:
                return renewed, "the server renewed it (auto-renewal or an operator's renew)"
            return None, enroller.renewal_hint(cert, current)
        except EnrollmentError:
            return None, None

    def check_certificate(self, cert: CertificateConfig, now: datetime) -> datetime:
        """One look at a certificate: obtain/renew if due, finish pending work; returns
        when to look again. Raises EnrollmentError when it could not get what it needed."""
        files = CertificateFiles(self.config.state_dir, cert)
        self.finish_pending(cert, files)
        reason = self.why_renew(cert, files, now)
        current = files.current()
        material: Material | None = None
        if current is not None and current.meta.get("requestDigest") == cert.request_digest():
            material, hint = self._server_side(cert, current)
            reason = hint or reason
        if reason is None and current is not None:
            if not files.outputs_complete(current):
                files.install(
                    current.material(),
                    digest=cert.request_digest(),
                    previous=current,
                    revoke_previous=False,
                    event="rewritten",
                )
                logs.info(
                    "certificate.rewritten",
                    f"wrote {cert.name} again: the configuration names a new output file",
                    certificate=cert.name,
                    serial=current.serial_hex,
                )
                self.finish_pending(cert, files)
            elif not files.links_in_place():
                files.link_outputs()
                logs.info(
                    "files.relinked",
                    f"restored the output paths of {cert.name}",
                    certificate=cert.name,
                )
            return self.renew_at(cert, current)
        event = "issued" if current is None else "renewed"
        logs.info(
            f"certificate.{'issuing' if current is None else 'renewing'}",
            f"{'obtaining' if current is None else 'renewing'} {cert.name}: {reason}",
            certificate=cert.name,
            reason=reason,
            enrollment=cert.enrollment,
            profile=cert.profile,
        )
        if material is None:
            material = self.enroller(cert).obtain(cert, files)
        installed = files.install(
            material,
            digest=cert.request_digest(),
            previous=current,
            revoke_previous=cert.revoke_superseded and current is not None,
            event=event,
        )
        leaf = installed.leaf
        logs.info(
            f"certificate.{event}",
            f"{event} {cert.name}, serial {installed.serial_hex}, valid until "
            f"{_iso(leaf.not_valid_after_utc)}",
            certificate=cert.name,
            serial=installed.serial_hex,
            notAfter=_iso(leaf.not_valid_after_utc),
            renewAt=_iso(self.renew_at(cert, installed)),
            replaced=None if current is None else current.serial_hex,
            files=[str(path) for _, path in cert.files.paths()],
        )
        self.finish_pending(cert, files)
        return self.renew_at(cert, installed)

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
            f"{_iso(current.leaf.not_valid_after_utc)})"
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
