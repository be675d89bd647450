"""The server the wire fuzz tests talk to, and what they know about it: a real uvicorn on
loopback (httptools or h11, SQLite or PostgreSQL), an ACME account with a pending order and
an issued certificate, a REST identity with its token, a REST-issued certificate and an EAB
credential; so that fuzzed paths can hold real ids and reach past the 404s.

    with wire_world(data_dir, "", "h11") as world:
        outcome = world.send(raw_request, label="acme")   # counted in world.tally
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient
from testkit.flows import issue
from testkit.in_process_server import AcmeServer
from tests.fuzz.wire import Outcome, Tally, exchange
from tests.fuzz.wire_parts import RawRequest
from tests.fuzz.wire_server import wire_server
from tests.rest.conftest import create_identity, login

API = "/api/v1/cert-manager"
DECOY_IDS = (b"00000000-0000-0000-0000-000000000000", b"0f2a6b6c-1d3e-4f50-8a9b-0c1d2e3f4a5b")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _last_segment(url: str) -> bytes:
    return urlsplit(url).path.rsplit("/", 1)[-1].encode()


def renewal_info_id(cert: x509.Certificate) -> bytes:
    """RFC 9773 4.1: base64url(AKI keyIdentifier) "." base64url(serial DER content)."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    serial = cert.serial_number
    return (
        _b64(aki.key_identifier or b"")
        + b"."
        + _b64(serial.to_bytes(serial.bit_length() // 8 + 1, "big"))
    )


@dataclass
class WireWorld:
    server: AcmeServer
    label: str  # backend and HTTP implementation, e.g. "sqlite/h11"
    port: int
    host: bytes  # the Host a well-behaved client sends
    account_key: ec.EllipticCurvePrivateKey
    account_kid: str
    stranger_key: ec.EllipticCurvePrivateKey  # a key with no account
    token: str  # a live REST access token
    client_id: str
    acme_ids: dict[str, tuple[bytes, ...]]  # ACME route parameter -> real values
    rest_ids: dict[str, tuple[bytes, ...]]  # REST and /pki/ route parameter -> real values
    tally: Tally = field(default_factory=Tally)  # everything sent to this server
    current: Tally | None = None  # and the running test's share
    _nonce: str | None = None

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def send(self, request: RawRequest, label: str) -> Outcome:
        outcome = exchange(
            self.port, request.data, head=request.head, half_close=request.half_close
        )
        for tally in (self.tally, self.current):
            if tally is not None:
                tally.record(request.data, outcome, f"{self.label} {label}")
        nonce = dict(outcome.headers).get(b"replay-nonce")
        if nonce is not None:
            self._nonce = nonce.decode("latin-1")
        return outcome

    def nonce(self) -> str:
        """A nonce the server has not seen used: the last one it handed out, else a new one
        from HEAD newNonce (a request like any other, counted)."""
        if self._nonce is None:
            head = b"HEAD /acme/default/new-nonce HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
            self.send(RawRequest(head % self.host, head=True), "newNonce")
        nonce, self._nonce = self._nonce or "", None
        return nonce


def _ids_of(http: httpx.Client, path: str, member: str) -> tuple[bytes, ...]:
    response = http.get(path)
    assert response.status_code == 200, response.text
    return tuple(str(item["id"]).encode() for item in response.json()[member])


def _rest_ids(server: AcmeServer, token: str) -> dict[str, tuple[bytes, ...]]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, timeout=30, headers=headers) as http:
        attributes = {"commonName": "wire.fuzz.example.com", "altNames": "wire.fuzz.example.com"}
        issued = http.post(
            f"{API}/certificates", json={"profileId": "default", "attributes": attributes}
        )
        assert issued.status_code == 200, issued.text
        profiles = _ids_of(http, f"{API}/certificate-profiles", "profiles")
        credential = http.post(
            f"{API}/certificate-profiles/{profiles[0].decode()}/eab-credentials", json={}
        )
        assert credential.status_code == 201, credential.text
        kid: str = credential.json()["kid"]
        cas = _ids_of(http, f"{API}/ca/internal", "cas")
        return {
            "ca_id": cas,
            "policy_id": _ids_of(http, f"{API}/certificate-policies", "policies"),
            "profile_id": (*profiles, b"default"),
            "certificate_id": _ids_of(http, f"{API}/certificates", "certificates"),
            "request_id": _ids_of(http, f"{API}/certificate-requests", "certificateRequests"),
            "kid": (kid.encode(),),
            "ext": (b"pem", b"der", b"crt", b"cer"),
        }


@contextmanager
def wire_world(
    data_dir: Path, database_url: str, http_impl: str, label: str
) -> Iterator[WireWorld]:
    """The server as `kms serve` runs it (proxy headers trusted from loopback, no Server
    header), with `http_impl` ("httptools" or "h11") parsing HTTP."""
    with wire_server(data_dir, database_url, http_impl) as server, server.http() as http:
        key = ec.generate_private_key(ec.SECP256R1())
        account = AcmeClient(http, server.directory_url, key)
        assert account.new_account().status_code == 201
        order, chain = issue(server, account, "issued.wire.example.com")
        cert = x509.load_pem_x509_certificates(chain.encode())[0]
        pending = account.new_order("pending.wire.example.com")
        assert pending.status_code == 201, pending.text
        authz_url = pending.json()["authorizations"][0]
        authz = account.get(authz_url).json()
        assert account.kid is not None
        acme_ids = {
            "profile": (b"default", b"eab", b"strict"),
            "account_id": (_last_segment(account.kid),),
            "order_id": (
                _last_segment(pending.headers["Location"]),
                _last_segment(order["finalize"].rsplit("/", 1)[0]),
            ),
            "authz_id": (_last_segment(authz_url),),
            "challenge_id": tuple(_last_segment(c["url"]) for c in authz["challenges"]),
            "certificate_id": (_last_segment(order["certificate"]),),
            "cert_id": (renewal_info_id(cert),),
        }
        identity, secret = create_identity(server, role="admin")  # every route, every object
        token = login(server, identity.client_id, secret)
        rest_ids = _rest_ids(server, token)
        rest_ids["identity_id"] = (identity.id.encode(),)
        port = urlsplit(server.base_url).port
        assert port is not None
        yield WireWorld(
            server=server,
            label=label,
            port=port,
            host=f"127.0.0.1:{port}".encode(),
            account_key=key,
            account_kid=account.kid,
            stranger_key=ec.generate_private_key(ec.SECP256R1()),
            token=token,
            client_id=identity.client_id,
            acme_ids=acme_ids,
            rest_ids=rest_ids,
        )
