"""certbot's command line as the conformance tests run it: one installation state (its config,
work and logs directories, so one account) against the `kms serve` under test, with the
certonly (standalone HTTP-01) and register invocations the tests share."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from conformance.conftest import CONTACT, KmsServer, load_chain, run_client


def _binding(eab: dict[str, str] | None) -> list[str]:
    """certbot's EAB flags, in the --flag=value form: a base64url HMAC key may begin with
    "-", which argparse would take for an option (test_certbot.py's last test checks the hint)."""
    if eab is None:
        return []
    return [f"--eab-kid={eab['kid']}", f"--eab-hmac-key={eab['hmacKey']}"]


@dataclass
class Certbot:
    """One certbot installation state (config, work and logs directories): one account."""

    binary: str
    home: Path
    server: KmsServer

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [
            self.binary,
            *args,
            "--config-dir",
            str(self.home / "config"),
            "--work-dir",
            str(self.home / "work"),
            "--logs-dir",
            str(self.home / "logs"),
            "--non-interactive",
        ]
        return run_client(argv, {"REQUESTS_CA_BUNDLE": str(self.server.bundle)}, check=check)

    def certonly(
        self,
        names: list[str],
        *,
        profile: str = "default",
        eab: dict[str, str] | None = None,
        extra: list[str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        domains = [arg for each in names for arg in ("-d", each)]
        return self(
            "certonly",
            "--standalone",
            "--server",
            self.server.directory(profile),
            "--http-01-port",
            str(self.server.http01_port),
            "--http-01-address",
            "127.0.0.1",
            "--agree-tos",
            "-m",
            CONTACT,
            "--no-eff-email",
            *(["--cert-name", names[0]] if names else []),
            *domains,
            *_binding(eab),
            *(extra or []),
            check=check,
        )

    def register(
        self, *, profile: str = "default", eab: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self(
            "register",
            "--server",
            self.server.directory(profile),
            "--agree-tos",
            "-m",
            CONTACT,
            "--no-eff-email",
            *_binding(eab),
        )

    def live(self, cert_name: str) -> Path:
        return self.home / "config" / "live" / cert_name

    def leaf(self, cert_name: str) -> x509.Certificate:
        return load_chain(self.live(cert_name) / "cert.pem")[0]

    def chain(self, cert_name: str) -> list[x509.Certificate]:
        """The intermediates certbot saved (chain.pem)."""
        return load_chain(self.live(cert_name) / "chain.pem")
