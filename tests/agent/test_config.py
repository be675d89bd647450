"""agent.yaml: what is accepted, and one clear message naming the key for what is not."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from agent.config import AuthConfig, ClientCertificateAuth, ConfigError
from agent.config_file import check_paths, load_config, parse_config
from agent.durations import RenewBefore
from agent.keys import generate_key, key_pem


def base(tmp_path: Path, **cert: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "web",
        "profile": "default",
        "common-name": "web.test",
        "file-output": {"certificate": str(tmp_path / "web.crt")},
    }
    entry.update(cert)
    return {
        "server": {"url": "https://localhost:8443"},
        "auth": {"client-id": "id", "client-secret": "secret"},
        "certificates": [entry],
    }


def test_a_full_configuration(tmp_path: Path) -> None:
    text = """
server: {url: "https://ca.test:8443/", ca-bundle: ca.pem, timeout: 10s}
auth: {client-id: abc, client-secret-env: MY_SECRET}
state-dir: state
check-interval: 10m
retry: {initial-delay: 1s, max-delay: 1m, attempts: 3}
log-format: text
certificates:
  - name: web
    profile: web
    enrollment: api-csr
    key-algorithm: rsa_3072
    common-name: web.test
    alt-names: [web.test, 10.0.0.1]
    subject: {organization: Acme, country: DE}
    ttl: 30d
    renew-before: 10d
    extended-key-usages: [server_auth]
    metadata: {team: web}
    file-output:
      certificate: out/web.crt
      private-key: /abs/web.key
      pkcs12: {path: out/web.p12, password-env: P12_PASSWORD}
      mode: "0640"
      owner: "www-data:www-data"
    post-renewal: {command: systemctl reload nginx, timeout: 20s}
    revoke-superseded: true
  - name: acme
    profile: web
    enrollment: acme
    alt-names: acme.test
    renew-before: 33%
    file-output: {full-chain: out/acme.pem}
    acme: {eab-kid: kid, eab-hmac-key: key, http01-port: 5002, http01-address: 127.0.0.1}
