"""acme enrollment: the agent is an RFC 8555 client built on certbot's `acme` library.

- The ACME directory is the profile's (`<server>/acme/<profile>/directory`) unless
  `acme.directory` names another.
- The account key (ECDSA P-256, ES256) and the account URL are kept in
  `<state-dir>/certs/<name>/acme-account.json` (0600), so an External Account Binding
  key -- often single-use -- is used once, when the account is created.
- HTTP-01: for each pending authorization the agent serves the key authorization on
  `acme.http01-address`:`acme.http01-port` (port 80 by default, which the server connects
  to) for as long as the order takes, with acme.standalone's HTTP-01 server.
- The certificate key is generated here (the CSR carries only its public half); the
  validity is the profile's default.
- revoke-superseded revokes through revokeCert, signed by the account key, reason 4
  (superseded, RFC 5280 section 5.3.1).
"""

from __future__ import annotations

import json
import os
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from acme import challenges, client, errors, messages, standalone
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from josepy.jwa import ES256
from josepy.jwk import JWK, JWKEC

from agent.config import AgentConfig, CertificateConfig
from agent.errors import PermanentError, ProfileMissing, TransientError
from agent.files import KEY_MODE, CertificateFiles, Installed, Material, write_file
from agent.keys import build_csr, generate_key, key_pem

ACCOUNT_FILE = "acme-account.json"
ORDER_TIMEOUT = timedelta(seconds=90)
SUPERSEDED = 4  # RFC 5280 CRLReason superseded
USER_AGENT = "kms-agent/0.1 acme-python"
_TRANSIENT_PROBLEMS = {"serverInternal", "rateLimited", "badNonce"}


def _split_chain(fullchain_pem: str) -> tuple[str, str]:
    """(leaf PEM, the rest) of a PEM certificate chain."""
    marker = "-----END CERTIFICATE-----"
    head, sep, rest = fullchain_pem.partition(marker)
    if not sep:
        raise PermanentError("the ACME server sent no certificate")
    return head.strip() + "\n" + marker + "\n", rest.strip()


