"""ACME accounts and orders in the console, read-only, so an operator can answer "why did
this client's order fail": every account (paged, newest first), one account's orders with
their status, identifiers and errors, and one order's authorizations and challenges with
each error's problem document and the certificate it issued.

Permission: ca.manage (admins). ACME accounts span every profile and carry their
clients' contacts and EAB bindings, and no read permission is scoped to them (an issuer's
or reader's grants cover certificates, not a profile's ACME clients), so these pages are
for those who run the CA, as the navigation already shows them.
The reads are the store's (store/queries/acme_browse.py); an unknown id is the 404 page.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from acme_server.console.audit_pages import page_info, page_number
from acme_server.console.guard import ConsoleRoute
from acme_server.console.templating import page
from acme_server.rest.common import services_of
from acme_server.services.context import Services
from acme_server.services.errors import NotFoundError
from acme_server.services.orders import order_status
from acme_server.services.roles import Permission
from store import AccountRecord, NotFound, OrderRecord
from store.columns import utc_now

PAGE_SIZE = 50
ORDERS_SHOWN = 100
PERMISSION = Permission.CA_MANAGE
ACME_ERROR = "urn:ietf:params:acme:error:"


def short_type(problem: dict[str, Any] | None) -> str:
    """A problem document's type without the ACME URN prefix ("unauthorized")."""
    kind = str((problem or {}).get("type") or "")
    return kind.removeprefix(ACME_ERROR)


async def _slugs(services: Services) -> dict[str, str]:
    return {p.id: p.slug for p in await services.store.list_profiles()}


async def _account(services: Services, account_id: str) -> AccountRecord:
    try:
        return await services.store.get_account(account_id)
    except NotFound:
        raise NotFoundError(f"ACME account {account_id} not found") from None


async def _order(services: Services, order_id: str) -> OrderRecord:
    try:
        return await services.store.get_order(order_id)
    except NotFound:
        raise NotFoundError(f"ACME order {order_id} not found") from None


async def accounts_page(request: Request) -> Response:
    """GET /ui/acme/accounts -- every profile's ACME accounts, newest first, paged."""
    services = services_of(request)
    number = page_number(request)
    accounts, total = await services.store.list_acme_accounts(
        limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    context = {
        "accounts": accounts,
        "slugs": await _slugs(services),
        "page_info": page_info(request.url.path, {}, number, PAGE_SIZE, total, len(accounts)),
    }
    return page(request, "acme_accounts.html", context)


async def account_page(request: Request) -> Response:
    """GET /ui/acme/accounts/{account_id} -- the account and its latest orders."""
    services = services_of(request)
    account = await _account(services, request.path_params["account_id"])
    orders, total = await services.store.latest_account_orders(account.id, limit=ORDERS_SHOWN)
    now = utc_now()
    context = {
        "account": account,
        "slugs": await _slugs(services),
        "orders": [
            {"order": o, "status": order_status(o, now), "error_type": short_type(o.error)}
            for o in orders
        ],
        "orders_total": total,
    }
    return page(request, "acme_account.html", context)


async def order_page(request: Request) -> Response:
    """GET /ui/acme/orders/{order_id} -- the order, its authorizations and challenges with
    their errors, and its certificate."""
    services = services_of(request)
    order = await _order(services, request.path_params["order_id"])
    account = await _account(services, order.account_id)
    authorizations = await services.store.order_authorizations(order.id)
    context = {
        "order": order,
        "status": order_status(order, utc_now()),
        "error_type": short_type(order.error),
        "account": account,
        "slugs": await _slugs(services),
        "authorizations": [
            {
                "authz": a,
                "challenges": [{"c": c, "error_type": short_type(c.error)} for c in a.challenges],
            }
            for a in authorizations
        ],
    }
    return page(request, "acme_order.html", context)


def routes() -> list[BaseRoute]:
    return [
        ConsoleRoute("/ui/acme/accounts", accounts_page, ["GET"], PERMISSION),
        ConsoleRoute("/ui/acme/accounts/{account_id}", account_page, ["GET"], PERMISSION),
        ConsoleRoute("/ui/acme/orders/{order_id}", order_page, ["GET"], PERMISSION),
    ]
