"""Who may do what to which object: the one place requests are authorized.

The role check (does the caller's role hold the permission at all: services/roles.py) is
made once per REST request, before its handler runs, from the route table
(acme_server/rest/guard.py). What this module adds is the reach of a permission:

    cert = await access.certificate(services, principal, Permission.CERTIFICATE_EXPORT, ref)
    profile = await access.profile(services, principal, ref)                  # 404
    scope = await access.scope(services, principal)    # None: reaches everything
    identity = await access.identity(services, principal, Permission.IDENTITY_BIND, ref)
    access.require_key_export(services, principal, cert)                      # 403

An issuer or reader reaches the certificates, certificate requests, profiles, policies and
CAs of the profiles it is granted (all of them when its grants are None); an admin every
one. A certificate, request, profile, policy, CA or identity the caller may not reach is
answered exactly as one that does not exist (the same NotFoundError), so ids and serials
cannot be probed; issuing from a profile the caller is not granted answers as a missing
profile too. Internal certificates (the server's own) are changed by admins only.

An identity reads itself; reading or binding another needs identity.manage (admins).
Binding a client certificate to an identity is allowed to that identity itself and to
admins only: a bound client certificate logs in as its identity, so this check is what
keeps one identity from becoming another.

A private key leaves the server only through require_key_export: the permission, the
certificate's profile granted, the certificate not internal (the server's own TLS
certificate) and its profile allowing key export (enrollment.api.allowKeyExport).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from acme_server.services.cas.create import find_ca
from acme_server.services.certificates import inventory
from acme_server.services.certificates.export import (
    find_certificate,
    key_withheld,
    no_certificate,
)
from acme_server.services.context import Services
from acme_server.services.errors import ForbiddenError, NotFoundError
from acme_server.services.identities.tokens import Principal, find_identity
from acme_server.services.policies.admin import find_policy
from acme_server.services.profiles.lookup import find_profile
from acme_server.services.roles import Permission, holds
from store import (
    CARecord,
    CertificateRecord,
    CertificateRequestRecord,
    IdentityRecord,
    PolicyRecord,
    ProfileRecord,
)


def forbidden(permission: Permission, detail: str = "") -> ForbiddenError:
    what = f" {detail}" if detail else ""
    return ForbiddenError(
        f"this needs the permission {permission.value}{what}", permission=permission.value
    )


def require(principal: Principal, permission: Permission) -> None:
    """ForbiddenError unless the principal's role holds the permission."""
    if not holds(principal.role, permission):
        raise forbidden(permission, f"(the role {principal.role} does not have it)")


def reaches_profile(principal: Principal, profile_id: str | None) -> bool:
    """Whether the principal's grants cover this profile (None: a certificate whose
    profile was deleted, which only principals granted every profile reach)."""
    grants = principal.profile_grants
    if principal.is_admin or grants is None:
        return True
    return profile_id is not None and profile_id in grants


@dataclass(frozen=True, slots=True)
class Scope:
    """What a principal with some profiles granted reaches: those profiles, their
    policies, their CAs and the CAs above those."""

    profile_ids: frozenset[str]
    policy_ids: frozenset[str]
    ca_ids: frozenset[str]


async def scope(services: Services, principal: Principal) -> Scope | None:
    """None when the principal reaches every object; else what it reaches."""
    if principal.is_admin or principal.profile_grants is None:
        return None
    granted = frozenset(principal.profile_grants)
    profiles = [p for p in await services.store.list_profiles() if p.id in granted]
    parents = {ca.id: ca.parent_id for ca in await services.store.list_cas()}
    ca_ids: set[str] = set()
    for profile in profiles:
        ca_id = profile.ca_id
        while ca_id is not None and ca_id not in ca_ids:
            ca_ids.add(ca_id)
            ca_id = parents.get(ca_id)
    return Scope(
        profile_ids=frozenset(p.id for p in profiles),
        policy_ids=frozenset(p.policy_id for p in profiles),
        ca_ids=frozenset(ca_ids),
    )


async def profile(services: Services, principal: Principal, ref: str | None) -> ProfileRecord:
    """The profile (slug or id; None: the default) if the principal reaches it; the
    NotFoundError of a missing one otherwise."""
    found = await find_profile(services, ref)
    if not reaches_profile(principal, found.id):
        raise NotFoundError(f"no certificate profile with slug or id {ref!r}")
    return found


