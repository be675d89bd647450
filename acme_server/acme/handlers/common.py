"""What every ACME handler shares: the profile of the request, the verified JWS, JSON replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.acme.jws import AuthMode, VerifiedPost, verify_post
from acme_server.acme.middleware import PROFILE_SCOPE_KEY
from acme_server.acme.state import AcmeState
from acme_server.acme.urls import AcmeUrls
from acme_server.jsonutil import FastJSONResponse
from acme_server.services.context import Services
from store import ProfileRecord


@dataclass(frozen=True, slots=True)
class AcmeRequest:
    state: AcmeState
    profile: ProfileRecord
    urls: AcmeUrls
    post: VerifiedPost

    @property
    def services(self) -> Services:
        return self.state.services


def acme_state(request: Request) -> AcmeState:
    state: AcmeState = request.app.state.acme
    return state


async def profile_of(request: Request) -> tuple[AcmeState, ProfileRecord, AcmeUrls]:
    state = acme_state(request)
    profile = await state.profile(request.path_params.get("profile"))
    request.scope[PROFILE_SCOPE_KEY] = profile.slug  # the Link rel="index" of the reply
    return state, profile, state.urls(profile)


async def verified(request: Request, auth: AuthMode) -> AcmeRequest:
    state, profile, urls = await profile_of(request)
    post = await verify_post(
        request,
        store=state.services.store,
        nonces=state.nonces,
        urls=urls,
        profile_id=profile.id,
        auth=auth,
        blocklist=state.services.key_blocklist,
    )
    return AcmeRequest(state=state, profile=profile, urls=urls, post=post)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def acme_json(
    data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return FastJSONResponse(data, status_code=status, headers=headers)


def link(url: str, rel: str) -> str:
    return f'<{url}>;rel="{rel}"'