"""
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    config = load_config(path, env={"MY_SECRET": "s3cret", "P12_PASSWORD": "pw"})
    assert config.server.url == "https://ca.test:8443"
    assert config.server.ca_bundle == tmp_path / "ca.pem"
    assert isinstance(config.auth, AuthConfig) and config.auth.client_secret == "s3cret"
    assert config.state_dir == tmp_path / "state"
    assert config.check_interval == timedelta(minutes=10)
    assert config.retry.attempts == 3 and config.log_format == "text"
    web, acme = config.certificates
    assert web.key_algorithm == "RSA_3072" and web.alt_names == ("web.test", "10.0.0.1")
    assert web.subject == {"organization": "Acme", "country": "DE"}
    assert web.files.certificate == tmp_path / "out" / "web.crt"
    assert web.files.private_key == Path("/abs/web.key")
    assert web.files.pkcs12 is not None and web.files.pkcs12.password == "pw"
    assert (web.files.mode, web.files.owner, web.files.group) == (0o640, "www-data", "www-data")
    assert web.post_renewal is not None and web.post_renewal.timeout == timedelta(seconds=20)
    assert web.renew_before == RenewBefore(period=timedelta(days=10)) and web.revoke_superseded
    assert acme.key_algorithm == "EC_P256"  # a locally made key defaults to P-256
    assert acme.acme is not None and acme.acme.http01_port == 5002
    assert acme.renew_before.fraction == pytest.approx(0.33)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"profile": None}, "certificates[0].profile: is required"),
        ({"key-algorithm": "RSA_1024"}, "certificates[0].key-algorithm: unknown key algorithm"),
        ({"enrollment": "scep"}, "certificates[0].enrollment: 'scep' is not one of"),
        ({"renew-before": "soon"}, "certificates[0].renew-before: 'soon' is neither a duration"),
        ({"renew-before": "100%"}, "certificates[0].renew-before: '100%': a percentage"),
        ({"ttl": "7 days"}, "certificates[0].ttl: '7 days' is not a duration"),
        ({"ttll": "7d"}, "certificates[0].ttll: unknown key"),
        ({"name": "a/b"}, "certificates[0].name: 'a/b' must be"),
        ({"common-name": None}, "certificates[0]: give common-name or alt-names"),
        ({"file-output": None}, "certificates[0].file-output: is required"),
        ({"file-output": {}}, "certificates[0].file-output: name at least one of"),
        ({"file-output": {"certificate": "a", "mode": "0444"}}, "file-output.mode: the owner"),
        ({"file-output": {"certificate": "a", "mode": "rw"}}, "file-output.mode: must be an"),
        ({"file-output": {"certificate": "a", "private-key": "a"}}, "is also the certificate"),
        ({"file-output": {"pkcs12": {"path": "a.p12"}}}, "pkcs12.password: is required"),
        ({"post-renewal": {"timeout": "5s"}}, "certificates[0].post-renewal.command: is required"),
        ({"revoke-superseded": "yes"}, "certificates[0].revoke-superseded: must be true or false"),
        ({"acme": {"http01-port": 80}}, "certificates[0].acme: only for enrollment: acme"),
        ({"enrollment": "acme", "ttl": "1d"}, "certificates[0].ttl: not available with acme"),
        (
            {"enrollment": "acme", "acme": {"eab-kid": "k"}},
            "certificates[0].acme.eab-hmac-key: is required with the other EAB setting",
        ),
        (
            {"enrollment": "acme", "acme": {"http01-port": 0}},
            "certificates[0].acme.http01-port: must be a whole number from 1 to 65535",
        ),
    ],
)
def test_bad_certificate_settings_name_the_key(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    data = base(tmp_path)
    entry = data["certificates"][0]
    for key, value in change.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(data, tmp_path / "agent.yaml", env={})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"server": None}, "server: is required"),
        ({"server": {"url": "ftp://x"}}, "server.url: must be an http:// or https:// URL"),
        ({"server": {"url": "https://x", "port": 1}}, "server.port: unknown key"),
        ({"auth": None}, "auth.client-id: is required for api-managed enrollment"),
        ({"auth": {"client-id": "a"}}, "auth.client-secret: is required with the other"),
        ({"auth": {"client-id": "a", "client-secret-env": "NOPE"}}, "NOPE is not set"),
        ({"certificates": []}, "certificates: must be a non-empty list"),
        ({"check-interval": "often"}, "check-interval: 'often' is not a duration"),
        ({"log-format": "xml"}, "log-format: 'xml' is not one of json, text"),
        ({"retry": {"initial-delay": "1m", "max-delay": "1s"}}, "retry.max-delay: must not"),
        ({"extra": 1}, "extra: unknown key"),
    ],
)
def test_bad_top_level_settings_name_the_key(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    data = base(tmp_path)
    for key, value in change.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config(data, tmp_path / "agent.yaml", env={})
    assert message in str(caught.value)


def test_credentials_from_the_environment(tmp_path: Path) -> None:
    data = base(tmp_path)
    del data["auth"]
    env = {"KMS_AGENT_CLIENT_ID": "id-from-env", "KMS_AGENT_CLIENT_SECRET": "secret-from-env"}
    config = parse_config(data, tmp_path / "agent.yaml", env=env)
    assert isinstance(config.auth, AuthConfig)
    assert (config.auth.client_id, config.auth.client_secret) == ("id-from-env", "secret-from-env")


def test_two_certificates_may_not_share_a_name_or_a_file(tmp_path: Path) -> None:
    data = base(tmp_path)
    data["certificates"].append(dict(data["certificates"][0]))
    with pytest.raises(ConfigError, match=r"certificates\[1\].name: 'web' is used twice"):
        parse_config(data, tmp_path / "agent.yaml", env={})
    data["certificates"][1]["name"] = "other"
    with pytest.raises(ConfigError, match=r"certificates\[1\].file-output.certificate: .* also"):
        parse_config(data, tmp_path / "agent.yaml", env={})


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(line"):
        load_config(bad)


def test_check_paths_refuses_unwritable_and_missing_directories(tmp_path: Path) -> None:
    data = base(tmp_path)
    data["certificates"][0]["file-output"] = {"certificate": str(tmp_path / "no" / "web.crt")}
    config = parse_config(data, tmp_path / "agent.yaml", env={})
    with pytest.raises(ConfigError, match=r"file-output.certificate: directory .*/no does not"):
        check_paths(config)
    # root passes every mode check but cannot create files in /sys
    locked = Path("/sys") if os.geteuid() == 0 else tmp_path / "locked"
    locked.mkdir(mode=0o500, exist_ok=True)
    data["certificates"][0]["file-output"] = {"private-key": str(locked / "k.pem")}
    config = parse_config(data, tmp_path / "a.yaml", env={})
    with pytest.raises(ConfigError, match=r"file-output.private-key: directory .* not writable"):
        check_paths(config)


def test_renew_before_by_period_and_by_share_of_lifetime() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=90)
    assert RenewBefore.parse("30d").renew_at(start, end) == start + timedelta(days=60)
    assert RenewBefore.parse("25%").renew_at(start, end) == end - timedelta(days=22.5)
    assert RenewBefore.parse("365d").renew_at(start, end) == start  # longer than the lifetime
    assert str(RenewBefore.parse("12h")) == "12h" and str(RenewBefore.parse("33%")) == "33%"


def _first_yaml_block(document: str, after: str) -> str:
    text = (Path(__file__).parents[2] / document).read_text()
    section = text.split(after, 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_agent_page_example_is_a_valid_configuration() -> None:
    example = _first_yaml_block("docs/agent.md", "# Agent\n")
    env = {"KMS_AGENT_SECRET": "s", "WEB_P12_PASSWORD": "p", "KMS_AGENT_EAB_HMAC": "h"}
    config = parse_config(yaml.safe_load(example), Path("/etc/kms-agent/agent.yaml"), env=env)
    assert [c.enrollment for c in config.certificates] == ["api-csr", "acme"]
    assert config.state_dir == Path("/var/lib/kms-agent")


def test_the_readme_example_is_a_valid_configuration() -> None:
    example = _first_yaml_block("README.md", "\n## Agent\n")
    env = {"KMS_AGENT_CLIENT_ID": "i", "KMS_AGENT_CLIENT_SECRET": "s"}
    config = parse_config(yaml.safe_load(example), Path("/work/kms/agent.yaml"), env=env)
    assert [c.enrollment for c in config.certificates] == ["api-csr"]
    assert config.state_dir == Path("/work/kms/.kms-agent")  # beside the file


def client_certificate_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key on disk (the config check reads both)."""
    key = generate_key("EC_P256")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "machine.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "id.pem", tmp_path / "id.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_text(key_pem(key))
    return cert_path, key_path


