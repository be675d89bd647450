"""RFC 8555 7.1.1 directory and 7.2 newNonce."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from acme_server.acme.handlers.common import profile_of
from acme_server.services.profiles.lookup import acme_profiles
from acme_server.services.profiles.settings import EnrollmentConfig
from acme_server.validation.challenges import implemented


async def directory(request: Request) -> JSONResponse:
    state, profile, urls = await profile_of(request)
    settings = state.services.settings
    meta: dict[str, object] = {
        "termsOfService": settings.terms_url,
        "website": settings.website_url or settings.base_url,
        "caaIdentities": settings.caa_identity_list,
        "externalAccountRequired": EnrollmentConfig.of(profile).eab_required,
        # Not in RFC 8555 (clients ignore unknown meta fields): the challenge types this
        # profile's authorizations offer.
        "challengeTypes": list(implemented(EnrollmentConfig.of(profile).challenge_types)),
    }
    profiles = await acme_profiles(state.services)
    if len(profiles) > 1:
        meta["profiles"] = {p.slug: p.description or p.name for p in profiles}
    return JSONResponse(
        {
            "newNonce": urls.new_nonce,
            "newAccount": urls.new_account,
            "newOrder": urls.new_order,
            "revokeCert": urls.revoke_cert,
            "keyChange": urls.key_change,
            "renewalInfo": urls.renewal_info,
            "meta": meta,
        }
    )


async def new_nonce(request: Request) -> Response:
    """HEAD answers 200 and GET 204 (RFC 8555 7.2); the middleware adds the nonce itself."""
    await profile_of(request)
    status = 200 if request.method == "HEAD" else 204
    return Response(status_code=status, headers={"Cache-Control": "no-store"})


async def terms(request: Request) -> Response:
    return Response(
        "Certificates from this private CA are for the operator's own systems. "
        "Keep private keys secret; revoke a certificate when its key is compromised.\n",
        media_type="text/plain",
    )