class AcmeEnroller:
    def __init__(self, config: AgentConfig, cert: CertificateConfig) -> None:
        assert cert.acme is not None
        self.config = config
        self.settings = cert.acme
        self.directory_url = (
            cert.acme.directory or f"{config.server.url}/acme/{cert.profile}/directory"
        )

    def close(self) -> None:
        pass

    # --- the account -------------------------------------------------------------------------

    def _network(self, key: JWK, account: messages.RegistrationResource | None) -> Any:
        net = client.ClientNetwork(
            key,
            account=account,
            alg=ES256,
            user_agent=USER_AGENT,
            timeout=int(self.config.server.timeout),
        )
        if self.config.server.ca_bundle is not None:
            # requests takes a CA bundle path where the library's annotation says bool
            net.verify_ssl = str(self.config.server.ca_bundle)  # type: ignore[assignment]
        return net

    def _account(self, files: CertificateFiles) -> tuple[JWK, dict[str, Any] | None]:
        path = files.root / ACCOUNT_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            key = JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
            files.root.mkdir(parents=True, exist_ok=True)
            self._save(files, key, None)
            return key, None
        loaded = JWK.from_json(data["key"])
        assert isinstance(loaded, JWK)
        return loaded, data.get("account")

    def _save(self, files: CertificateFiles, key: JWK, account: dict[str, Any] | None) -> None:
        path = files.root / ACCOUNT_FILE
        temporary = path.with_name(f".{ACCOUNT_FILE}.{os.getpid()}")
        temporary.unlink(missing_ok=True)
        body = {"key": key.to_json(), "account": account, "directory": self.directory_url}
        write_file(temporary, json.dumps(body).encode(), KEY_MODE)
        os.replace(temporary, path)

    def _client(self, files: CertificateFiles) -> tuple[client.ClientV2, JWK]:
        key, saved = self._account(files)
        regr = None if saved is None else messages.RegistrationResource.from_json(saved)
        net = self._network(key, regr)
        directory = client.ClientV2.get_directory(self.directory_url, net)
        acme = client.ClientV2(directory, net)
        if regr is None:
            eab = None
            if self.settings.eab_kid and self.settings.eab_hmac_key:
                eab = messages.ExternalAccountBinding.from_data(
                    account_public_key=key.public_key(),
                    kid=self.settings.eab_kid,
                    hmac_key=self.settings.eab_hmac_key,
                    directory=directory,
                )
            registration = messages.NewRegistration.from_data(
                email=self.settings.contact,
                terms_of_service_agreed=True,
                external_account_binding=eab,
            )
            try:
                regr = acme.new_account(registration)
            except errors.ConflictError as exc:  # the key has an account already
                regr = messages.RegistrationResource(uri=str(exc), body=messages.Registration())
                net.account = regr
            self._save(files, key, regr.to_json())
        return acme, key

    # --- the daemon's interface --------------------------------------------------------------

    def check(self, cert: CertificateConfig) -> None:
        verify: ssl.SSLContext | bool = True
        if self.config.server.ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(self.config.server.ca_bundle))
        try:
            response = httpx.get(
                self.directory_url, verify=verify, timeout=self.config.server.timeout
            )
        except httpx.TransportError as exc:
            raise TransientError(f"ACME directory {self.directory_url}: {exc}") from None
        if response.status_code == 404:
            raise ProfileMissing(f"no ACME directory at {self.directory_url}")
        if response.status_code >= 400:
            raise TransientError(f"ACME directory {self.directory_url}: {response.status_code}")

    def server_renewed(self, cert: CertificateConfig, current: Installed) -> Material | None:
        return None

    def renewal_hint(self, cert: CertificateConfig, current: Installed) -> str | None:
        """ACME Renewal Information (RFC 9773): a reason to renew now when the directory
        has `renewalInfo` and the time the library picked in its suggested window has come;
        None otherwise (no ARI, not yet, or the server did not answer)."""
        pem = (current.directory / "cert.pem").read_bytes()
        try:
            net = client.ClientNetwork(None, user_agent=USER_AGENT, timeout=10)
            if self.config.server.ca_bundle is not None:
                net.verify_ssl = str(self.config.server.ca_bundle)  # type: ignore[assignment]
            directory = client.ClientV2.get_directory(self.directory_url, net)
            when, _ = client.ClientV2(directory, net).renewal_time(pem)  # None without ARI
        except (errors.Error, messages.Error, OSError, ValueError, x509.ExtensionNotFound):
            return None  # no AKI, no answer: the agent's own schedule decides
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when <= datetime.now(UTC):
            return f"the server's renewal information (ARI) suggests renewing since {when}"
        return None

    def obtain(self, cert: CertificateConfig, files: CertificateFiles) -> Material:
        try:
            return self._obtain(cert, files)
        except messages.Error as exc:
            kind = exc.code or ""
            text = f"ACME {kind or 'error'}: {exc.detail or exc}"
            raise (TransientError if kind in _TRANSIENT_PROBLEMS else PermanentError)(
                text
            ) from None
        except errors.ValidationError as exc:
            failed = [
                f"{authzr.body.identifier.value}: {challb.error}"
                for authzr in exc.failed_authzrs
                for challb in authzr.body.challenges
                if challb.error is not None
            ]
            raise PermanentError(f"ACME validation failed: {'; '.join(failed) or exc}") from None
        except errors.TimeoutError as exc:
            raise TransientError(f"ACME order timed out: {exc}") from None
        except errors.Error as exc:
            raise PermanentError(f"ACME: {exc}") from None
        except OSError as exc:  # requests' errors are OSErrors; so is a busy HTTP-01 port
            raise TransientError(f"ACME: {type(exc).__name__}: {exc}") from None

    def _obtain(self, cert: CertificateConfig, files: CertificateFiles) -> Material:
        assert cert.key_algorithm is not None
        acme, account_key = self._client(files)
        key = generate_key(cert.key_algorithm)
        csr = build_csr(key, cert.common_name, cert.alt_names, cert.subject)
        order = acme.new_order(csr.encode("ascii"))
        resources: set[standalone.HTTP01RequestHandler.HTTP01Resource] = set()
        answers: list[tuple[messages.ChallengeBody, challenges.ChallengeResponse]] = []
        for authzr in order.authorizations:
            if authzr.body.status == messages.STATUS_VALID:
                continue
            http01 = [c for c in authzr.body.challenges if isinstance(c.chall, challenges.HTTP01)]
            if not http01:
                name = authzr.body.identifier.value
                raise PermanentError(f"the server offers no http-01 challenge for {name}")
            challb = http01[0]
            response, validation = challb.response_and_validation(account_key)
            resources.add(
                standalone.HTTP01RequestHandler.HTTP01Resource(
                    chall=challb.chall, response=response, validation=validation
                )
            )
            answers.append((challb, response))
        servers = None
        if answers:
            address = (self.settings.http01_address, self.settings.http01_port)
            servers = standalone.HTTP01DualNetworkedServers(address, resources)
            servers.serve_forever()
        try:
            for challb, response in answers:
                acme.answer_challenge(challb, response)
            deadline = datetime.now() + ORDER_TIMEOUT
            order = acme.poll_and_finalize(order, deadline)
        finally:
            if servers is not None:
                servers.shutdown_and_server_close()
        if not order.fullchain_pem:
            raise PermanentError("the ACME order finished without a certificate")
        leaf, chain = _split_chain(order.fullchain_pem)
        return Material(certificate_pem=leaf, chain_pem=chain, private_key_pem=key_pem(key))

    def revoke(self, cert: CertificateConfig, old: Installed) -> None:
        files = CertificateFiles(self.config.state_dir, cert)
        try:
            acme, _ = self._client(files)
            acme.revoke(old.leaf, SUPERSEDED)
        except messages.Error as exc:
            if exc.code == "alreadyRevoked":
                return
            kind = exc.code or ""
            text = f"ACME revocation: {kind}: {exc.detail or exc}"
            raise (TransientError if kind in _TRANSIENT_PROBLEMS else PermanentError)(
                text
            ) from None
        except errors.Error as exc:
            raise PermanentError(f"ACME revocation: {exc}") from None
        except OSError as exc:
            raise TransientError(f"ACME revocation: {type(exc).__name__}: {exc}") from None
