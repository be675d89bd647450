"""One look at one certificate, for the agent's loop (agent.daemon): what is on disk against
its renew window and what the server says, obtaining or renewing it, and finishing what a
renewal left to do (the post-renewal command, revoking the superseded certificate).
"""

from __future__ import annotations

from datetime import datetime

from agent import logs
from agent.config import AgentConfig, CertificateConfig
from agent.enroller import Enroller, make_enroller
from agent.errors import EnrollmentError, PermanentError, TransientError
from agent.files import HOOK_PENDING, REVOKE_PENDING, CertificateFiles, Installed, Material
from agent.hooks import run_hook


def iso_z(moment: datetime | None) -> str | None:
    """The moment as ISO 8601 with a Z for UTC; None for None."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class CertificateCheck:
    """The per-certificate half of the Agent: its configuration and enrollers are the
    Agent's (set in Agent.__init__ and replaced by a reload)."""

    config: AgentConfig
    enrollers: dict[str, Enroller]

    def enroller(self, cert: CertificateConfig) -> Enroller:
        key = cert.name if cert.enrollment == "acme" else "rest"
        if key not in self.enrollers:
            self.enrollers[key] = make_enroller(self.config, cert)
        return self.enrollers[key]

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
            return f"the certificate expired at {iso_z(leaf.not_valid_after_utc)}"
        due = cert.renew_before.renew_at(leaf.not_valid_before_utc, leaf.not_valid_after_utc)
        if now >= due:
            return (
                f"inside the renew window (renew-before {cert.renew_before}, due {iso_z(due)}, "
                f"expires {iso_z(leaf.not_valid_after_utc)})"
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
                "KMS_AGENT_NOT_AFTER": str(iso_z(current.leaf.not_valid_after_utc)),
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
            f"{iso_z(leaf.not_valid_after_utc)}",
            certificate=cert.name,
            serial=installed.serial_hex,
            notAfter=iso_z(leaf.not_valid_after_utc),
            renewAt=iso_z(self.renew_at(cert, installed)),
            replaced=None if current is None else current.serial_hex,
            files=[str(path) for _, path in cert.files.paths()],
        )
        self.finish_pending(cert, files)
        return self.renew_at(cert, installed)
