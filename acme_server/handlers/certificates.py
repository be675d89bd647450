"""RFC 8555 7.4 finalize, 7.4.2 certificate download, 7.6 revokeCert."""

from __future__ import annotations

import binascii
import logging
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.utils import CryptographyDeprecationWarning
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from acme_server.handlers.caa import check_order_caa
from acme_server.handlers.common import AcmeRequest, acme_json, link, verified
from acme_server.handlers.orders import order_json, order_status, owned_order
from acme_server.handlers.ownership import account_may_act_on
from acme_server.handlers.renewal_info import issue_for_order
from acme_server.jose import b64url_decode
from acme_server.problems import (
    ACME_ERROR,
    AcmeProblem,
    already_revoked,
    bad_csr,
    bad_public_key,
    bad_revocation_reason,
    malformed,
    not_found,
    order_not_ready,
    unauthorized,
)
from acme_server.services.errors import ConflictError, InvalidRequestError
from acme_server.services.finalize_recovery import (
    INTERRUPTED,
    interrupted_problem,
    revoke_orphan,
)
from acme_server.services.issuance import IssueSpec
from acme_server.services.policies import load_policy, policy_violations
from acme_server.services.profile_defaults import profile_defaults
from acme_server.services.revocation import revoke
from ca_core.csr import CsrFacts, csr_facts, load_csr
from ca_core.errors import BadCSR, BadKey, CAError
from ca_core.export import certificates_pem
from ca_core.goodkey import KeyBlocklist
from ca_core.serials import serial_to_hex
from pki_types.model import RequestMethod, RevocationReason, SanType, SubjectAttributes
from store import CertificateRecord, NotFound, OrderRecord

log = logging.getLogger(__name__)

PEM_CHAIN = "application/pem-certificate-chain"
PKIX_CERT = "application/pkix-cert"
MAX_CN_LENGTH = 64  # RFC 5280 ub-common-name
# RFC 5280 5.3.1 codes a subscriber may give (RFC 8555 7.6); 2 (cA) and 8 (removeFromCRL) are not.
SUBSCRIBER_REASONS = {
    0: RevocationReason.UNSPECIFIED,
    1: RevocationReason.KEY_COMPROMISE,
    3: RevocationReason.AFFILIATION_CHANGED,
    4: RevocationReason.SUPERSEDED,
    5: RevocationReason.CESSATION_OF_OPERATION,
    9: RevocationReason.PRIVILEGE_WITHDRAWN,
}


def _spki(key: object) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined,no-any-return]


def _csr_facts(payload: dict[str, object] | None, blocklist: KeyBlocklist) -> CsrFacts:
    raw = (payload or {}).get("csr")
    if not isinstance(raw, str):
        raise malformed("finalize needs the CSR as base64url DER in csr")
    try:
        der = b64url_decode(raw)
    except (ValueError, binascii.Error):
        raise bad_csr("the CSR is not base64url") from None
    try:
        return csr_facts(load_csr(der), blocklist)
    except BadKey as exc:
        raise bad_public_key(str(exc)) from None
    except (BadCSR, CAError) as exc:
        raise bad_csr(str(exc)) from None


def _check_names(facts: CsrFacts, order: OrderRecord) -> None:
    """RFC 8555 7.4: the CSR asks for exactly the order's identifiers."""
    wanted = {(i["type"], i["value"]) for i in order.identifiers}
    asked: set[tuple[str, str]] = set()
    for san in facts.sans:
        if san.type == SanType.DNS:
            asked.add(("dns", san.value.lower()))
        elif san.type == SanType.IP:
            asked.add(("ip", san.value))
        else:
            raise bad_csr(
                f"the CSR asks for a {san.type.value} name, which ACME orders cannot hold"
            )
    cn = facts.subject.common_name.lower()
    if cn and ("dns", cn) not in wanted and ("ip", cn) not in wanted:
        raise bad_csr(f"the CSR's common name {cn!r} is not one of the order's identifiers")
    if asked != wanted:
        missing = sorted(v for _, v in wanted - asked)
        extra = sorted(v for _, v in asked - wanted)
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"not in the order: {', '.join(extra)}"] if extra else []
        )
        raise bad_csr("the CSR's names differ from the order's identifiers: " + "; ".join(parts))


