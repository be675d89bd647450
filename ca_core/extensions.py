"""X.509 extensions shared by CA and leaf certificates (RFC 5280 section 4.2)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from ca_core.errors import CAError
from ca_core.keys import PublicKey
from pki_types.model import ExtendedKeyUsage, KeyUsage

_URL_SCHEMES = ("http", "https", "ldap")
EKU_OIDS: dict[ExtendedKeyUsage, x509.ObjectIdentifier] = {
    ExtendedKeyUsage.SERVER_AUTH: ExtendedKeyUsageOID.SERVER_AUTH,
    ExtendedKeyUsage.CLIENT_AUTH: ExtendedKeyUsageOID.CLIENT_AUTH,
    ExtendedKeyUsage.CODE_SIGNING: ExtendedKeyUsageOID.CODE_SIGNING,
    ExtendedKeyUsage.EMAIL_PROTECTION: ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ExtendedKeyUsage.TIME_STAMPING: ExtendedKeyUsageOID.TIME_STAMPING,
    ExtendedKeyUsage.OCSP_SIGNING: ExtendedKeyUsageOID.OCSP_SIGNING,
}
_EKU_BY_OID = {oid: eku for eku, oid in EKU_OIDS.items()}


def subject_key_identifier(public_key: PublicKey) -> x509.SubjectKeyIdentifier:
    """RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits."""
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """RFC 5280 4.2.1.1: the issuer's SKI (or one computed from its key if it has none)."""
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.public_key()  # type: ignore[arg-type]
        )
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def policy_oid(text: str) -> x509.ObjectIdentifier:
    """A certificate policy OID in dotted form (RFC 5280 4.2.1.4), or CAError."""
    parts = text.split(".")
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise CAError(f"invalid certificate policy OID {text!r}: expected a dotted OID")
    try:
        return x509.ObjectIdentifier(text)
    except ValueError as exc:
        raise CAError(f"invalid certificate policy OID {text!r}: {exc}") from None


def certificate_policies(oids: Sequence[str]) -> x509.CertificatePolicies:
    """RFC 5280 4.2.1.4: the policy OIDs, without qualifiers (BR 7.1.2.7.9)."""
    return x509.CertificatePolicies(
        [x509.PolicyInformation(policy_oid(oid), policy_qualifiers=None) for oid in oids]
    )


def crl_distribution_points(urls: Sequence[str]) -> x509.CRLDistributionPoints:
    """RFC 5280 4.2.1.13: one distribution point naming every URL."""
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(_url(u)) for u in urls]
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint(full_name=names, relative_name=None, reasons=None, crl_issuer=None)]
    )


def aia_ca_issuers(urls: Sequence[str]) -> x509.AuthorityInformationAccess:
    """RFC 5280 4.2.2.1: where the issuer's certificate can be fetched."""
    return x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(_url(u))
            )
            for u in urls
        ]
    )


def add_distribution(
    builder: x509.CertificateBuilder, crl_urls: Sequence[str], aia_issuer_urls: Sequence[str]
) -> x509.CertificateBuilder:
    """Add CRL distribution points and AIA caIssuers when URLs are given."""
    if crl_urls:
        builder = builder.add_extension(crl_distribution_points(crl_urls), critical=False)
    if aia_issuer_urls:
        builder = builder.add_extension(aia_ca_issuers(aia_issuer_urls), critical=False)
    return builder


def basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    """The certificate's BasicConstraints, or None if absent."""
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def key_usage_extension(usages: frozenset[KeyUsage]) -> x509.KeyUsage:
    """RFC 5280 4.2.1.3 for a leaf: keyCertSign refused, *_only need keyAgreement."""
    if KeyUsage.KEY_CERT_SIGN in usages:
        raise CAError("key_cert_sign is only for CA certificates (RFC 5280 4.2.1.3)")
    only = usages & {KeyUsage.ENCIPHER_ONLY, KeyUsage.DECIPHER_ONLY}
    if only and KeyUsage.KEY_AGREEMENT not in usages:
        names = " and ".join(sorted(only))
        raise CAError(f"{names} requires key_agreement (RFC 5280 4.2.1.3)")
    return x509.KeyUsage(
        digital_signature=KeyUsage.DIGITAL_SIGNATURE in usages,
        content_commitment=KeyUsage.NON_REPUDIATION in usages,
        key_encipherment=KeyUsage.KEY_ENCIPHERMENT in usages,
        data_encipherment=KeyUsage.DATA_ENCIPHERMENT in usages,
        key_agreement=KeyUsage.KEY_AGREEMENT in usages,
        key_cert_sign=False,
        crl_sign=KeyUsage.CRL_SIGN in usages,
        encipher_only=KeyUsage.ENCIPHER_ONLY in usages,
        decipher_only=KeyUsage.DECIPHER_ONLY in usages,
    )


def key_usages_of(ku: x509.KeyUsage) -> frozenset[KeyUsage]:
    """The policy names of the bits set in a KeyUsage extension."""
    found = {
        KeyUsage.DIGITAL_SIGNATURE: ku.digital_signature,
        KeyUsage.NON_REPUDIATION: ku.content_commitment,
        KeyUsage.KEY_ENCIPHERMENT: ku.key_encipherment,
        KeyUsage.DATA_ENCIPHERMENT: ku.data_encipherment,
        KeyUsage.KEY_AGREEMENT: ku.key_agreement,
        KeyUsage.KEY_CERT_SIGN: ku.key_cert_sign,
        KeyUsage.CRL_SIGN: ku.crl_sign,
        KeyUsage.ENCIPHER_ONLY: ku.key_agreement and ku.encipher_only,
        KeyUsage.DECIPHER_ONLY: ku.key_agreement and ku.decipher_only,
    }
    return frozenset(usage for usage, present in found.items() if present)


def extended_key_usage_extension(usages: frozenset[ExtendedKeyUsage]) -> x509.ExtendedKeyUsage:
    """RFC 5280 4.2.1.12, in a stable order."""
    return x509.ExtendedKeyUsage([EKU_OIDS[e] for e in sorted(usages)])


def extended_key_usages_of(eku: x509.ExtendedKeyUsage) -> frozenset[ExtendedKeyUsage]:
    """The policy names of an ExtendedKeyUsage extension; unknown OIDs are refused."""
    unknown = [oid.dotted_string for oid in eku if oid not in _EKU_BY_OID]
    if unknown:
        supported = ", ".join(e.value for e in ExtendedKeyUsage)
        raise CAError(
            f"unsupported extended key usage {', '.join(unknown)}; supported: {supported}"
        )
    return frozenset(_EKU_BY_OID[oid] for oid in eku)


def _url(url: str) -> str:
    parts = urlsplit(url)
    clean = url.isascii() and url.isprintable() and " " not in url
    if parts.scheme not in _URL_SCHEMES or not parts.netloc or not clean:
        raise CAError(
            f'invalid URL "{url}": expected an absolute http, https or ldap URL '
            'such as "http://pki.example.com/ca.crl"'
        )
    return url
