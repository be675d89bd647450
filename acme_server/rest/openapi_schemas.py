"""The JSON Schemas (OpenAPI 3.1, JSON Schema 2020-12) of the management bodies (CAs,
policies, profiles, EAB credentials, login, errors) and which operation takes and answers
which: OPERATION_BODIES[(method, path template)] = (request schema or None, success
status, response schema or None); path templates write every parameter as "{}"
(openapi.template). The request bodies' schemas are derived from their one declaration
next to their parser (acme_server/rest/body.py: LOGIN_REQUEST in auth.py, CREATE_REQUEST
and UPDATE_REQUEST in cas.py, policies.py, profiles.py, eab.py); the answers are
described here. The certificate endpoints' are in certificates/schemas.py, in the same
shape; openapi.py merges both."""

from __future__ import annotations

from typing import Any

from acme_server.rest import auth, cas, eab, identity_admin, policies, profiles
from acme_server.rest.body import component_schemas, schema
from acme_server.services.roles import ROLES
from pki_types.model import (
    ExtendedKeyUsage,
    HashAlgorithm,
    KeyAlgorithm,
    KeyUsage,
    SanType,
    SignatureAlgorithm,
    SubjectField,
)

STRING: dict[str, Any] = {"type": "string"}
NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
INTEGER: dict[str, Any] = {"type": "integer"}
DATETIME: dict[str, Any] = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
HMAC_ALGORITHM: dict[str, Any] = {"type": "string", "enum": ["HS256", "HS384", "HS512"]}
CREDENTIAL_STATE: dict[str, Any] = {"type": "string", "enum": ["ok", "warning", "expiring"]}
TTL: dict[str, Any] = {"type": "string", "pattern": "^[0-9]+[smhdwy]$", "examples": ["90d"]}


def enum(kind: type[Any]) -> dict[str, Any]:
    return {"type": "string", "enum": [member.value for member in kind]}


