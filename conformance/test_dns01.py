"""DNS-01 with real clients: lego's `exec` provider and certbot's manual hooks publish the
TXT records in the test DNS server (RFC 2136 UPDATEs from conformance/dns_hook.py), the
server validates them through the same DNS server, and checks CAA there before issuing.
Wildcard certificates (RFC 8555 section 7.1.3) can only be had this way."""

from __future__ import annotations

import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, VerificationError
from cryptography.x509.verification import Store as TrustStore

from conformance.certbot_cli import Certbot
from conformance.conftest import (
    OPEN_PROFILE,
    KmsServer,
    check_issued,
    client_binary,
    dns_names,
    name,
    venv_script,
)
from conformance.dns_hook import ENV_SERVER
from conformance.test_lego import Lego
from testkit.dns_server import DNSServer

HOOK = Path(__file__).with_name("dns_hook.py")


@pytest.fixture
def hook_env(dns: DNSServer, monkeypatch: pytest.MonkeyPatch) -> DNSServer:
    """The clients (and so their hooks) inherit this process's environment."""
    monkeypatch.setenv(ENV_SERVER, f"{dns.nameserver[0]}:{dns.nameserver[1]}")
    return dns


def check_wildcard(
    server: KmsServer, leaf: x509.Certificate, intermediates: list[x509.Certificate], base: str
) -> None:
    """SANs `*.base` and `base`; the chain verifies (RFC 5280, RFC 6125 wildcard matching by
    cryptography) for the base name and for a name the wildcard covers, not one below it."""
    assert dns_names(leaf) == {f"*.{base}", base}
    check_issued(server, leaf, intermediates, [f"*.{base}", base], verify=[base, f"www.{base}"])
    verifier = (
        PolicyBuilder()
        .store(TrustStore([server.root()]))
        .time(datetime.now(UTC))
        .build_server_verifier(x509.DNSName(f"a.b.{base}"))
    )
    with pytest.raises(VerificationError):
        verifier.verify(leaf, intermediates)


def txt_queries(dns: DNSServer, domain: str) -> int:
    return dns.queries.count((f"_acme-challenge.{domain}", "TXT"))


def test_lego_exec_provider_wildcard_and_base(
    kms_server: KmsServer, hook_env: DNSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lego_bin = client_binary("lego")
    script = tmp_path / "lego-hook"
    script.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(HOOK))} lego "$@"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("EXEC_PATH", str(script))
    monkeypatch.setenv("EXEC_POLLING_INTERVAL", "1")
    monkeypatch.setenv("EXEC_PROPAGATION_TIMEOUT", "30")
    monkeypatch.setenv("EXEC_SEQUENCE_INTERVAL", "1")  # lego waits this between names
    base = name("lego-dns")
    names = [f"*.{base}", base]
    lego = Lego(lego_bin, tmp_path / "lego", kms_server, http=False)
    resolver = f"{hook_env.nameserver[0]}:{hook_env.nameserver[1]}"
    lego(
        names,
        "run",
        profile=OPEN_PROFILE,
        options=("--dns", "exec", "--dns.resolvers", resolver, "--dns.disable-cp"),
    )
    # lego names the files after the first domain, "*" replaced by "_".
    leaf, *intermediates = lego.chain(f"_.{base}")
    check_wildcard(kms_server, leaf, intermediates, base)
    assert txt_queries(hook_env, base) >= 2  # both authorizations validated by DNS-01
    assert (base, "CAA") in hook_env.queries  # CAA checked before issuing
    # lego's cleanup removed its records again.
    assert hook_env.records(f"_acme-challenge.{base}", "TXT") == [], (
        "the exec provider's cleanup left TXT records behind"
    )


def test_lego_rfc2136_provider(
    kms_server: KmsServer, hook_env: DNSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lego's own RFC 2136 client (no hook script, no TSIG: a loopback test server)."""
    lego_bin = client_binary("lego")
    address = f"{hook_env.nameserver[0]}:{hook_env.nameserver[1]}"
    monkeypatch.setenv("RFC2136_NAMESERVER", address)
    monkeypatch.setenv("RFC2136_POLLING_INTERVAL", "1")
    monkeypatch.setenv("RFC2136_PROPAGATION_TIMEOUT", "30")
    monkeypatch.setenv("RFC2136_SEQUENCE_INTERVAL", "1")
    base = name("lego-rfc2136")
    lego = Lego(lego_bin, tmp_path / "lego", kms_server, http=False)
    lego(
        [base],
        "run",
        profile=OPEN_PROFILE,
        options=("--dns", "rfc2136", "--dns.resolvers", address, "--dns.disable-cp"),
    )
    leaf, *intermediates = lego.chain(base)
    check_issued(kms_server, leaf, intermediates, [base])
    assert txt_queries(hook_env, base) >= 1
    assert hook_env.records(f"_acme-challenge.{base}", "TXT") == []


def test_certbot_manual_hooks_wildcard(
    kms_server: KmsServer, hook_env: DNSServer, tmp_path: Path
) -> None:
    certbot_bin = client_binary("certbot", venv_script("certbot"))
    certbot = Certbot(certbot_bin, tmp_path, kms_server)
    base = name("certbot-dns")
    names = [f"*.{base}", base]
    hook = f"{shlex.quote(sys.executable)} {shlex.quote(str(HOOK))}"
    certbot(
        "certonly",
        "--manual",
        "--preferred-challenges",
        "dns",
        "--manual-auth-hook",
        f"{hook} certbot-auth",
        "--manual-cleanup-hook",
        f"{hook} certbot-cleanup",
        "--server",
        kms_server.directory(OPEN_PROFILE),
        "--agree-tos",
        "-m",
        "ops@example.com",
        "--no-eff-email",
        "--cert-name",
        base,
        *[arg for each in names for arg in ("-d", each)],
    )
    check_wildcard(kms_server, certbot.leaf(base), certbot.chain(base), base)
    assert txt_queries(hook_env, base) >= 2
    assert hook_env.records(f"_acme-challenge.{base}", "TXT") == []
