"""The agent's client-certificate login, rotating the certificate when it is due.

    login = CertificateLogin(server_url, http, auth)
    body = login.login(check)   # the login answer (accessToken, expiresIn, ...)

Due means: the server answers credentialState "warning" or "expiring" (or refuses the
login because the certificate is inside its expiry period), or less than the configured
rotate-before is left. Then a new key is made here, its CSR sent to the rotate endpoint
under a proof signed with the current key, the new certificate and key written
(agent/cert_auth.py), and the agent logs in again with them: that first login is what
lets the server revoke the old certificate.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from agent import logs
from agent.cert_auth import (
    JOSE_JSON,
    LOGIN_PATH,
    ROTATE_PATH,
    CertificateCredential,
    key_algorithm,
    sign_proof,
)
from agent.config import ClientCertificateAuth
from agent.errors import (
    CredentialsRefused,
    EnrollmentError,
    PermanentError,
    TransientError,
    message_of,
)
from agent.keys import PrivateKey

Check = Callable[[httpx.Response, str], dict[str, Any]]
ROTATION_REQUIRED = "rotation_required"  # the server's details.reason for an expiring login
DUE_STATES = ("warning", "expiring")


def _rotation_required(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    details = body.get("details") if isinstance(body, dict) else None
    return isinstance(details, dict) and details.get("reason") == ROTATION_REQUIRED


def _csr(key: PrivateKey, leaf: x509.Certificate) -> str:
    """A CSR for the new key with the current certificate's subject and names."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(leaf.subject)
    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        pass
    else:
        builder = builder.add_extension(sans.value, critical=False)
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(der).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class _Refused:
    message: str
    rotate: bool  # refused for expiry: rotating will let the next login in


class CertificateLogin:
    def __init__(self, server_url: str, http: httpx.Client, auth: ClientCertificateAuth) -> None:
        self.server_url = server_url
        self.http = http
        self.credential = CertificateCredential(auth)

    def _load(self) -> tuple[PrivateKey, list[x509.Certificate]]:
        try:
            return self.credential.load()
        except (OSError, ValueError) as exc:
            raise PermanentError(f"client certificate: {exc}") from None

    def _post(
        self,
        path: str,
        key: PrivateKey,
        chain: list[x509.Certificate],
        payload: dict[str, Any] | None = None,
    ) -> httpx.Response:
        proof = sign_proof(key, chain, self.server_url + path, payload)
        try:
            return self.http.post(
                path, content=json.dumps(proof), headers={"Content-Type": JOSE_JSON}
            )
        except httpx.TransportError as exc:
            raise TransientError(f"POST {path}: {type(exc).__name__}: {exc}") from None

    def rotate(self, check: Check) -> None:
        """Rotate now: new key, new certificate, both written (see the module docstring)."""
        key, chain = self._load()
        new_key = self.credential.stage_key(key_algorithm(key))
        response = self._post(ROTATE_PATH, key, chain, {"csr": _csr(new_key, chain[0])})
        if response.status_code == 401:
            raise CredentialsRefused(f"rotation refused: {message_of(response)}")
        body = check(response, "rotate client certificate")
        certificate, issuers = body.get("certificate"), body.get("certificateChain", "")
        if not isinstance(certificate, str) or not isinstance(issuers, str):
            raise PermanentError("rotate client certificate: the answer has no certificate")
        try:
            self.credential.install(certificate + issuers)
        except ValueError as exc:
            raise EnrollmentError(f"rotate client certificate: {exc}") from None
        except OSError as exc:
            raise PermanentError(f"client certificate: cannot write it: {exc}") from None
        logs.info(
            "credential.rotated",
            "client certificate rotated",
            serial=body.get("serialNumber"),
            not_after=body.get("notAfter"),
            path=str(self.credential.auth.certificate),
        )

    def _login_once(self, check: Check) -> dict[str, Any] | _Refused:
        key, chain = self._load()
        response = self._post(LOGIN_PATH, key, chain)
        if response.status_code == 401:
            return _Refused(message_of(response), _rotation_required(response))
        return check(response, "login")

    def login(self, check: Check) -> dict[str, Any]:
        """The login answer; rotates first when the server refuses an expiring
        certificate, and after a login that reports the certificate due."""
        answer = self._login_once(check)
        if isinstance(answer, _Refused):
            if not answer.rotate:
                raise CredentialsRefused(f"login refused: {answer.message}")
            self.rotate(check)
            answer = self._login_once(check)
            if isinstance(answer, _Refused):
                raise CredentialsRefused(f"login refused after rotation: {answer.message}")
            return answer
        _, chain = self._load()
        if answer.get("credentialState") not in DUE_STATES and not self.credential.due_locally(
            chain[0]
        ):
            return answer
        try:
            self.rotate(check)
            again = self._login_once(check)
        except EnrollmentError as exc:
            logs.warning(
                "credential.rotation_failed",
                f"client certificate rotation failed, still using the current one: {exc}",
            )
            return answer
        if isinstance(again, _Refused):
            logs.warning(
                "credential.rotation_failed", f"login with the new certificate: {again.message}"
            )
            return answer
        return again