async def ca(services: Services, principal: Principal, ref: str) -> CARecord:
    """The CA (id or name) if the principal reaches it; NotFoundError as a missing one."""
    found = await find_ca(services, ref)
    reach = await scope(services, principal)
    if reach is not None and found.id not in reach.ca_ids:
        raise NotFoundError(f"no certificate authority with id or name {ref!r}")
    return found


async def policy(services: Services, principal: Principal, ref: str) -> PolicyRecord:
    """The policy (id or name) if the principal reaches it; NotFoundError as a missing one."""
    found = await find_policy(services, ref)
    reach = await scope(services, principal)
    if reach is not None and found.id not in reach.policy_ids:
        raise NotFoundError(f"no certificate policy with id or name {ref!r}")
    return found


async def visible(
    services: Services, principal: Principal, kind: Literal["profile", "policy", "ca"]
) -> frozenset[str] | None:
    """For listings of profiles, policies or CAs: None when the principal sees every one,
    else the ids it sees."""
    reach = await scope(services, principal)
    if reach is None:
        return None
    return {"profile": reach.profile_ids, "policy": reach.policy_ids, "ca": reach.ca_ids}[kind]


_READS = frozenset({Permission.CERTIFICATE_READ, Permission.CERTIFICATE_LIST})


def profile_filter(principal: Principal) -> tuple[str, ...] | None:
    """For certificate and request listings: None when every profile's are visible,
    else the only profile ids whose are."""
    if principal.is_admin:
        return None
    return principal.profile_grants


async def certificate(
    services: Services, principal: Principal, permission: Permission, ref: str
) -> CertificateRecord:
    """The certificate (by id or serial) if the principal may do `permission` to it; the
    NotFoundError of a missing one otherwise."""
    require(principal, permission)
    found = await find_certificate(services, ref)
    if not reaches_profile(principal, found.profile_id):
        raise no_certificate(ref)
    if found.internal and not principal.is_admin and permission not in _READS:
        raise no_certificate(ref)  # the server's own: only admins change it
    return found


async def certificate_request(
    services: Services, principal: Principal, permission: Permission, request_id: str
) -> CertificateRequestRecord:
    """The certificate request if the principal may see it; NotFoundError otherwise."""
    require(principal, permission)
    found = await inventory.find_request(services, request_id)
    if not reaches_profile(principal, found.profile_id):
        raise inventory.no_request(request_id)
    return found


def _is_self(principal: Principal, ref: str) -> bool:
    """Whether `ref` names the principal's own machine identity (a console user has none)."""
    return principal.kind == "identity" and ref in (principal.identity_id, principal.client_id)


async def identity(
    services: Services, principal: Principal, permission: Permission, ref: str
) -> IdentityRecord:
    """The identity (by id or client id) if the principal may do `permission` to it.

    Reading another identity without identity.manage is answered as a missing one
    (NotFoundError); binding a certificate to another identity is a ForbiddenError,
    whether that identity exists or not."""
    require(principal, permission)
    if not _is_self(principal, ref) and not holds(principal.role, Permission.IDENTITY_MANAGE):
        if permission == Permission.IDENTITY_BIND:
            raise forbidden(
                permission,
                f"to bind a client certificate to identity {ref}: only that identity "
                "itself or an admin has it",
            )
        raise NotFoundError(f"identity {ref} not found")
    return await find_identity(services, ref)


async def key_refusal(
    services: Services, principal: Principal, cert: CertificateRecord
) -> str | None:
    """Why the certificate's private key may not go to this principal (None: it may).
    The caller has already reached the certificate."""
    if not holds(principal.role, Permission.CERTIFICATE_EXPORT):
        return f"this needs the permission {Permission.CERTIFICATE_EXPORT.value}"
    return await key_withheld(services, cert)


async def require_key_export(
    services: Services, principal: Principal, cert: CertificateRecord
) -> None:
    """ForbiddenError naming why, unless the private key may go to this principal."""
    reason = await key_refusal(services, principal, cert)
    if reason is not None:
        raise ForbiddenError(reason, permission=Permission.CERTIFICATE_EXPORT.value)
