"""The dashboard's figures (acme_server/services/dashboard.py) as GET /api/v1/dashboard
answers them."""

from __future__ import annotations

from typing import Any

from acme_server.render.common import iso
from acme_server.services.dashboard import DayCount, FailedChallenge, FailedRenewal, Summary


def _days(days: list[DayCount]) -> list[dict[str, Any]]:
    return [{"date": d.day.isoformat(), "count": d.count} for d in days]


def _renewal(failed: FailedRenewal) -> dict[str, Any]:
    cert = failed.certificate
    return {
        "certificateId": cert.id,
        "commonName": cert.common_name,
        "serialNumber": cert.serial_hex,
        "profile": failed.profile_slug,
        "notAfter": iso(cert.not_after),
        "error": cert.renewal_error,
        "attempts": cert.renewal_attempts,
        "nextAttemptAt": iso(cert.next_renewal_at),
        "failedAt": iso(cert.updated_at),
    }


def _validation(failed: FailedChallenge) -> dict[str, Any]:
    v = failed.validation
    return {
        "challengeId": v.challenge_id,
        "challengeType": v.challenge_type,
        "identifier": {"type": v.identifier_type, "value": v.identifier_value},
        "error": v.error,
        "failedAt": iso(v.failed_at),
        "authorizationId": v.authorization_id,
        "orderId": v.order_id,
        "accountId": v.account_id,
        "profile": failed.profile_slug,
    }


def render_summary(figures: Summary) -> dict[str, Any]:
    return {
        "generatedAt": iso(figures.now),
        "total": figures.total,
        "byStatus": figures.by_status,
        "byProfile": [
            {
                "profileId": p.profile_id,
                "profile": p.slug,
                "name": p.name,
                "total": p.total,
                "byStatus": p.by_status,
            }
            for p in figures.by_profile
        ],
        "expiringPerDay": _days(figures.expiring),
        "issuedPerDay": _days(figures.issued),
        "failedRenewals": [_renewal(f) for f in figures.failed_renewals],
        "failedRenewalsTotal": figures.failed_renewals_total,
        "failedValidations": [_validation(f) for f in figures.failed_validations],
    }
