"""certbot's ARI-driven renewal (RFC 9773) against `kms serve`: `certbot renew` asks the
directory's renewalInfo, leaves a certificate alone while its suggested window is ahead,
and renews it once revocation has moved the window into the past.

certbot is the client driven here: the installed lego (4.9, Debian) predates ARI (lego's
`renew --ari-enable` came in 4.11)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.certbot_cli import Certbot
from conformance.conftest import KmsServer, check_issued, client_binary, name, venv_script
from testkit.kms_process import kms

RENEW = ("renew", "--no-random-sleep-on-renew")


@pytest.fixture(scope="module", autouse=True)
def certbot_bin() -> str:
    return client_binary("certbot", venv_script("certbot"))


def _forget_ari_retry_after(renewal_conf: Path) -> None:
    """certbot asks renewalInfo again only after the server's Retry-After (hours): drop the
    time it saved, as if that much time had passed."""
    text = renewal_conf.read_text()
    kept = re.sub(r"(?ms)^\[acme_renewal_info\]\n.*?(?=^\[|\Z)", "", text)
    assert kept != text, text
    renewal_conf.write_text(kept)


def test_certbot_renews_when_the_suggested_window_says_so(
    kms_server: KmsServer, certbot_bin: str, tmp_path: Path
) -> None:
    cert_name = name("certbot-ari")
    certbot = Certbot(certbot_bin, tmp_path, kms_server)
    certbot.certonly([cert_name], profile="open")
    first = certbot.leaf(cert_name)
    renewal_conf = tmp_path / "config" / "renewal" / f"{cert_name}.conf"

    # A fresh certificate: the window is weeks away, so certbot keeps it.
    early = certbot(*RENEW, "--cert-name", cert_name)
    assert "not yet due" in early.stdout + early.stderr, early.stdout + early.stderr
    assert certbot.leaf(cert_name) == first
    assert "ari_retry_after" in renewal_conf.read_text()  # certbot did ask renewalInfo
    log = (tmp_path / "logs" / "letsencrypt.log").read_text()
    assert "/renewal-info/" in log

    # Revoked: the window is in the past, so certbot renews at once.
    kms("cert", "revoke", format(first.serial_number, "x"), "--reason", "key_compromise",
        *kms_server.cli_args())  # fmt: skip
    _forget_ari_retry_after(renewal_conf)
    due = certbot(*RENEW, "--cert-name", cert_name)
    assert "Renewing an existing certificate" in due.stdout, due.stdout + due.stderr
    log = (tmp_path / "logs" / "letsencrypt.log").read_text()
    assert "Certificate is due for renewal" in log
    renewed = certbot.leaf(cert_name)
    assert renewed.serial_number != first.serial_number
    check_issued(kms_server, renewed, certbot.chain(cert_name), [cert_name])
    assert kms_server.record(renewed.serial_number).status == "active"
    assert kms_server.record(first.serial_number).status == "revoked"
