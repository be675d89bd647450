"""An identity's role and the profiles it is granted (services/roles.py says what each
role may do; services/access.py checks it).

    ids = await profile_ids(services, ["web", "api"])          # slugs or ids -> ids
    record, changed = await set_role(services, "ID", "reader")
    record, changed = await grant(services, "ID", ids)         # None: every profile
    record, changed = await revoke(services, "ID", ids)        # None: every profile

Grants matter to issuers and readers only: an admin reaches everything, an auditor no
certificate. A changed role or grant applies from the identity's next request on, with
the tokens it holds now. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from acme_server.services import audit
from acme_server.services.context import Services
from acme_server.services.errors import InvalidRequestError
from acme_server.services.identities.tokens import checked_access, find_identity
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.roles import ADMIN, GRANTED_ROLES
from store import IdentityRecord

Grants = tuple[str, ...] | None  # profile ids; None: every profile


async def profile_ids(services: Services, refs: Sequence[str]) -> tuple[str, ...]:
    """The ids of these profiles (slugs or ids), in order, each once; NotFoundError
    naming the first unknown one."""
    found = [(await find_profile(services, ref)).id for ref in refs]
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Reach:
    """What an identity's certificate permissions reach, for showing: every profile, or
    the slugs of those it is granted (a profile deleted since is left out)."""

    all_profiles: bool
    profiles: tuple[str, ...]


async def reach_of(services: Services, identity: IdentityRecord) -> Reach:
    if identity.role == ADMIN or (
        identity.role in GRANTED_ROLES and identity.profile_grants is None
    ):
        return Reach(all_profiles=True, profiles=())
    if identity.role not in GRANTED_ROLES:
        return Reach(all_profiles=False, profiles=())
    by_id = {p.id: p.slug for p in await services.store.list_profiles()}
    granted = identity.profile_grants or ()
    return Reach(
        all_profiles=False, profiles=tuple(sorted(by_id[i] for i in granted if i in by_id))
    )


async def _store(
    services: Services,
    identity: IdentityRecord,
    role: str,
    grants: Grants,
    *,
    actor: str,
) -> tuple[IdentityRecord, bool]:
    role, grants = checked_access(role, grants)
    if role == identity.role and grants == identity.profile_grants:
        return identity, False
    updated = await services.store.set_identity_access(
        identity.id, role=role, profile_grants=grants
    )
    await audit.record(
        services,
        actor=actor,
        action="identity.access.update",
        target_type="identity",
        target_id=identity.id,
        details={
            "name": identity.name,
            "from": {"role": identity.role, "profileGrants": _shown(identity.profile_grants)},
            "to": {"role": updated.role, "profileGrants": _shown(updated.profile_grants)},
        },
    )
    return updated, True


def _shown(grants: Grants) -> list[str] | None:
    return None if grants is None else list(grants)


async def set_role(
    services: Services, ref: str, role: str, *, actor: str = audit.ACTOR_CLI
) -> tuple[IdentityRecord, bool]:
    """Give the identity (by id or client id) another role; an issuer or reader keeps the
    grants it has (a former admin or auditor: every profile). False if unchanged."""
    identity = await find_identity(services, ref)
    return await _store(services, identity, role, identity.profile_grants, actor=actor)


def _require_granted_role(identity: IdentityRecord) -> None:
    if identity.role not in GRANTED_ROLES:
        raise InvalidRequestError(
            f"identity {identity.id} is an {identity.role}: profile grants are for issuers "
            "and readers (change its role first)"
        )


async def grant(
    services: Services, ref: str, ids: Grants, *, actor: str = audit.ACTOR_CLI
) -> tuple[IdentityRecord, bool]:
    """Add these profiles (None: every profile) to the identity's grants."""
    identity = await find_identity(services, ref)
    _require_granted_role(identity)
    current = identity.profile_grants
    wanted: Grants = None
    if ids is not None and current is not None:
        wanted = tuple(dict.fromkeys((*current, *ids)))
    return await _store(services, identity, identity.role, wanted, actor=actor)


async def revoke(
    services: Services, ref: str, ids: Grants, *, actor: str = audit.ACTOR_CLI
) -> tuple[IdentityRecord, bool]:
    """Take these profiles (None: every profile) out of the identity's grants. Narrowing
    an identity granted every profile is: revoke every profile, then grant those it keeps."""
    identity = await find_identity(services, ref)
    _require_granted_role(identity)
    current = identity.profile_grants
    if ids is None:
        return await _store(services, identity, identity.role, (), actor=actor)
    if current is None:
        raise InvalidRequestError(
            f"identity {identity.id} is granted every profile: revoke every profile, then "
            "grant the ones it keeps"
        )
    kept = tuple(i for i in current if i not in ids)
    return await _store(services, identity, identity.role, kept, actor=actor)
