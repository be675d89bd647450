"""api-managed and api-csr enrollment over the server's REST API.

    POST /api/v1/auth/universal-auth/login          client id + secret -> Bearer token
    POST /api/v1/auth/cert-auth/login               or a client-certificate proof (and
                                                    its rotation: agent/cert_login.py)
    GET  /api/v1/cert-manager/certificate-profiles/<profile>          (does it exist?)
    POST /api/v1/cert-manager/certificates          managed attributes, or a local CSR
    POST /api/v1/cert-manager/certificates/<serial>/revoke    {"revocationReason": ...}

api-managed: the server generates the key and returns it with the certificate. api-csr:
the key is generated here and only the CSR is sent.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpx

from agent import logs
from agent.cert_login import CertificateLogin
from agent.config import AgentConfig, AuthConfig, CertificateConfig, ClientCertificateAuth
from agent.errors import (
    CredentialsRefused,
    PermanentError,
    ProfileMissing,
    TransientError,
    message_of,
)
from agent.files import CertificateFiles, Installed, Material
from agent.keys import build_csr, generate_key, key_pem

API = "/api/v1"
TOKEN_MARGIN = 30.0  # seconds: log in again this long before the token expires
USER_AGENT = "kms-agent/0.1"
MAX_RENEWAL_LINKS = 20  # renewed-by links followed from the certificate on disk


def http_client(config: AgentConfig) -> httpx.Client:
    verify: ssl.SSLContext | bool = True
    if config.server.ca_bundle is not None:
        verify = ssl.create_default_context(cafile=str(config.server.ca_bundle))
    return httpx.Client(
        base_url=config.server.url,
        verify=verify,
        timeout=config.server.timeout,
        headers={"User-Agent": USER_AGENT},
    )


class RestClient:
    """The REST calls the agent makes, with its token kept between calls."""

    def __init__(self, config: AgentConfig, auth: AuthConfig | ClientCertificateAuth) -> None:
        self.config = config
        self.auth = auth
        self.http = http_client(config)
        self.cert_login = (
            CertificateLogin(config.server.url, self.http, auth)
            if isinstance(auth, ClientCertificateAuth)
            else None
        )
        self._token: str | None = None
        self._token_expires = 0.0

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return self.http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise TransientError(f"{method} {path}: {type(exc).__name__}: {exc}") from None

    def _check(self, response: httpx.Response, what: str) -> dict[str, Any]:
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise TransientError(f"{what}: server answered {status}: {message_of(response)}")
        if status >= 400:
            raise PermanentError(f"{what}: server answered {status}: {message_of(response)}")
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"{what}: the answer is not JSON") from None
        if not isinstance(body, dict):
            raise PermanentError(f"{what}: the answer is not a JSON object")
        return body

    def _login(self) -> str:
        if self._token is not None and time.monotonic() < self._token_expires:
            return self._token
        if self.cert_login is not None:
            body = self.cert_login.login(self._check)
        else:
            assert isinstance(self.auth, AuthConfig)
            response = self._send(
                "POST",
                f"{API}/auth/universal-auth/login",
                {"clientId": self.auth.client_id, "clientSecret": self.auth.client_secret},
            )
            if response.status_code == 401:
                raise CredentialsRefused(f"login refused: {message_of(response)}")
            body = self._check(response, "login")
        token = body.get("accessToken")
        if not isinstance(token, str):
            raise PermanentError("login: the answer has no accessToken")
        expires_in = body.get("expiresIn")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
        self._token = token
        self._token_expires = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN)
        return token

    def call(
        self, method: str, path: str, body: dict[str, Any] | None, what: str
    ) -> httpx.Response:
        """An authenticated call; a 401 logs in once more (the token may have been revoked)."""
        for attempt in (1, 2):
            token = self._login()
            try:
                response = self.http.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.TransportError as exc:
                raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from None
            if response.status_code == 401 and attempt == 1:
                self._token = None
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def check_profile(self, profile: str) -> None:
        """ProfileMissing when the server has no such profile."""
        what = f"profile {profile!r}"
        response = self.call(
            "GET", f"{API}/cert-manager/certificate-profiles/{profile}", None, what
        )
        if response.status_code == 404:
            raise ProfileMissing(f"the server has no certificate profile {profile!r}")
        self._check(response, what)

    def enroll(self, cert: CertificateConfig) -> Material:
        attributes: dict[str, Any] = {}
        if cert.ttl:
            attributes["ttl"] = cert.ttl
        if cert.key_usages is not None:
            attributes["keyUsages"] = list(cert.key_usages)
        if cert.extended_key_usages is not None:
            attributes["extendedKeyUsages"] = list(cert.extended_key_usages)
        body: dict[str, Any] = {"profileId": cert.profile}
        if cert.metadata:
            body["metadata"] = dict(cert.metadata)
        local_key: str | None = None
        if cert.enrollment == "api-csr":
            assert cert.key_algorithm is not None
            key = generate_key(cert.key_algorithm)
            local_key = key_pem(key)
            body["csr"] = build_csr(key, cert.common_name, cert.alt_names, cert.subject)
        else:
            if cert.common_name:
                attributes["commonName"] = cert.common_name
            if cert.alt_names:
                attributes["altNames"] = ", ".join(cert.alt_names)
            if cert.key_algorithm:
                attributes["keyAlgorithm"] = cert.key_algorithm
            attributes.update(cert.subject)
        if attributes:
            body["attributes"] = attributes
        what = f"issue {cert.name}"
        response = self.call("POST", f"{API}/cert-manager/certificates", body, what)
        if response.status_code == 404:
            raise ProfileMissing(f"{what}: {message_of(response)}")
        return self._material(self._check(response, what), what, local_key)

    def renew(self, certificate_id: str) -> Material:
        """POST .../certificates/<id>/renew: same profile and attributes, a fresh key."""
        what = f"renew {certificate_id}"
        path = f"{API}/cert-manager/certificates/{certificate_id}/renew"
        return self._material(self._check(self.call("POST", path, None, what), what), what, None)

    def _material(self, body: dict[str, Any], what: str, local_key: str | None) -> Material:
        issued = body.get("certificate")
        if not isinstance(issued, dict) or not isinstance(issued.get("certificate"), str):
            raise PermanentError(f"{what}: the answer has no certificate")
        private_key = local_key if local_key is not None else issued.get("privateKey")
        if not isinstance(private_key, str):
            raise PermanentError(f"{what}: the server sent no private key for a managed key")
        chain = issued.get("certificateChain")
        certificate_id = issued.get("certificateId")
        return Material(
            certificate_pem=issued["certificate"],
            chain_pem=chain if isinstance(chain, str) else "",
            private_key_pem=private_key,
            certificate_id=certificate_id if isinstance(certificate_id, str) else None,
        )

    def _get(self, path: str, what: str) -> dict[str, Any]:
        return self._check(self.call("GET", f"{API}/cert-manager/{path}", None, what), what)

    def renewed_by_server(self, certificate_id: str) -> Material | None:
        """The newest active certificate the server renewed `certificate_id` into (its
        auto-renewal, or a renewal an operator asked for), with its key; None if none."""
        newest: dict[str, Any] | None = None
        ref = certificate_id
        for _ in range(MAX_RENEWAL_LINKS):
            record = self._get(f"certificates/{ref}", f"look up certificate {ref}")
            following = record.get("renewedById")
            if not isinstance(following, str):
                break
            ref = following
            newest = self._get(f"certificates/{ref}", f"look up certificate {ref}")
        if newest is None or newest.get("status") != "active":
            return None
        bundle = self._get(f"certificates/{newest['id']}/bundle", "fetch the renewed bundle")
        key, pem = bundle.get("privateKey"), bundle.get("certificate")
        if not isinstance(key, str) or not isinstance(pem, str):
            return None
        chain = bundle.get("certificateChain")
        return Material(
            certificate_pem=pem,
            chain_pem=chain if isinstance(chain, str) else "",
            private_key_pem=key,
            certificate_id=str(newest["id"]),
        )

    def revoke(self, serial_hex: str, reason: str = "SUPERSEDED") -> None:
        """Revoke by serial; a certificate already revoked (409) counts as done."""
        what = f"revoke {serial_hex}"
        response = self.call(
            "POST",
            f"{API}/cert-manager/certificates/{serial_hex}/revoke",
            {"revocationReason": reason},
            what,
        )
        if response.status_code == 409:
            return
        self._check(response, what)


class RestEnroller:
    """The daemon's view of REST enrollment (one client shared by every REST certificate)."""

    def __init__(self, config: AgentConfig) -> None:
        assert config.auth is not None, "parse_config requires auth for REST enrollment"
        self.client = RestClient(config, config.auth)

    def check(self, cert: CertificateConfig) -> None:
        self.client.check_profile(cert.profile)

    def obtain(self, cert: CertificateConfig, files: CertificateFiles) -> Material:
        """api-managed with an unchanged configuration: the server's renew (the inventory
        links the two certificates); otherwise, or when the server will not renew it, a
        new issuance."""
        current = files.current()
        if (
            cert.enrollment == "api-managed"
            and current is not None
            and current.certificate_id is not None
            and current.meta.get("requestDigest") == cert.request_digest()
        ):
            try:
                return self.client.renew(current.certificate_id)
            except PermanentError as exc:
                logs.warning(
                    "certificate.renew_refused",
                    f"the server would not renew {cert.name} ({exc}); issuing a new one",
                    certificate=cert.name,
                )
        return self.client.enroll(cert)

    def revoke(self, cert: CertificateConfig, old: Installed) -> None:
        self.client.revoke(old.serial_hex)

    def server_renewed(self, cert: CertificateConfig, current: Installed) -> Material | None:
        """api-managed only: the server holds the key, so it may have renewed it itself."""
        if cert.enrollment != "api-managed" or current.certificate_id is None:
            return None
        return self.client.renewed_by_server(current.certificate_id)

    def renewal_hint(self, cert: CertificateConfig, current: Installed) -> str | None:
        return None

    def close(self) -> None:
        self.client.close()
