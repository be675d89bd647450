"""The CRL over HTTP is never served stale from a cache: it is remade at every revocation,
so caches must revalidate (`no-cache`), and the ETag and Last-Modified validators answer
304 while it is unchanged and 200 with the new CRL once a revocation changed it (issue 15,
first hour 14; RFC 9110 13.1)."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from testkit.acme_client import AcmeClient, b64
from testkit.flows import crl_distribution_url, issue
from testkit.in_process_server import AcmeServer


def test_the_crl_revalidates_and_changes_with_each_revocation(
    server: AcmeServer, account: AcmeClient
) -> None:
    _, pem = issue(server, account, "crl-cache.acme.test")
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    url = crl_distribution_url(leaf)
    with httpx.Client(timeout=30) as http:
        first = http.get(url)
        assert first.status_code == 200
        assert first.headers["cache-control"] == "public, no-cache"
        assert "max-age" not in first.headers["cache-control"]
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        crl = x509.load_der_x509_crl(first.content)
        assert parsedate_to_datetime(modified) == crl.last_update_utc

        unchanged = http.get(url, headers={"If-None-Match": etag})
        assert (unchanged.status_code, unchanged.content) == (304, b"")
        assert unchanged.headers["etag"] == etag
        later = format_datetime(crl.last_update_utc + timedelta(days=365))
        assert http.get(url, headers={"If-Modified-Since": later}).status_code == 304
        assert http.get(url, headers={"If-Modified-Since": modified}).status_code == 200
        assert http.get(url, headers={"If-Modified-Since": "yesterday"}).status_code == 200

        revoked = account.post(
            account.directory["revokeCert"],
            {"certificate": b64(leaf.public_bytes(Encoding.DER)), "reason": 4},
        )
        assert revoked.status_code == 200, revoked.text
        after = http.get(url, headers={"If-None-Match": etag})
        assert after.status_code == 200 and after.headers["etag"] != etag
        listed = x509.load_der_x509_crl(after.content)
        assert listed.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