async def finalize(request: Request) -> JSONResponse:
    req = await verified(request, "kid")
    account = req.post.require_account()
    order = await owned_order(req, request.path_params["order_id"])
    now = datetime.now(UTC)
    status = order_status(order, now)
    if status != "ready":
        raise order_not_ready(f"the order is {status}, not ready")
    facts = _csr_facts(req.post.payload, req.services.key_blocklist)
    if _spki(facts.public_key) == _spki(req.post.key.public_key):
        raise bad_csr("the CSR's public key must not be the account key")
    _check_names(facts, order)
    policy = await load_policy(req.services, req.profile)
    spec = _issue_spec(req, order, facts, policy.max_ttl_seconds)
    violations = await policy_violations(req.services, req.profile, policy, spec)
    if violations:
        raise bad_csr("; ".join(violations))
    await check_order_caa(req, order)
    if not await req.services.store.begin_finalize(order.id, now):
        raise order_not_ready("the order is no longer ready (finalized concurrently?)")
    try:
        issued = await issue_for_order(req.services, req.profile, spec, order)
    except (InvalidRequestError, CAError) as exc:
        await req.services.store.fail_order(order.id, error=bad_csr(str(exc)).to_dict(), now=now)
        raise bad_csr(str(exc)) from None
    # Any other failure (the database gone, a bug) leaves the order processing: what was
    # stored decides its end, which the finalize recovery sweep reaches within the
    # finalize timeout (services/finalize_recovery.py). Marking it invalid here could
    # strand a certificate that was activated before the failure.
    if not await req.services.store.complete_order(
        order.id, certificate_id=issued.record.id, now=datetime.now(UTC)
    ):
        await _outlived_lease(req, order, issued.record)
    log.info(
        "issued",
        extra={"order": order.id, "serial": issued.record.serial_hex, "account": account.id},
    )
    # complete_order moved this very order processing -> valid: answer without re-reading it
    done = replace(order, status="valid", certificate_id=issued.record.id)
    return acme_json(order_json(done, req.urls), 200, {"Location": req.urls.order(order.id)})


async def _outlived_lease(req: AcmeRequest, order: OrderRecord, record: CertificateRecord) -> None:
    """This finalize ran past its lease and the recovery sweep failed the order meanwhile:
    the certificate just issued belongs to no order, so it is revoked, and the client gets
    the order's error."""
    log.warning("finalize outlived its lease", extra={"order": order.id, "certificate": record.id})
    await revoke_orphan(req.services, record)
    current = await req.services.store.get_order(order.id)
    error = current.error or interrupted_problem().to_dict()
    raise AcmeProblem(
        str(error.get("type", "")).removeprefix(ACME_ERROR) or "serverInternal",
        str(error.get("detail", INTERRUPTED)),
        int(error.get("status", 500)),
    )


def _issue_spec(
    req: AcmeRequest, order: OrderRecord, facts: CsrFacts, max_ttl_seconds: int | None
) -> IssueSpec:
    """The certificate to sign. Without notAfter in the order, the profile's default TTL,
    capped at the policy's maximum; with it, exactly what was asked (checked at newOrder)."""
    defaults = profile_defaults(req.profile)
    first = order.identifiers[0]["value"]
    cn = facts.subject.common_name.lower() or (first if len(first) <= MAX_CN_LENGTH else "")
    validity = defaults.validity
    if max_ttl_seconds is not None:
        validity = min(validity, timedelta(seconds=max_ttl_seconds))
    if order.not_after is not None:
        validity = order.not_after - (order.not_before or datetime.now(UTC))
    sans = tuple(
        facts.sans
    )  # the CSR's SANs equal the order's identifiers (checked), in the CSR's order
    return IssueSpec(
        subject=SubjectAttributes(common_name=cn),
        sans=sans,
        key_usages=defaults.key_usages,
        extended_key_usages=defaults.extended_key_usages,
        validity=validity,
        hash_algorithm=defaults.hash_algorithm,
        request_method=RequestMethod.ACME,
        public_key=facts.public_key,
        not_before=order.not_before,
        metadata={"acme.order": order.id, "acme.account": order.account_id},
    )


async def _owned_certificate(req: AcmeRequest, certificate_id: str) -> CertificateRecord:
    account = req.post.require_account()
    try:  # another account's certificate is "not found" too: never confirm it exists
        return await req.services.store.get_ordered_certificate(certificate_id, account.id)
    except (NotFound, ValueError):
        raise not_found("certificate") from None


