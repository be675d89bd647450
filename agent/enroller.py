"""How one certificate is obtained and revoked: the Enroller protocol the agent's loop uses,
and the choice between REST (one client for every api-managed certificate) and ACME."""

from __future__ import annotations

from typing import Protocol

from agent.config import AgentConfig, CertificateConfig
from agent.files import CertificateFiles, Installed, Material


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
