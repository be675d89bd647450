"""Who may do what: the one place REST requests are authorized. Every REST route names the
Action it performs and asks here; no handler compares identities itself.

    access.require(principal, Action.CERTIFICATE_ISSUE)              # ForbiddenError (403)
    cert = await access.certificate(services, principal, Action.CERTIFICATE_EXPORT, ref)
    owner = access.owner_filter(principal, Action.CERTIFICATE_LIST)   # None: every one
    identity = await access.identity(services, principal, Action.IDENTITY_BIND, ref)

Roles (identities.ROLES; identities made before roles were migrated to admin):

    admin    every certificate, certificate request and identity
    member   what it owns: the certificates it issued or renewed over REST, the client
             certificates bound to it, the requests it made, and itself

What a certificate belongs to is its owner_identity_id (None for ACME and CLI issuance:
admins only). A certificate, request or identity the caller may not see is answered
exactly as one that does not exist (the same NotFoundError), so ids and serials cannot be
probed. Binding a client certificate to an identity (issuing one for it, or binding one)
is allowed to that identity itself and to admins: anyone else gets a ForbiddenError
naming the permission, before the identity is even looked up; a member binds only
certificates it owns. A bound client certificate logs in as its identity, so this check is
what keeps one identity from becoming another.

The roles and per-profile grants of issue 15 extend _RULES; the Action names stay.
"""

from __future__ import annotations

from enum import StrEnum

from acme_server.services.certificates import inventory
from acme_server.services.certificates.export import find_certificate, no_certificate
from acme_server.services.context import Services
from acme_server.services.errors import ForbiddenError, NotFoundError
from acme_server.services.identities.tokens import Principal, find_identity
from store import CertificateRecord, CertificateRequestRecord, IdentityRecord


class Action(StrEnum):
    """What a REST route does; the value is the permission a 403 names."""

    CERTIFICATE_ISSUE = "certificate.issue"
    CERTIFICATE_LIST = "certificate.list"
    CERTIFICATE_READ = "certificate.read"
    CERTIFICATE_EXPORT = "certificate.export"  # the private key leaves the server
    CERTIFICATE_RENEW = "certificate.renew"
    CERTIFICATE_REVOKE = "certificate.revoke"
    CERTIFICATE_EDIT = "certificate.edit"  # metadata, auto-renew
    CERTIFICATE_DELETE = "certificate.delete"
    REQUEST_LIST = "certificate_request.list"
    REQUEST_READ = "certificate_request.read"
    IDENTITY_READ = "identity.read"
    IDENTITY_BIND = "identity.certificate.bind"


class Reach(StrEnum):
    """How far a member reaches (admins reach everything)."""

    ANY = "any"  # nothing to own: e.g. issuing (what is issued is the caller's)
    OWNED = "owned"  # certificates and requests whose owner is the member
    SELF = "self"  # the member's own identity


_RULES: dict[Action, Reach] = {
    Action.CERTIFICATE_ISSUE: Reach.ANY,
    Action.CERTIFICATE_LIST: Reach.OWNED,
    Action.CERTIFICATE_READ: Reach.OWNED,
    Action.CERTIFICATE_EXPORT: Reach.OWNED,
    Action.CERTIFICATE_RENEW: Reach.OWNED,
    Action.CERTIFICATE_REVOKE: Reach.OWNED,
    Action.CERTIFICATE_EDIT: Reach.OWNED,
    Action.CERTIFICATE_DELETE: Reach.OWNED,
    Action.REQUEST_LIST: Reach.OWNED,
    Action.REQUEST_READ: Reach.OWNED,
    Action.IDENTITY_READ: Reach.SELF,
    Action.IDENTITY_BIND: Reach.SELF,  # and, when binding an issued one, OWNED certificates
}


def reach(principal: Principal, action: Action) -> Reach:
    """How far the principal reaches for this action; ANY for admins."""
    return Reach.ANY if principal.is_admin else _RULES[action]


def require(principal: Principal, action: Action) -> None:
    """For an action on nothing that is owned (issuing): ForbiddenError unless the
    principal may do it at all."""
    if reach(principal, action) != Reach.ANY:
        raise ForbiddenError(f"this needs the permission {action.value}", permission=action.value)


def owner_filter(principal: Principal, action: Action) -> str | None:
    """For listings (and certificates looked up by something other than their id): None
    when the principal sees every one, else the only owner it may see."""
    return None if reach(principal, action) == Reach.ANY else principal.identity_id


def may_touch(principal: Principal, action: Action, owner_identity_id: str | None) -> bool:
    """Whether the principal may do `action` to something owned by `owner_identity_id`."""
    if reach(principal, action) == Reach.ANY:
        return True
    return owner_identity_id is not None and owner_identity_id == principal.identity_id


async def certificate(
    services: Services, principal: Principal, action: Action, ref: str
) -> CertificateRecord:
    """The certificate (by id or serial) if the principal may do `action` to it; the
    NotFoundError of a missing one otherwise."""
    found = await find_certificate(services, ref)
    if not may_touch(principal, action, found.owner_identity_id):
        raise no_certificate(ref)
    return found


async def certificate_request(
    services: Services, principal: Principal, action: Action, request_id: str
) -> CertificateRequestRecord:
    """The certificate request if the principal may see it; NotFoundError otherwise."""
    found = await inventory.find_request(services, request_id)
    if not may_touch(principal, action, found.owner_identity_id):
        raise inventory.no_request(request_id)
    return found


def _is_self(principal: Principal, ref: str) -> bool:
    return ref in (principal.identity_id, principal.client_id)


async def identity(
    services: Services, principal: Principal, action: Action, ref: str
) -> IdentityRecord:
    """The identity (by id or client id) if the principal may do `action` to it.

    Reading another identity is answered as a missing one (NotFoundError); binding a
    certificate to another identity is a ForbiddenError, whether that identity exists
    or not."""
    if reach(principal, action) == Reach.SELF and not _is_self(principal, ref):
        if action == Action.IDENTITY_BIND:
            raise ForbiddenError(
                f"binding a client certificate to identity {ref} needs the permission "
                f"{action.value}: only that identity itself or an admin has it",
                permission=action.value,
            )
        raise NotFoundError(f"identity {ref} not found")
    return await find_identity(services, ref)
