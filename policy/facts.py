"""What a request asks for, as plain values: built by the caller from a CSR or an API body.

The policy package never parses certificates; `ca_core.csr` (or the REST layer) extracts
these facts and the caller adds what only it knows (the issuer's signature algorithm, the
effective TTL after profile defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pki_types.model import (
    ExtendedKeyUsage,
    KeyAlgorithm,
    KeyUsage,
    SignatureAlgorithm,
    SubjectAltName,
    SubjectAttributes,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFacts:
    """One certificate request.

    - `email_address`: the subject's emailAddress attribute ("" = absent).
    - `key_algorithm`: the subject public key; None = a key the model does not name, refused
      when the policy restricts key algorithms.
    - `signature_algorithm`: what the certificate will be signed with, i.e.
      `SignatureAlgorithm.for_signing_key(issuer key, hash)` (the leaf's own key when
      self-signed); None = unknown, refused when the policy restricts signature algorithms.
    - `ttl_seconds`: the validity asked for after profile defaults; None = not checked.
    - `is_ca`: the request asks for basicConstraints CA:TRUE.
    """

    subject: SubjectAttributes = field(default_factory=SubjectAttributes)
    email_address: str = ""
    sans: tuple[SubjectAltName, ...] = ()
    key_algorithm: KeyAlgorithm | None = None
    signature_algorithm: SignatureAlgorithm | None = None
    key_usages: frozenset[KeyUsage] = frozenset()
    extended_key_usages: frozenset[ExtendedKeyUsage] = frozenset()
    ttl_seconds: int | None = None
    is_ca: bool = False
