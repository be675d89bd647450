"""Closed sets shared by the policy engine, the CA core, the store and the server.

Values are the strings that appear in the REST API, the CLI and the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class KeyAlgorithm(StrEnum):
    RSA_2048 = "RSA_2048"
    RSA_3072 = "RSA_3072"
    RSA_4096 = "RSA_4096"
    EC_P256 = "EC_P256"
    EC_P384 = "EC_P384"
    EC_P521 = "EC_P521"

    @property
    def is_rsa(self) -> bool:
        return self.value.startswith("RSA_")


class HashAlgorithm(StrEnum):
    """The digest a signature is made over (the issuer's key type gives RSA or ECDSA)."""

    SHA256 = "SHA256"
    SHA384 = "SHA384"
    SHA512 = "SHA512"


class SignatureAlgorithm(StrEnum):
    """A certificate's signature: the signing key's family over a digest, e.g. "ECDSA-SHA384".

    The signing key is the issuer's (the CA that signs), or the leaf's own key when a profile
    is self-signed; RSA keys sign PKCS#1 v1.5, EC keys ECDSA.
    """

    RSA_SHA256 = "RSA-SHA256"
    RSA_SHA384 = "RSA-SHA384"
    RSA_SHA512 = "RSA-SHA512"
    ECDSA_SHA256 = "ECDSA-SHA256"
    ECDSA_SHA384 = "ECDSA-SHA384"
    ECDSA_SHA512 = "ECDSA-SHA512"

    @classmethod
    def for_signing_key(cls, key: KeyAlgorithm, digest: HashAlgorithm) -> SignatureAlgorithm:
        """The algorithm a key of this type signs with over this digest."""
        return cls(f"{'RSA' if key.is_rsa else 'ECDSA'}-{digest.value}")

    @property
    def hash_algorithm(self) -> HashAlgorithm:
        return HashAlgorithm(self.value.partition("-")[2])

    @property
    def is_rsa(self) -> bool:
        return self.value.startswith("RSA-")


class KeyUsage(StrEnum):
    """RFC 5280 section 4.2.1.3, named as the REST API names them."""

    DIGITAL_SIGNATURE = "digital_signature"
    NON_REPUDIATION = "non_repudiation"
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"
    ENCIPHER_ONLY = "encipher_only"
    DECIPHER_ONLY = "decipher_only"


class ExtendedKeyUsage(StrEnum):
    """RFC 5280 section 4.2.1.12, named as the REST API names them."""

    SERVER_AUTH = "server_auth"
    CLIENT_AUTH = "client_auth"
    CODE_SIGNING = "code_signing"
    EMAIL_PROTECTION = "email_protection"
    TIME_STAMPING = "time_stamping"
    OCSP_SIGNING = "ocsp_signing"


class SanType(StrEnum):
    DNS = "dns_name"
    IP = "ip_address"
    EMAIL = "email"
    URI = "uri"


@dataclass(frozen=True, slots=True)
class SubjectAltName:
    type: SanType
    value: str


class SubjectField(StrEnum):
    """The subject attributes a policy's `subject` rules govern (the common name has its own).

    `EMAIL` is the subject's emailAddress attribute (PKCS #9), not an email SAN.
    """

    ORGANIZATION = "organization"
    ORGANIZATIONAL_UNIT = "organizational_unit"
    COUNTRY = "country"
    STATE = "state"
    LOCALITY = "locality"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class SubjectAttributes:
    """A distinguished name given as attributes; empty strings mean absent."""

    common_name: str = ""
    organization: str = ""
    organizational_unit: str = ""
    country: str = ""
    state: str = ""
    locality: str = ""


class RevocationReason(StrEnum):
    """RFC 5280 section 5.3.1 CRLReason, as the REST API spells it."""

    UNSPECIFIED = "UNSPECIFIED"
    KEY_COMPROMISE = "KEY_COMPROMISE"
    CA_COMPROMISE = "CA_COMPROMISE"
    AFFILIATION_CHANGED = "AFFILIATION_CHANGED"
    SUPERSEDED = "SUPERSEDED"
    CESSATION_OF_OPERATION = "CESSATION_OF_OPERATION"
    CERTIFICATE_HOLD = "CERTIFICATE_HOLD"
    PRIVILEGE_WITHDRAWN = "PRIVILEGE_WITHDRAWN"
    A_A_COMPROMISE = "A_A_COMPROMISE"

    @property
    def code(self) -> int:
        """The RFC 5280 reason code (7 is unused, so REMOVE_FROM_CRL is 8 and aA 10)."""
        return _REASON_CODES[self]


_REASON_CODES: dict[RevocationReason, int] = {
    RevocationReason.UNSPECIFIED: 0,
    RevocationReason.KEY_COMPROMISE: 1,
    RevocationReason.CA_COMPROMISE: 2,
    RevocationReason.AFFILIATION_CHANGED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.CESSATION_OF_OPERATION: 5,
    RevocationReason.CERTIFICATE_HOLD: 6,
    RevocationReason.PRIVILEGE_WITHDRAWN: 9,
    RevocationReason.A_A_COMPROMISE: 10,
}


class CertificateStatus(StrEnum):
    PENDING = "pending"  # serial reserved, to-be-signed data stored, not yet signed
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


class RequestMethod(StrEnum):
    ACME = "acme"
    API_MANAGED = "api_managed"
    API_CSR = "api_csr"
    SYSTEM = "system"


class IssuerType(StrEnum):
    CA = "ca"
    SELF_SIGNED = "self_signed"