def obj(
    properties: dict[str, Any], required: tuple[str, ...] = (), *, closed: bool = True
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def wrapped(key: str, name: str) -> dict[str, Any]:
    return obj({key: ref(name)}, (key,))


_IDENTITY_CREDENTIAL: dict[str, Any] = {
    "serialNumber": STRING,
    "fingerprintSha256": STRING,
    "notAfter": DATETIME,
    "rotateBy": DATETIME,
    "status": {"type": "string", "enum": ["pending", "active", "revoked"]},
    "credentialState": CREDENTIAL_STATE,
    "firstUsedAt": NULLABLE_DATETIME,
    "createdAt": DATETIME,
}
_NAME_RULES = obj({"allowed": array(STRING), "denied": array(STRING)})
_USAGE_RULES_KU = obj({"allowed": array(enum(KeyUsage)), "required": array(enum(KeyUsage))})
_USAGE_RULES_EKU = obj(
    {"allowed": array(enum(ExtendedKeyUsage)), "required": array(enum(ExtendedKeyUsage))}
)

POLICY_RULES = obj(
    {
        "commonName": obj({"allowed": array(STRING), "denied": array(STRING), "required": BOOLEAN}),
        "sans": {
            "type": "object",
            "propertyNames": enum(SanType),
            "additionalProperties": _NAME_RULES,
        },
        "allowedSanTypes": array(enum(SanType)),
        "requiredSanTypes": array(enum(SanType)),
        "allowWildcards": BOOLEAN,
        "maxSans": {"type": ["integer", "null"], "minimum": 0},
        "subject": {
            "type": "object",
            "propertyNames": enum(SubjectField),
            "additionalProperties": obj(
                {"required": BOOLEAN, "patterns": array(STRING), "allowed": BOOLEAN}
            ),
        },
        "keyAlgorithms": array(enum(KeyAlgorithm)),
        "signatureAlgorithms": array(enum(SignatureAlgorithm)),
        "keyUsages": _USAGE_RULES_KU,
        "extendedKeyUsages": _USAGE_RULES_EKU,
        "maxTtl": {"type": ["string", "integer", "null"], "examples": ["365d"]},
    }
)

CA = obj(
    {
        "id": STRING,
        "name": STRING,
        "type": {"type": "string", "enum": ["root", "intermediate"]},
        "parentCaId": NULLABLE_STRING,
        "status": {"type": "string", "enum": ["active", "disabled"]},
        "subject": STRING,
        "keyAlgorithm": enum(KeyAlgorithm),
        "hashAlgorithm": enum(HashAlgorithm),
        "serialNumber": STRING,
        "notBefore": DATETIME,
        "notAfter": DATETIME,
        "crlDistributionUrl": STRING,
        "aiaIssuerUrl": STRING,
        "createdAt": DATETIME,
        "certificate": {"type": "string", "description": "PEM (detail only)"},
        "certificateChain": {"type": "string", "description": "PEM, issuer first"},
        "crlNumber": INTEGER,
    },
    ("id", "name", "type", "status", "subject", "notBefore", "notAfter"),
)

# a profile as answered: the members its create body declares, and more
_PROFILE_FIELDS: dict[str, Any] = {f.name: schema(f) for f in profiles.CREATE_REQUEST.fields}

EAB_CREDENTIAL = obj(
    {
        "kid": STRING,
        "profileId": STRING,
        "hmacAlgorithm": HMAC_ALGORITHM,
        "reusable": BOOLEAN,
        "status": {"type": "string", "enum": ["usable", "used", "revoked"]},
        "createdAt": DATETIME,
        "usedAt": NULLABLE_DATETIME,
        "revokedAt": NULLABLE_DATETIME,
        "boundAccountId": NULLABLE_STRING,
    },
    ("kid", "status"),
)

SCHEMAS: dict[str, Any] = {
    **component_schemas(
        auth.LOGIN_REQUEST,
        auth.TOKEN_REVOKE_REQUEST,
        cas.CREATE_REQUEST,
        cas.UPDATE_REQUEST,
        policies.CREATE_REQUEST,
        policies.UPDATE_REQUEST,
        profiles.CREATE_REQUEST,
        profiles.UPDATE_REQUEST,
        eab.CREATE_REQUEST,
        identity_admin.CREATE_REQUEST,
        identity_admin.UPDATE_REQUEST,
        identity_admin.GRANT_REQUEST,
    ),
    "Error": obj(
        {"statusCode": INTEGER, "error": STRING, "message": STRING, "details": {}},
        ("statusCode", "error", "message"),
    ),
    "LoginResponse": obj(
        {
            "accessToken": STRING,
            "expiresIn": INTEGER,
            "accessTokenMaxTTL": INTEGER,
            "tokenType": {"type": "string", "const": "Bearer"},
        },
        ("accessToken", "expiresIn", "tokenType"),
    ),
    "CertProof": obj(
        {
            "protected": {
                "type": "string",
                "description": "base64url JSON header: alg, x5c (chain, leaf first, base64 "
                "DER), url (this endpoint's full URL), iat (seconds, within 5 minutes)",
            },
            "payload": {
                "type": "string",
                "description": 'base64url JSON: {} to log in, {"csr": PEM or base64url '
                "DER} to rotate",
            },
            "signature": {"type": "string", "description": "base64url, by the leaf's key"},
        },
        ("protected", "payload", "signature"),
    ),
    "CertLoginResponse": obj(
        {
            "accessToken": STRING,
            "expiresIn": INTEGER,
            "accessTokenMaxTTL": INTEGER,
            "tokenType": {"type": "string", "const": "Bearer"},
            "credentialState": CREDENTIAL_STATE,
            "credentialNotAfter": DATETIME,
            "rotateBy": DATETIME,
        },
        ("accessToken", "expiresIn", "tokenType", "credentialState", "credentialNotAfter"),
    ),
    "CertRotateResponse": obj(
        {
            "identityId": STRING,
            "serialNumber": STRING,
            "notAfter": DATETIME,
            "state": {"type": "string", "enum": ["pending", "active", "revoked"]},
            "certificate": STRING,
            "certificateChain": STRING,
            "rotateBy": DATETIME,
        },
        ("serialNumber", "notAfter", "certificate", "certificateChain"),
    ),
    "IdentityCredential": obj(_IDENTITY_CREDENTIAL),
    "Identity": obj(
        {
            "id": STRING,
            "name": STRING,
            "clientId": STRING,
            "disabled": BOOLEAN,
            "role": {"type": "string", "enum": list(ROLES)},
            "allProfiles": {**BOOLEAN, "description": "its permissions reach every profile"},
            "profiles": {**array(STRING), "description": "slugs of the profiles it is granted"},
            "createdAt": DATETIME,
            "certificates": {
                **array(ref("IdentityCredential")),
                "description": "GET /api/v1/identities/{id} only",
            },
            "clientSecret": {"type": "string", "description": "in the creation answer only"},
        }
    ),
    "IdentityResponse": wrapped("identity", "Identity"),
    "IdentityList": obj({"identities": array(ref("Identity"))}, ("identities",)),
    "IdentityCertificateRequest": obj(
        {
            "csr": {"type": "string", "description": "PEM; issued from profileId"},
            "profileId": STRING,
            "ttl": TTL,
            "certificate": {"type": "string", "description": "PEM of a certificate issued here"},
        }
    ),
    "IdentityCertificateResponse": obj(
        {
            "certificate": obj(
                _IDENTITY_CREDENTIAL | {"certificate": STRING, "certificateChain": STRING}
            )
        },
        ("certificate",),
    ),
    "PolicyRules": POLICY_RULES,
    "Policy": obj(
        {
            "id": STRING,
            "name": STRING,
            "description": STRING,
            "rules": ref("PolicyRules"),
            "createdAt": DATETIME,
            "updatedAt": DATETIME,
        },
        ("id", "name", "rules"),
    ),
    "PolicyResponse": wrapped("policy", "Policy"),
    "PolicyList": obj({"policies": array(ref("Policy"))}, ("policies",)),
    "Profile": obj(
        {
            "id": STRING,
            **_PROFILE_FIELDS,
            "acmeDirectoryUrl": NULLABLE_STRING,
            "createdAt": DATETIME,
            "updatedAt": DATETIME,
        },
        ("id", "slug", "policyId", "issuerType", "enrollment", "defaults"),
    ),
    "ProfileResponse": wrapped("profile", "Profile"),
    "ProfileList": obj({"profiles": array(ref("Profile"))}, ("profiles",)),
    "CA": CA,
    "CAResponse": wrapped("ca", "CA"),
    "CAList": obj({"cas": array(ref("CA"))}, ("cas",)),
    "EabCreateResponse": obj(
        {
            "kid": STRING,
            "hmacKey": {"type": "string", "description": "base64url; shown only here"},
            "hmacAlgorithm": STRING,
            "hmacAlg": {"type": "string", "description": "hmacAlgorithm, under its old name"},
            "reusable": BOOLEAN,
            "directory": {"type": "string", "description": "the profile's ACME directory URL"},
            "directoryUrl": {"type": "string", "description": "directory, under its old name"},
            "createdAt": DATETIME,
        },
        ("kid", "hmacKey", "hmacAlgorithm", "reusable", "directory", "createdAt"),
    ),
    "EabCredential": EAB_CREDENTIAL,
    "EabCredentialResponse": wrapped("eabCredential", "EabCredential"),
    "EabCredentialList": obj({"eabCredentials": array(ref("EabCredential"))}, ("eabCredentials",)),
}

_CAS = "/api/v1/cert-manager/ca/internal"
_POLICIES = "/api/v1/cert-manager/certificate-policies"
_PROFILES = "/api/v1/cert-manager/certificate-profiles"
_EAB = f"{_PROFILES}/{{}}/eab-credentials"

OPERATION_BODIES: dict[tuple[str, str], tuple[str | None, str, str | None]] = {
    ("post", "/api/v1/auth/universal-auth/login"): ("LoginRequest", "200", "LoginResponse"),
    ("post", "/api/v1/auth/token/revoke"): ("TokenRevokeRequest", "200", None),
    ("post", "/api/v1/auth/cert-auth/login"): ("CertProof", "200", "CertLoginResponse"),
    ("post", "/api/v1/auth/cert-auth/rotate"): ("CertProof", "201", "CertRotateResponse"),
    ("get", "/api/v1/identities/{}"): (None, "200", "IdentityResponse"),
    ("post", "/api/v1/identities"): ("IdentityCreateRequest", "201", "IdentityResponse"),
    ("get", "/api/v1/identities"): (None, "200", "IdentityList"),
    ("patch", "/api/v1/identities/{}"): ("IdentityUpdateRequest", "200", "IdentityResponse"),
    ("post", "/api/v1/identities/{}/grants"): ("IdentityGrantRequest", "200", "IdentityResponse"),
    ("delete", "/api/v1/identities/{}/grants/{}"): (None, "200", "IdentityResponse"),
    ("post", "/api/v1/identities/{}/certificates"): (
        "IdentityCertificateRequest",
        "201",
        "IdentityCertificateResponse",
    ),
    ("post", _CAS): ("CACreateRequest", "201", "CAResponse"),
    ("get", _CAS): (None, "200", "CAList"),
    ("get", f"{_CAS}/{{}}"): (None, "200", "CAResponse"),
    ("patch", f"{_CAS}/{{}}"): ("CAUpdateRequest", "200", "CAResponse"),
    ("delete", f"{_CAS}/{{}}"): (None, "200", "CAResponse"),
    ("post", _POLICIES): ("PolicyCreateRequest", "201", "PolicyResponse"),
    ("get", _POLICIES): (None, "200", "PolicyList"),
    ("get", f"{_POLICIES}/{{}}"): (None, "200", "PolicyResponse"),
    ("patch", f"{_POLICIES}/{{}}"): ("PolicyUpdateRequest", "200", "PolicyResponse"),
    ("delete", f"{_POLICIES}/{{}}"): (None, "200", "PolicyResponse"),
    ("post", _PROFILES): ("ProfileCreateRequest", "201", "ProfileResponse"),
    ("get", _PROFILES): (None, "200", "ProfileList"),
    ("get", f"{_PROFILES}/{{}}"): (None, "200", "ProfileResponse"),
    ("patch", f"{_PROFILES}/{{}}"): ("ProfileUpdateRequest", "200", "ProfileResponse"),
    ("delete", f"{_PROFILES}/{{}}"): (None, "200", "ProfileResponse"),
    ("post", _EAB): ("EabCreateRequest", "201", "EabCreateResponse"),
    ("get", _EAB): (None, "200", "EabCredentialList"),
    ("delete", f"{_EAB}/{{}}"): (None, "200", "EabCredentialResponse"),
}