def served_chain(record: CertificateRecord) -> list[x509.Certificate]:
    """Leaf first, then the intermediates; the self-signed root is left to the trust store."""
    chain = x509.load_pem_x509_certificates(record.chain_pem.encode()) if record.chain_pem else []
    return [c for c in chain if c.issuer != c.subject]


_ISSUER_URLS: dict[str, str] = {}  # CA id -> its AIA URL, fixed when the CA is created


async def _issuer_url(req: AcmeRequest, ca_id: str) -> str:
    url = _ISSUER_URLS.get(ca_id)
    if url is None:
        url = _ISSUER_URLS[ca_id] = (await req.services.store.get_ca(ca_id)).aia_issuer_url
    return url


def _wants_single_certificate(request: Request) -> bool:
    """Did the client ask for the leaf alone (Accept: application/pkix-cert, RFC 8555
    7.4.2) rather than the chain, the default?"""
    accept = request.headers.get("accept", "")
    types = {part.partition(";")[0].strip().lower() for part in accept.split(",")}
    return PKIX_CERT in types and PEM_CHAIN not in types


async def certificate(request: Request) -> Response:
    """The certificate as a PEM chain, leaf first; or, asked for application/pkix-cert, the
    leaf alone in DER with `Link: rel="up"` to its issuer's certificate.

    RFC 8555 7.4.2 wants the "up" link for formats that can only express a single
    certificate, and only there: clients such as Caddy's acmez fetch every "up" link of a
    chain response too and append what they get, which would repeat the intermediate."""
    req = await verified(request, "kid")
    record = await _owned_certificate(req, request.path_params["certificate_id"])
    if _wants_single_certificate(request):
        leaf = x509.load_pem_x509_certificate(record.certificate_pem.encode())
        headers: dict[str, str] = {}
        if record.ca_id is not None:
            headers["Link"] = link(await _issuer_url(req, record.ca_id), "up")
        return Response(leaf.public_bytes(Encoding.DER), media_type=PKIX_CERT, headers=headers)
    body = record.certificate_pem + certificates_pem(served_chain(record))
    return Response(body, media_type=PEM_CHAIN)


async def revoke_cert(request: Request) -> Response:
    """Signed by the certificate's key (jwk), by the account that ordered it, or by an account
    holding valid authorizations for all its names (RFC 8555 7.6)."""
    req = await verified(request, "either")
    payload = req.post.payload or {}
    raw = payload.get("certificate")
    if not isinstance(raw, str):
        raise malformed("revokeCert needs the certificate as base64url DER")
    try:
        with warnings.catch_warnings():
            # cryptography only warns (for now) about a serial RFC 5280 4.1.2.2 forbids.
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            cert = x509.load_der_x509_certificate(b64url_decode(raw))
    except CryptographyDeprecationWarning:
        raise malformed(
            "the certificate's serial number is not positive (RFC 5280 4.1.2.2)"
        ) from None
    except (ValueError, binascii.Error):
        raise malformed("the certificate is not base64url DER") from None
    reason_code = payload.get("reason", 0)
    if (
        not isinstance(reason_code, int)
        or isinstance(reason_code, bool)  # JSON true is no reason code
        or reason_code not in SUBSCRIBER_REASONS
    ):
        raise bad_revocation_reason(
            f"reason {reason_code!r} is not allowed; use one of {sorted(SUBSCRIBER_REASONS)}"
        )
    store = req.services.store
    try:
        record = await store.get_certificate_by_serial(serial_to_hex(cert.serial_number))
    except (NotFound, CAError, ValueError):  # CAError: a serial this CA never issues (<= 0)
        raise not_found("certificate") from None
    if record.certificate_pem.strip() != cert.public_bytes(Encoding.PEM).decode().strip():
        raise not_found("certificate")
    await _authorize_revocation(req, record, cert)
    try:
        await revoke(req.services, record, SUBSCRIBER_REASONS[reason_code])
    except ConflictError:
        raise already_revoked("the certificate is already revoked") from None
    return Response(status_code=200)


async def _authorize_revocation(
    req: AcmeRequest, record: CertificateRecord, cert: x509.Certificate
) -> None:
    if req.post.account is None:
        if _spki(cert.public_key()) != _spki(req.post.key.public_key):
            raise unauthorized("the JWS key is not the certificate's key")
        return
    if not await account_may_act_on(req.services, req.post.account.id, record, datetime.now(UTC)):
        raise unauthorized(
            "the account neither ordered this certificate nor holds authorizations for all "
            "its names"
        )