def test_client_certificate_auth(tmp_path: Path) -> None:
    cert_path, key_path = client_certificate_files(tmp_path)
    data = base(tmp_path)
    data["auth"] = {
        "client-certificate": {"certificate": "id.pem", "key": str(key_path), "rotate-before": "7d"}
    }
    config = parse_config(data, tmp_path / "agent.yaml", env={})
    assert config.auth == ClientCertificateAuth(
        certificate=cert_path, key=key_path, rotate_before=timedelta(days=7)
    )
    data["auth"] = {"client-certificate": {"certificate": "id.pem", "key": "id.key"}}
    config = parse_config(data, tmp_path / "agent.yaml", env={})
    assert isinstance(config.auth, ClientCertificateAuth) and config.auth.rotate_before is None


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"key": "id.key"}, "auth.client-certificate.certificate: is required"),
        ({"certificate": "id.pem"}, "auth.client-certificate.key: is required"),
        (
            {"certificate": "missing.pem", "key": "id.key"},
            "auth.client-certificate.certificate: {tmp}/missing.pem is not a readable file",
        ),
        (
            {"certificate": "id.key", "key": "id.key"},
            "auth.client-certificate.certificate: {tmp}/id.key is not a PEM certificate chain",
        ),
        (
            {"certificate": "id.pem", "key": "id.pem"},
            "auth.client-certificate.key: {tmp}/id.pem is not an unencrypted PEM RSA or EC",
        ),
        (
            {"certificate": "id.pem", "key": "other.key"},
            "auth.client-certificate.key: {tmp}/other.key does not fit the certificate",
        ),
        (
            {"certificate": "id.pem", "key": "id.key", "rotate-before": "soon"},
            "auth.client-certificate.rotate-before: ",
        ),
        (
            {"certificate": "id.pem", "key": "id.key", "pasword": "x"},
            "auth.client-certificate.pasword: unknown key",
        ),
    ],
)
def test_bad_client_certificate_auth(tmp_path: Path, auth: dict[str, str], message: str) -> None:
    client_certificate_files(tmp_path)
    (tmp_path / "other.key").write_text(key_pem(generate_key("EC_P256")))
    data = base(tmp_path)
    data["auth"] = {"client-certificate": auth}
    with pytest.raises(ConfigError) as raised:
        parse_config(data, tmp_path / "agent.yaml", env={})
    assert str(raised.value).startswith(message.format(tmp=tmp_path)), str(raised.value)
    assert "\n" not in str(raised.value)


def test_client_certificate_and_a_client_secret_are_exclusive(tmp_path: Path) -> None:
    client_certificate_files(tmp_path)
    data = base(tmp_path)
    data["auth"] = {
        "client-id": "id",
        "client-certificate": {"certificate": "id.pem", "key": "id.key"},
    }
    with pytest.raises(ConfigError, match=r"^auth.client-id: give either client-certificate"):
        parse_config(data, tmp_path / "agent.yaml", env={})


def test_an_interrupted_rotation_is_accepted(tmp_path: Path) -> None:
    """The certificate was replaced but the new key is still beside the old one."""
    _, key_path = client_certificate_files(tmp_path)
    key_path.with_name("id.key.next").write_text(key_path.read_text())
    key_path.write_text(key_pem(generate_key("EC_P256")))
    data = base(tmp_path)
    data["auth"] = {"client-certificate": {"certificate": "id.pem", "key": "id.key"}}
    config = parse_config(data, tmp_path / "agent.yaml", env={})
    assert isinstance(config.auth, ClientCertificateAuth)
