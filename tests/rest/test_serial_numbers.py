"""Serial numbers over REST and the CLI, on both backends, are what `openssl x509 -noout
-serial` prints for the same PEM (upper-case hex, an even number of digits, no colons),
in every answer that shows one; and every spelling of a serial finds its certificate:
that form, lower case, odd length (the leading zero dropped, as serials used to be shown)
and colon-separated."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography import x509

from acme_server.cli.main import cli
from acme_server.jobs.webhooks import certificate_data
from acme_server.services.events import CertificateIssued, CertificateRevoked
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import bearer_client
from tests.rest.test_certificates_support import CERTS, issue, run_openssl

MAX_TRIES = 200  # a serial's top nibble is zero one time in eight (159 random bits)


@pytest.fixture(scope="module")
def http(api: AcmeServer) -> Iterator[httpx.Client]:
    with bearer_client(api) as client:
        yield client


@pytest.fixture(scope="module")
def leading_zero(api: AcmeServer, http: httpx.Client) -> dict[str, Any]:
    """A certificate issued over REST whose serial's top nibble is zero ("0E85DF..."): the
    case that used to lose its leading zero. Its issue answer, and the CertificateIssued
    event it published under "event"."""
    with api.events() as seen:
        for _ in range(MAX_TRIES):
            name = f"zero-{uuid.uuid4().hex}.serials.test"
            body = issue(http, commonName=name, keyAlgorithm="EC_P256")["certificate"]
            if len(f"{_leaf(body).serial_number:x}") % 2 == 1:  # "e85df...": top nibble 0
                break
        else:
            pytest.fail(f"no serial with a zero top nibble in {MAX_TRIES} issues")
    [event] = [
        e
        for e in seen
        if isinstance(e, CertificateIssued) and e.certificate_id == body["certificateId"]
    ]
    return {**body, "id": body["certificateId"], "event": event, "commonName": name}


def _leaf(body: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(body["certificate"].encode())


def _openssl_serial(pem: str, tmp_path: Path) -> str:
    """What `openssl x509 -noout -serial` prints after "serial="."""
    path = tmp_path / f"{uuid.uuid4().hex}.pem"
    path.write_text(pem)
    shown = run_openssl("x509", "-noout", "-serial", "-in", str(path))
    assert shown.returncode == 0, shown.stderr
    line = shown.stdout.strip()
    assert line.startswith("serial="), line
    return line.removeprefix("serial=")


def _spellings(shown: str) -> list[str]:
    """The shown form and the old ones a user may still have: lower case, the leading zero
    dropped (odd length), colon-separated in either case."""
    lower = shown.lower()
    pairs = [lower[i : i + 2] for i in range(0, len(lower), 2)]
    return [shown, lower, lower.lstrip("0"), ":".join(pairs), ":".join(pairs).upper()]


def test_issued_serials_are_what_openssl_prints(
    http: httpx.Client, leading_zero: dict[str, Any], tmp_path: Path
) -> None:
    ordinary = issue(http, commonName="ordinary.serials.test")["certificate"]
    for body in (leading_zero, ordinary):
        expected = _openssl_serial(body["certificate"], tmp_path)
        assert body["serialNumber"] == expected
        assert int(expected, 16) == _leaf(body).serial_number
        details = http.get(f"{CERTS}/{body['certificateId']}")
        assert details.status_code == 200, details.text
        assert details.json()["serialNumber"] == expected
    shown = leading_zero["serialNumber"]
    assert shown.startswith("0") and len(shown) % 2 == 0 and shown == shown.upper()
    # the event (and so a webhook) carries the same form
    assert leading_zero["event"].serial == shown
    assert certificate_data(leading_zero["event"])["serialNumber"] == shown


def test_every_spelling_of_a_serial_finds_the_certificate(
    http: httpx.Client, leading_zero: dict[str, Any]
) -> None:
    shown = leading_zero["serialNumber"]
    spellings = _spellings(shown)
    assert len(spellings[2]) % 2 == 1  # the odd-length spelling is among them
    for spelling in spellings:
        found = http.get(f"{CERTS}/{spelling}")
        assert found.status_code == 200, (spelling, found.text)
        assert (found.json()["id"], found.json()["serialNumber"]) == (leading_zero["id"], shown)
    listed = http.get(CERTS, params={"search": leading_zero["commonName"]})
    assert listed.status_code == 200, listed.text
    rows = listed.json()["certificates"]
    assert [(c["id"], c["serialNumber"]) for c in rows] == [(leading_zero["id"], shown)]
    for bad in ("0E85:ZZ", "0x", "-1", "1" * 41):
        refused = http.get(f"{CERTS}/{bad}")
        assert refused.status_code == 404, (bad, refused.text)
        assert "no certificate with id or serial" in refused.json()["message"]


def test_export_revoke_audit_and_events_show_the_openssl_form(
    api: AcmeServer, http: httpx.Client, leading_zero: dict[str, Any]
) -> None:
    shown = leading_zero["serialNumber"]
    _, lower, odd_length, colons, _ = _spellings(shown)
    exported = http.post(
        f"{CERTS}/{odd_length}/export",
        json={"format": "pkcs12", "password": "pw-serials"},
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"] == f'attachment; filename="{shown}.p12"'

    with api.events() as seen:
        revoked = http.post(f"{CERTS}/{colons}/revoke", json={"revocationReason": "SUPERSEDED"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["serialNumber"] == shown
    [event] = [e for e in seen if isinstance(e, CertificateRevoked)]
    assert event.serial == shown

    again = http.post(f"{CERTS}/{lower}/revoke", json={"revocationReason": "SUPERSEDED"})
    assert again.status_code == 409, again.text
    assert shown in again.json()["message"]

    with bearer_client(api, role="admin") as admin:  # reading the audit log is an admin's
        audit = admin.get("/api/v1/audit-logs", params={"targetId": leading_zero["id"]})
    assert audit.status_code == 200, audit.text
    details = {e["action"]: e["details"] for e in audit.json()["auditLogs"]}
    assert details["certificate.revoke"]["serialNumber"] == shown
    assert details["certificate.export"]["serialNumber"] == shown


def _kms(api: AcmeServer, *args: str) -> Result:
    database = ["--database", api.settings.database_url] if api.settings.database_url else []
    result = CliRunner().invoke(
        cli, [*args, "--data-dir", str(api.settings.data_dir), *database], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result


def test_the_cli_shows_and_finds_the_openssl_form(
    api: AcmeServer, leading_zero: dict[str, Any]
) -> None:
    shown = leading_zero["serialNumber"]
    for spelling in _spellings(shown):
        record = json.loads(_kms(api, "cert", "show", spelling, "--json").output)
        assert (record["id"], record["serialNumber"]) == (leading_zero["id"], shown)
    listed = json.loads(
        _kms(api, "cert", "list", "--name", leading_zero["commonName"], "--json").output
    )
    assert [c["serialNumber"] for c in listed["certificates"]] == [shown]
    table = _kms(api, "cert", "list", "--name", leading_zero["commonName"]).output
    assert [line.split("\t")[2] for line in table.splitlines()[1:]] == [shown]
