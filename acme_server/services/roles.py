"""Roles and the permissions each holds: one model for machine identities (and, with the
console, for human users).

    admin    every permission, every profile
    issuer   issue, renew, revoke, export and edit the certificates of the profiles it is
             granted; read those profiles, their policies and CAs; its own identity
    reader   read the certificates, requests, profiles, policies and CAs of the profiles it
             is granted (never a private key); its own identity
    auditor  read the audit log; its own identity

An issuer or reader is granted some profiles or every profile (grants None). What a
permission reaches beyond the role (a granted profile, the caller's own identity) is
acme_server/services/access.py's business; the REST route table names one permission per
route (acme_server/rest/guard.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Permission(StrEnum):
    """What a route or command needs; the value is what a 403 names."""

    CA_READ = "ca.read"
    CA_MANAGE = "ca.manage"
    POLICY_READ = "policy.read"
    POLICY_MANAGE = "policy.manage"
    PROFILE_READ = "profile.read"
    PROFILE_MANAGE = "profile.manage"
    EAB_MANAGE = "eab.manage"
    IDENTITY_READ = "identity.read"  # its own identity; every identity with IDENTITY_MANAGE
    IDENTITY_MANAGE = "identity.manage"  # create, list, change roles and grants, disable
    IDENTITY_BIND = "identity.certificate.bind"  # a client certificate that logs in as it
    AUDIT_READ = "audit.read"
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


ADMIN: Final = "admin"
ISSUER: Final = "issuer"
READER: Final = "reader"
AUDITOR: Final = "auditor"
ROLES: Final = (ADMIN, ISSUER, READER, AUDITOR)
# The roles whose certificate permissions reach only the profiles they are granted.
GRANTED_ROLES: Final = frozenset({ISSUER, READER})

_READ: Final = frozenset(
    {
        Permission.CA_READ,
        Permission.POLICY_READ,
        Permission.PROFILE_READ,
        Permission.IDENTITY_READ,
        Permission.CERTIFICATE_LIST,
        Permission.CERTIFICATE_READ,
        Permission.REQUEST_LIST,
        Permission.REQUEST_READ,
    }
)
ROLE_PERMISSIONS: Final[dict[str, frozenset[Permission]]] = {
    ADMIN: frozenset(Permission),
    ISSUER: _READ
    | {
        Permission.IDENTITY_BIND,
        Permission.CERTIFICATE_ISSUE,
        Permission.CERTIFICATE_EXPORT,
        Permission.CERTIFICATE_RENEW,
        Permission.CERTIFICATE_REVOKE,
        Permission.CERTIFICATE_EDIT,
    },
    READER: _READ,
    AUDITOR: frozenset({Permission.AUDIT_READ, Permission.IDENTITY_READ}),
}
ROLE_HELP: Final = {
    ADMIN: "everything: CAs, policies, profiles, EAB, identities, every certificate",
    ISSUER: "issue, renew, revoke, export and edit certificates of its granted profiles",
    READER: "read certificates, profiles and CAs of its granted profiles; never a key",
    AUDITOR: "read the audit log",
}


def holds(role: str, permission: Permission) -> bool:
    """Whether the role carries the permission (an unknown role carries none)."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
