"""JSON Schemas (OpenAPI 3.1) of the certificate endpoints' bodies, in the shape
openapi_schemas.py uses: SCHEMAS[name] = schema, and OPERATION_BODIES[(method, path
template with "{}" per parameter)] = (request schema or None, success status, response
schema or None). The request bodies' schemas are derived from their declarations
(acme_server/rest/body.py) next to their parsers; the answers are described here. Bodies
that are not JSON (PKCS#12, PEM) are described in the handlers' docstrings."""

from __future__ import annotations

from typing import Any

from acme_server.rest.body import component_schemas
from acme_server.rest.certificates.bodies import (
    AUTO_RENEW_REQUEST,
    ISSUE_REQUEST,
    METADATA_REQUEST,
)
from acme_server.rest.certificates.export import EXPORT_REQUEST
from acme_server.rest.certificates.revoke import REVOKE_REQUEST
from pki_types.model import CertificateStatus, RequestMethod, RevocationReason, SanType

_S: dict[str, Any] = {"type": "string"}
_NS: dict[str, Any] = {"type": ["string", "null"]}
_INT: dict[str, Any] = {"type": "integer"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_NTIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_META: dict[str, Any] = {"type": "object", "additionalProperties": _S}


def _enum(kind: type[Any], *, nullable: bool = False) -> dict[str, Any]:
    values: list[Any] = [m.value for m in kind]
    return (
        {"type": ["string", "null"], "enum": [*values, None]}
        if nullable
        else {
            "type": "string",
            "enum": values,
        }
    )


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def _arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ALT_NAME = _obj({"type": _enum(SanType), "value": _S}, ("type", "value"))
_SUBJECT_KEYS = ("commonName", "organization", "organizationalUnit", "country", "state", "locality")
_SUMMARY_PROPS: dict[str, Any] = {
    "id": _S,
    "serialNumber": _S,
    "status": _enum(CertificateStatus),
    "commonName": _S,
    "friendlyName": _S,
    "altNames": _arr(_ALT_NAME),
    "notBefore": _TIME,
    "notAfter": _TIME,
    "caId": _NS,
    "profileId": _NS,
    "requestMethod": _enum(RequestMethod),
    "keyAlgorithm": _S,
    "hasPrivateKey": _BOOL,
    "autoRenew": _BOOL,
    "renewal": _obj(
        {
            "status": {"type": ["string", "null"], "enum": ["failed", "renewed", None]},
            "lastError": _NS,
            "attempts": _INT,
            "nextAttemptAt": {**_NTIME, "description": "the next retry after a failure"},
        }
    ),
    "metadata": _META,
    "renewedFromId": _NS,
    "renewedById": _NS,
    "revokedAt": _NTIME,
    "revocationReason": _enum(RevocationReason, nullable=True),
    "certificateRequestId": _NS,
    "createdAt": _TIME,
}
_BUNDLE_PROPS: dict[str, Any] = {
    "certificateId": _S,
    "serialNumber": _S,
    "certificate": _S,
    "certificateChain": {"type": "string", "description": "PEM, issuer first"},
    "issuingCaCertificate": _S,
    "privateKey": {"type": ["string", "null"], "description": "PKCS#8 PEM, managed keys only"},
    "privateKeyWithheld": {
        "type": "string",
        "description": "why a key the server holds is not given: the caller lacks "
        "certificate.export, the certificate is internal, or its profile forbids key export",
    },
}
_ISSUED = _obj(
    {
        "certificate": _obj(
            {k: v for k, v in _BUNDLE_PROPS.items()},
            ("certificate", "certificateChain", "issuingCaCertificate", "serialNumber"),
        ),
        "certificateRequestId": _S,
        "renewedFromId": {"type": "string", "description": "renewals only"},
        "notAfterCut": {
            **_obj(
                {
                    "reason": {"type": "string", "enum": ["issuing_ca_not_after"]},
                    "notAfter": {**_TIME, "description": "what the certificate got"},
                    "requestedNotAfter": {**_TIME, "description": "issuance time + ttl"},
                },
                ("reason", "notAfter", "requestedNotAfter"),
            ),
            "type": ["object", "null"],
            "description": "null when notAfter is as asked; otherwise why it is earlier "
            "(a certificate never outlives its issuing CA)",
        },
        "warnings": {
            **_arr(_S),
            "description": "one line each, e.g. that notAfter was cut to the issuing CA's "
            "notAfter; empty when the certificate is as asked",
        },
    },
    ("certificate", "certificateRequestId", "notAfterCut", "warnings"),
)
_REQUEST = _obj(
    {
        "id": _S,
        "profileId": _NS,
        "method": _enum(RequestMethod),
        "status": {"type": "string", "enum": ["pending", "issued", "failed"]},
        "csr": _NS,
        "attributes": _ref("CertificateAttributes"),
        "metadata": _META,
        "certificateId": _NS,
        "error": _NS,
        "createdAt": _TIME,
    },
    ("id", "method", "status", "attributes", "metadata"),
)

SCHEMAS: dict[str, Any] = {
    **component_schemas(
        ISSUE_REQUEST, METADATA_REQUEST, AUTO_RENEW_REQUEST, EXPORT_REQUEST, REVOKE_REQUEST
    ),
    "CertificateIssueResponse": _ISSUED,
    "CertificateSummary": _obj(_SUMMARY_PROPS, ("id", "serialNumber", "status")),
    "CertificateList": _obj(
        {"certificates": _arr(_ref("CertificateSummary")), "totalCount": _INT},
        ("certificates", "totalCount"),
    ),
    "CertificateDetails": _obj(
        {
            **_SUMMARY_PROPS,
            "subject": _obj({k: _S for k in _SUBJECT_KEYS}),
            "subjectDn": _S,
            "issuerDn": _NS,
            "issuingCa": _obj({"id": _S, "name": _S}),
            "profile": _obj({"id": _S, "slug": _S}),
            "basicConstraints": _obj({"isCA": _BOOL, "pathLength": {"type": ["integer", "null"]}}),
            "keyUsages": _arr(_S),
            "extendedKeyUsages": _arr(_S),
            "signatureAlgorithm": _NS,
            "hashAlgorithm": _S,
            "fingerprints": _obj({"sha256": _NS, "sha1": _NS}),
            "certificate": _NS,
        },
        ("id", "serialNumber", "status"),
    ),
    "CertificateMetadataResponse": _obj({"certificateId": _S, "metadata": _META}),
    "CertificateAutoRenewResponse": _obj({"certificateId": _S, "autoRenew": _BOOL}),
    "CertificateDeleteResponse": _obj({"message": _S, "certificateId": _S, "serialNumber": _S}),
    "CertificateBundle": _obj(_BUNDLE_PROPS, ("certificate", "serialNumber")),
    "CertificateLatestBundle": _obj(
        {**_BUNDLE_PROPS, "commonName": _S, "notAfter": _TIME}, ("certificate", "serialNumber")
    ),
    "RevokeResponse": _obj(
        {
            "message": _S,
            "serialNumber": _S,
            "revokedAt": _TIME,
            "revocationReason": _enum(RevocationReason),
            "certificateId": _S,
        },
        ("message", "serialNumber", "revokedAt"),
    ),
    "CertificateRequest": _REQUEST,
    "CertificateRequestList": _obj(
        {"certificateRequests": _arr(_ref("CertificateRequest")), "totalCount": _INT},
        ("certificateRequests", "totalCount"),
    ),
    "CrlList": _arr(
        _obj(
            {"id": _S, "crl": _S, "crlNumber": _INT, "thisUpdate": _TIME, "nextUpdate": _TIME},
            ("id", "crl"),
        )
    ),
}

_CERTS = "/api/v1/cert-manager/certificates"
_ONE = f"{_CERTS}/{{}}"

OPERATION_BODIES: dict[tuple[str, str], tuple[str | None, str, str | None]] = {
    ("post", _CERTS): ("CertificateIssueRequest", "200", "CertificateIssueResponse"),
    ("get", _CERTS): (None, "200", "CertificateList"),
    ("get", _ONE): (None, "200", "CertificateDetails"),
    ("delete", _ONE): (None, "200", "CertificateDeleteResponse"),
    ("patch", f"{_ONE}/metadata"): (
        "CertificateMetadataRequest",
        "200",
        "CertificateMetadataResponse",
    ),
    ("patch", f"{_ONE}/auto-renew"): (
        "CertificateAutoRenewRequest",
        "200",
        "CertificateAutoRenewResponse",
    ),
    ("post", f"{_ONE}/renew"): (None, "200", "CertificateIssueResponse"),
    ("post", f"{_ONE}/revoke"): ("RevokeRequest", "200", "RevokeResponse"),
    ("get", f"{_ONE}/bundle"): (None, "200", "CertificateBundle"),
    ("post", f"{_ONE}/export"): ("CertificateExportRequest", "200", None),
    ("get", "/api/v1/cert-manager/certificate-profiles/{}/certificates/latest"): (
        None,
        "200",
        "CertificateLatestBundle",
    ),
    ("get", "/api/v1/cert-manager/certificate-requests"): (None, "200", "CertificateRequestList"),
    ("get", "/api/v1/cert-manager/certificate-requests/{}"): (None, "200", "CertificateRequest"),
    ("get", "/api/v1/cert-manager/ca/internal/{}/crls"): (None, "200", "CrlList"),
}
