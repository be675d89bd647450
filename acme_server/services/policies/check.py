"""The policy of a profile, from the store, and every way a request breaks it."""

from __future__ import annotations

from datetime import datetime

from acme_server.services.certificates.issuance import IssueSpec
from acme_server.services.context import Services
from ca_core.keys import key_algorithm_of
from pki_types.model import IssuerType, KeyAlgorithm, SignatureAlgorithm
from policy.evaluate import evaluate
from policy.facts import RequestFacts
from policy.rules import CertificatePolicy, policy_from_dict
from store import ProfileRecord

# Parsed policies by (id, updated_at): the row is read on every request, so an edit applies
# at once, but its rules are parsed only once per version. Bounded; oldest dropped first.
PARSED_CACHE_SIZE = 256
_PARSED: dict[tuple[str, datetime], CertificatePolicy] = {}


async def load_policy(services: Services, profile: ProfileRecord) -> CertificatePolicy:
    record = await services.store.get_policy(profile.policy_id)
    version = (record.id, record.updated_at)
    parsed = _PARSED.get(version)
    if parsed is None:
        parsed = policy_from_dict(record.rules)
        if len(_PARSED) >= PARSED_CACHE_SIZE:
            del _PARSED[next(iter(_PARSED))]
        _PARSED[version] = parsed
    return parsed


_CA_KEY_ALGORITHMS: dict[str, KeyAlgorithm] = {}  # a CA's key never changes


async def _ca_key_algorithm(services: Services, ca_id: str) -> KeyAlgorithm:
    found = _CA_KEY_ALGORITHMS.get(ca_id)
    if found is None:
        found = KeyAlgorithm((await services.store.get_ca(ca_id)).key_algorithm)
        _CA_KEY_ALGORITHMS[ca_id] = found
    return found


async def policy_violations(
    services: Services, profile: ProfileRecord, policy: CertificatePolicy, spec: IssueSpec
) -> list[str]:
    """Every message of every rule the certificate `spec` describes would break."""
    key_algorithm = spec.key_algorithm or (
        key_algorithm_of(spec.public_key) if spec.public_key else None
    )
    if profile.issuer_type == IssuerType.SELF_SIGNED.value or profile.ca_id is None:
        signer = key_algorithm
    else:
        signer = await _ca_key_algorithm(services, profile.ca_id)
    facts = RequestFacts(
        subject=spec.subject,
        sans=spec.sans,
        key_algorithm=key_algorithm,
        signature_algorithm=SignatureAlgorithm.for_signing_key(signer, spec.hash_algorithm)
        if signer
        else None,
        key_usages=spec.key_usages,
        extended_key_usages=spec.extended_key_usages,
        ttl_seconds=int(spec.validity.total_seconds()),
    )
    return list(evaluate(facts, policy).messages)
