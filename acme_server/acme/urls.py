"""Every ACME URL, per profile, from the one configured external base URL.

The JWS `url` header must equal the URL the client was given (RFC 8555 6.4); building both
from the same base keeps that true behind reverse proxies and load balancers.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DIRECTORY_PATH = "/acme/directory"


@dataclass(frozen=True, slots=True)
class AcmeUrls:
    base_url: str  # e.g. https://ca.example.internal (no trailing slash)
    profile: str  # the profile slug

    @property
    def prefix(self) -> str:
        return f"{self.base_url}/acme/{self.profile}"

    @property
    def directory(self) -> str:
        return f"{self.prefix}/directory"

    @property
    def new_nonce(self) -> str:
        return f"{self.prefix}/new-nonce"

    @property
    def new_account(self) -> str:
        return f"{self.prefix}/new-account"

    @property
    def new_order(self) -> str:
        return f"{self.prefix}/new-order"

    @property
    def revoke_cert(self) -> str:
        return f"{self.prefix}/revoke-cert"

    @property
    def key_change(self) -> str:
        return f"{self.prefix}/key-change"

    @property
    def renewal_info(self) -> str:
        return f"{self.prefix}/renewal-info"

    def account(self, account_id: str) -> str:
        return f"{self.prefix}/account/{account_id}"

    def account_orders(self, account_id: str) -> str:
        return f"{self.prefix}/account/{account_id}/orders"

    def order(self, order_id: str) -> str:
        return f"{self.prefix}/order/{order_id}"

    def finalize(self, order_id: str) -> str:
        return f"{self.prefix}/order/{order_id}/finalize"

    def authorization(self, authz_id: str) -> str:
        return f"{self.prefix}/authz/{authz_id}"

    def challenge(self, challenge_id: str) -> str:
        return f"{self.prefix}/chall/{challenge_id}"

    def certificate(self, certificate_id: str) -> str:
        return f"{self.prefix}/cert/{certificate_id}"

    def account_id_from_kid(self, kid: str) -> str | None:
        """The account id in a `kid` URL of this profile, or None if it is not one."""
        head = f"{self.prefix}/account/"
        if not kid.startswith(head):
            return None
        account_id = kid[len(head) :]
        return account_id if account_id and "/" not in account_id else None
