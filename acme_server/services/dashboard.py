"""The dashboard's figures, for the console's dashboard and GET /api/v1/dashboard alike.

    figures = await summary(services, principal, now)

Everything is counted within the caller's reach (access.profile_filter: an admin sees
every profile's certificates, an issuer or reader those of the profiles it is granted):
certificates by status and by profile; active certificates expiring per UTC day over the
next EXPIRING_DAYS days (today first) and certificates issued per UTC day over the last
ISSUED_DAYS days (today last), every day present (0 when none); the certificates whose
server-driven renewal failed (the scheduler's record: renewal status "failed", with the
error, attempts and next try); and the ACME challenges that failed validation in the last
FAILED_VALIDATION_DAYS days, with their problem document. Each figure is one aggregate
store query (store/queries/dashboard.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from acme_server.services import access
from acme_server.services.context import Services
from acme_server.services.identities.tokens import Principal
from pki_types.model import CertificateStatus
from store import CertificateRecord
from store.queries.dashboard import FailedValidation

EXPIRING_DAYS = 90
ISSUED_DAYS = 30
FAILED_VALIDATION_DAYS = 7
LIST_LIMIT = 20
STATUSES = tuple(status.value for status in CertificateStatus)


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True, slots=True)
class ProfileCount:
    """A profile's certificates by status (profile_id None: certificates whose profile
    was deleted)."""

    profile_id: str | None
    slug: str | None
    name: str | None
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True, slots=True)
class FailedRenewal:
    certificate: CertificateRecord
    profile_slug: str | None


@dataclass(frozen=True, slots=True)
class FailedChallenge:
    validation: FailedValidation
    profile_slug: str | None


@dataclass(frozen=True, slots=True)
class Summary:
    now: datetime
    by_status: dict[str, int]
    by_profile: list[ProfileCount]
    expiring: list[DayCount]  # today .. today + EXPIRING_DAYS - 1
    issued: list[DayCount]  # today - ISSUED_DAYS + 1 .. today
    failed_renewals: list[FailedRenewal]
    failed_renewals_total: int
    failed_validations: list[FailedChallenge]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _days(first: date, count: int, found: dict[str, int]) -> list[DayCount]:
    days = [first + timedelta(days=i) for i in range(count)]
    return [DayCount(day, found.get(day.isoformat(), 0)) for day in days]


async def summary(services: Services, principal: Principal, now: datetime) -> Summary:
    """The figures the principal may see, as of `now` (aware UTC)."""
    store = services.store
    reach = access.profile_filter(principal)
    await store.expire_certificates(now=now)  # statuses caught up, as listings do
    slugs = {p.id: (p.slug, p.name) for p in await store.list_profiles()}
    by_status = dict.fromkeys(STATUSES, 0)
    profiles: dict[str | None, dict[str, int]] = {}
    for row in await store.certificate_counts(profile_ids=reach):
        by_status[row.status] = by_status.get(row.status, 0) + row.count
        counts = profiles.setdefault(row.profile_id, dict.fromkeys(STATUSES, 0))
        counts[row.status] = counts.get(row.status, 0) + row.count
    unnamed: tuple[str | None, str | None] = (None, None)
    by_profile = [
        ProfileCount(pid, *slugs.get(pid or "", unnamed), counts)
        for pid, counts in profiles.items()
    ]
    by_profile.sort(key=lambda p: (p.slug is None, p.slug or ""))
    today = now.astimezone(UTC).date()
    expiring = await store.certificates_per_day(
        "not_after",
        start=now,
        end=_midnight(today + timedelta(days=EXPIRING_DAYS)),
        profile_ids=reach,
        active_only=True,
    )
    first_issued = today - timedelta(days=ISSUED_DAYS - 1)
    issued = await store.certificates_per_day(
        "created_at",
        start=_midnight(first_issued),
        end=_midnight(today + timedelta(days=1)),
        profile_ids=reach,
    )
    renewals, renewals_total = await store.failed_renewals(limit=LIST_LIMIT, profile_ids=reach)
    validations = await store.failed_validations(
        since=now - timedelta(days=FAILED_VALIDATION_DAYS), limit=LIST_LIMIT, profile_ids=reach
    )

    def slug(profile_id: str | None) -> str | None:
        return slugs[profile_id][0] if profile_id in slugs else None

    return Summary(
        now=now,
        by_status=by_status,
        by_profile=by_profile,
        expiring=_days(today, EXPIRING_DAYS, expiring),
        issued=_days(first_issued, ISSUED_DAYS, issued),
        failed_renewals=[FailedRenewal(c, slug(c.profile_id)) for c in renewals],
        failed_renewals_total=renewals_total,
        failed_validations=[FailedChallenge(v, slug(v.profile_id)) for v in validations],
    )
