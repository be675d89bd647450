"""A CA asked for by type, name, algorithms, TTL and subject (REST's create body, the
console's form): the checks, with their messages, run before the slow key generation, then
the CA is made and the creation audited. One place, so both interfaces refuse alike.

    asked = CARequest("intermediate", "Issuing CA", "EC_P384", "SHA384", parent_ref=root_id)
    ca = await create_requested(services, asked, actor=principal.actor)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from acme_server.services.audit import record
from acme_server.services.cas.create import CASpec, create_intermediate, create_root, find_ca
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError, NotFoundError
from acme_server.services.profiles.defaults import parse_enum, parse_validity
from ca_core.errors import CAError
from ca_core.names import subject_to_name
from pki_types.model import HashAlgorithm, KeyAlgorithm, SubjectAttributes
from store import CARecord

NAME_MAX = 255  # schema: certificate_authorities.name
DEFAULT_TTL = {"root": "3650d", "intermediate": "1825d"}
SUBJECT_KEYS = {  # the request's name -> SubjectAttributes attribute
    "commonName": "common_name",
    "organization": "organization",
    "organizationalUnit": "organizational_unit",
    "country": "country",
    "state": "state",
    "locality": "locality",
}


def _kind(kind: str) -> str:
    if kind not in DEFAULT_TTL:
        raise InvalidRequestError("type must be 'root' or 'intermediate'")
    return kind


@dataclass(frozen=True, slots=True)
class CARequest:
    """What the caller asked for; no TTL: the type's default; no common name: the CA's name."""

    kind: str  # "root" or "intermediate"
    name: str
    key_algorithm: str  # a KeyAlgorithm value
    hash_algorithm: str  # a HashAlgorithm value
    ttl: str | None = None
    subject: Mapping[str, str] = field(default_factory=dict)  # keys of SUBJECT_KEYS
    parent_ref: str | None = None  # an intermediate's parent, id or name


def _spec(asked: CARequest) -> CASpec:
    """The CA to make; InvalidRequestError naming the field otherwise."""
    name = asked.name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidRequestError(f"name must be 1-{NAME_MAX} characters")
    keys = parse_enum(KeyAlgorithm, asked.key_algorithm, "keyAlgorithm")
    hashes = parse_enum(HashAlgorithm, asked.hash_algorithm, "hashAlgorithm")
    try:
        validity = parse_validity(asked.ttl or DEFAULT_TTL[asked.kind])
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"ttl: {exc}") from None
    given = asked.subject
    attributes = {attr: given.get(key, "").strip() for key, attr in SUBJECT_KEYS.items()}
    attributes["common_name"] = attributes["common_name"] or name
    subject = SubjectAttributes(**attributes)
    try:
        subject_to_name(subject)  # cheap checks before the (slow) key generation
    except CAError as exc:
        raise InvalidRequestError(f"subject: {exc}") from None
    return CASpec(
        name=name, subject=subject, key_algorithm=keys, hash_algorithm=hashes, validity=validity
    )


async def create_requested(services: Services, asked: CARequest, *, actor: str) -> CARecord:
    """A root (no parent) or an intermediate under its parent, audited as "ca.create"."""
    if _kind(asked.kind) == "root":
        if asked.parent_ref is not None:
            raise InvalidRequestError("parentCaId is only for intermediate CAs")
        ca = await create_root(services, _spec(asked))
    else:
        if asked.parent_ref is None:
            raise InvalidRequestError("parentCaId is required for an intermediate CA")
        spec = _spec(asked)
        try:
            parent = await find_ca(services, asked.parent_ref)
        except NotFoundError as exc:
            raise InvalidRequestError(f"parentCaId: {exc}") from None
        ca = await create_intermediate(services, spec, parent.id)
    await record(
        services,
        actor=actor,
        action="ca.create",
        target_type="ca",
        target_id=ca.id,
        details={"name": ca.name, "type": ca.kind, "parentCaId": ca.parent_id},
    )
    return ca
