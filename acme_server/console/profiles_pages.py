"""Certificate profiles in the console: the list, and one profile's page (its policy, issuer,
enrollment methods, defaults, auto-renewal; its ACME directory URL with ready-to-paste
certbot, lego and cert-manager ClusterIssuer snippets; a link to its EAB credentials).
Creating and editing are profiles_forms.py.

Reach is REST's (access.visible / access.profile); the profile is shown from the same
document REST answers (profile_document), so the directory URL is the one REST gives.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from acme_server.console.guard import ConsoleRoute, signed_in
from acme_server.console.profiles_forms import edit_profile_page, new_profile_page
from acme_server.console.templating import page
from acme_server.rest.common import services_of
from acme_server.services import access
from acme_server.services.eab_credentials import list_credentials
from acme_server.services.profiles.admin import profile_document
from acme_server.services.roles import Permission
from store import NotFound

KID = "<EAB_KID>"
HMAC = "<EAB_HMAC_KEY>"
EMAIL = "admin@example.internal"
DOMAIN = "www.example.internal"


def certbot_snippet(directory: str, *, eab: bool, kid: str = KID, hmac: str = HMAC) -> str:
    """certbot certonly against the profile (standalone HTTP-01); the EAB flags in their
    --flag=value form (a base64url key may begin with "-")."""
    binding = f"  --eab-kid={kid} --eab-hmac-key={hmac} \\\n" if eab else ""
    return (
        f"certbot certonly --server {directory} \\\n"
        f"{binding}"
        f"  --standalone -d {DOMAIN} \\\n"
        f"  --agree-tos -m {EMAIL} --no-eff-email"
    )


def lego_snippet(directory: str, *, eab: bool) -> str:
    """lego run against the profile (its own HTTP-01 server)."""
    binding = f"  --eab --kid={KID} --hmac={HMAC} \\\n" if eab else ""
    return (
        f"lego --server {directory} \\\n"
        f"  --email {EMAIL} --accept-tos \\\n"
        f"{binding}"
        f"  --domains {DOMAIN} --http run"
    )


def cert_manager_snippet(directory: str, slug: str, *, eab: bool) -> str:
    """A cert-manager ClusterIssuer for the profile (HTTP-01 through an ingress)."""
    name = f"kms-{slug}"
    binding = ""
    secret = ""
    if eab:
        secret = (
            f"# kubectl -n cert-manager create secret generic {name}-eab \\\n"
            f"#   --from-literal=secret={HMAC}\n"
        )
        binding = (
            "    externalAccountBinding:\n"
            f"      keyID: {KID}\n"
            "      keySecretRef:\n"
            f"        name: {name}-eab\n"
            "        key: secret\n"
        )
    return (
        f"{secret}"
        "apiVersion: cert-manager.io/v1\n"
        "kind: ClusterIssuer\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        "  acme:\n"
        f"    server: {directory}\n"
        f"    email: {EMAIL}\n"
        "    privateKeySecretRef:\n"
        f"      name: {name}-account-key\n"
        f"{binding}"
        "    solvers:\n"
        "      - http01:\n"
        "          ingress:\n"
        "            ingressClassName: nginx\n"
    )


async def profiles_page(request: Request) -> Response:
    """GET /ui/profiles -- the certificate profiles the caller reaches, by slug."""
    services = services_of(request)
    seen = await access.visible(services, signed_in(request).principal, "profile")
    profiles = [p for p in await services.store.list_profiles() if seen is None or p.id in seen]
    policies = {p.id: p.name for p in await services.store.list_policies()}
    cas = {c.id: c.name for c in await services.store.list_cas()}
    documents = [profile_document(services, p) for p in profiles]
    context = {"profiles": documents, "policies": policies, "cas": cas}
    return page(request, "profiles.html", context)


async def profile_page(request: Request) -> Response:
    """GET /ui/profiles/{profile_id} -- one profile, its ACME directory and client snippets."""
    me = signed_in(request)
    services = services_of(request)
    profile = await access.profile(services, me.principal, request.path_params["profile_id"])
    document = profile_document(services, profile)
    try:
        policy = await services.store.get_policy(profile.policy_id)
    except NotFound:
        policy = None
    try:
        ca = None if profile.ca_id is None else await services.store.get_ca(profile.ca_id)
    except NotFound:
        ca = None
    directory = document["acmeDirectoryUrl"]
    eab = document["enrollment"]["acme"]["eabRequired"]
    snippets = None
    if directory is not None:
        snippets = {
            "certbot": certbot_snippet(directory, eab=eab),
            "lego": lego_snippet(directory, eab=eab),
            "certManager": cert_manager_snippet(directory, profile.slug, eab=eab),
        }
    keys = None
    if me.can(Permission.EAB_MANAGE):
        keys = await list_credentials(services, profile)
    context = {
        "profile": document,
        "policy": policy,
        "ca": ca,
        "snippets": snippets,
        "eab_keys": keys,
        "saved": request.query_params.get("saved") == "1",
    }
    return page(request, "profile.html", context)


def routes() -> list[BaseRoute]:
    manage = Permission.PROFILE_MANAGE
    return [
        ConsoleRoute("/ui/profiles", profiles_page, ["GET"], Permission.PROFILE_READ),
        ConsoleRoute("/ui/profiles/new", new_profile_page, ["GET", "POST"], manage),
        ConsoleRoute("/ui/profiles/{profile_id}", profile_page, ["GET"], Permission.PROFILE_READ),
        ConsoleRoute("/ui/profiles/{profile_id}/edit", edit_profile_page, ["GET", "POST"], manage),
    ]
