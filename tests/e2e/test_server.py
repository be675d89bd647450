"""The server as a user runs it: `kms serve` in its own process, real HTTPS on loopback,
certificates checked with cryptography and the openssl binary, on both storage backends.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509

from testkit.kms_process import free_port, kms, kms_json, running_server


def _crl_url(cert: x509.Certificate) -> str:
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    names = cdp[0].full_name
    assert names is not None
    return str(names[0].value)


def _aia_url(cert: x509.Certificate) -> str:
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return str(aia[0].access_location.value)


def test_first_start_initialises_and_serves_https(tmp_path: Path, database_args: list[str]) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, *database_args) as server:
        assert server.ca_bundle is not None
        with server.client() as client:  # verifies TLS against the printed CA bundle
            health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert "CA bundle: " in server.log()
    assert (data_dir / "kek.key").stat().st_mode & 0o077 == 0
    assert (data_dir / "tls" / "server-key.pem").stat().st_mode & 0o077 == 0
    cas = kms_json("ca", "list", "--data-dir", str(data_dir), *database_args)
    assert sorted(ca["type"] for ca in cas) == ["intermediate", "root"]
    root = next(ca for ca in cas if ca["type"] == "root")
    bundle = x509.load_pem_x509_certificates((data_dir / "ca-bundle.pem").read_bytes())
    assert [c.subject.rfc4514_string() for c in bundle] == [root["subject"]]


def test_second_start_reuses_the_data_directory(tmp_path: Path, database_args: list[str]) -> None:
    data_dir = tmp_path / "data"
    port = free_port()  # the CAs' CRL/AIA URLs name it: a start on another port moves them
    with running_server(data_dir, *database_args, port=port):
        pass
    first = kms_json("ca", "list", "--data-dir", str(data_dir), *database_args)
    kek = (data_dir / "kek.key").read_bytes()
    with running_server(data_dir, *database_args, port=port) as server:
        assert "Created" not in server.log()
    assert kms_json("ca", "list", "--data-dir", str(data_dir), *database_args) == first
    assert (data_dir / "kek.key").read_bytes() == kek


def test_crl_and_aia_urls_in_an_issued_certificate_are_served(
    tmp_path: Path, database_args: list[str]
) -> None:
    """RFC 5280 4.2.1.13 and 4.2.2.1: the URLs a leaf names answer with its CRL and its issuer."""
    data_dir = tmp_path / "data"
    common = ["--data-dir", str(data_dir), *database_args]
    with running_server(data_dir, *database_args) as server:
        good = tmp_path / "good.pem"
        bad = tmp_path / "bad.pem"
        kms(
            "cert",
            "issue",
            "--cn",
            "good.test",
            "--san",
            "dns:good.test",
            "--out",
            str(good),
            *common,
        )
        issued = kms_json(
            "cert", "issue", "--cn", "bad.test", "--san", "dns:bad.test", "--out", str(bad), *common
        )
        leaf = x509.load_pem_x509_certificate(bad.read_bytes())
        with server.client() as client:
            issuer = client.get(_aia_url(leaf))
            assert issuer.status_code == 200
            assert issuer.headers["content-type"] == "application/pkix-cert"
            issuer_cert = x509.load_der_x509_certificate(issuer.content)
            leaf.verify_directly_issued_by(issuer_cert)

            revoked = kms_json(
                "cert", "revoke", issued["id"], "--reason", "KEY_COMPROMISE", *common
            )
            assert revoked["status"] == "revoked"
            response = client.get(_crl_url(leaf))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pkix-crl"
    crl_der = tmp_path / "crl.der"
    crl_der.write_bytes(response.content)
    text = subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-in", str(crl_der), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Key Compromise" in text
    assert issued["serialNumber"].upper() in text.replace(":", "").upper()

    crl_pem = tmp_path / "crl.pem"
    subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-in", str(crl_der), "-out", str(crl_pem)], check=True
    )
    chain = tmp_path / "chain.pem"
    chain.write_text("".join(ca["certificate"] for ca in kms_json("ca", "list", *common)))
    verify = ["openssl", "verify", "-crl_check", "-CAfile", str(chain), "-CRLfile", str(crl_pem)]
    ok = subprocess.run([*verify, str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr + ok.stdout
    assert ": OK" in ok.stdout
    refused = subprocess.run([*verify, str(bad)], capture_output=True, text=True)
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr


def test_plain_http_behind_a_proxy(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, "--plain-http") as server, server.client() as client:
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/pki/crl/no-such-ca.crl").status_code == 404
    assert not (data_dir / "tls").exists()


def test_serve_with_an_operator_supplied_certificate(tmp_path: Path) -> None:
    """--tls-cert/--tls-key: the server presents the given certificate instead of its own."""
    data_dir = tmp_path / "data"
    kms("init", "--data-dir", str(data_dir))
    bundle = kms_json(
        "cert", "issue", "--cn", "localhost", "--san", "dns:localhost", "--san", "ip:127.0.0.1",
        "--data-dir", str(data_dir),
    )  # fmt: skip
    pem = kms("cert", "export", bundle["id"], "--data-dir", str(data_dir)).stdout
    key_start = pem.index("-----BEGIN PRIVATE KEY")
    cert_file, key_file = tmp_path / "operator.pem", tmp_path / "operator.key"
    cert_file.write_text(pem[:key_start])
    key_file.write_text(pem[key_start:])
    key_file.chmod(0o600)
    # The trust anchor the test client uses (the server writes no bundle for operator certs):
    roots = [
        ca for ca in kms_json("ca", "list", "--data-dir", str(data_dir)) if ca["type"] == "root"
    ]
    (data_dir / "ca-bundle.pem").write_text(roots[0]["certificate"])
    with (
        running_server(
            data_dir, "--tls-cert", str(cert_file), "--tls-key", str(key_file)
        ) as server,
        server.client() as client,
    ):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert not (data_dir / "tls").exists()  # no self-issued server certificate was made
