"""RFC 9773 section 4: the renewalInfo resource.

GET <renewalInfo>/<certID> needs no JWS (section 4.1): it answers the suggested window
(services/ari.py) with Retry-After, 404 for a certificate this CA did not issue and
`malformed` for a certID that is not one. newOrder's `replaces` (section 5) is
services/replacement.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.acme.handlers.common import profile_of
from acme_server.acme.messages import rfc3339
from acme_server.services import ari


async def renewal_info(request: Request) -> JSONResponse:
    state, _, _ = await profile_of(request)
    services = state.services
    record = await ari.find_by_cert_id(services, request.path_params["cert_id"])
    now = datetime.now(UTC)
    window = ari.suggested_window(record, await ari.renew_before_days(services, record), now)
    body = {"suggestedWindow": {"start": rfc3339(window.start), "end": rfc3339(window.end)}}
    return JSONResponse(body, headers={"Retry-After": str(ari.retry_after(window, now))})
