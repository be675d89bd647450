"""The route table: path, methods, handler. The JWS auth mode of each ACME route (jwk, kid or
either) is declared in its handler's call to `verified`."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from acme_server.acme.handlers import (
    accounts,
    authorizations,
    certificates,
    challenges,
    directory,
    orders,
    renewal_info,
)
from acme_server.public import health, pki

P = "/acme/{profile}"


def acme_routes() -> list[BaseRoute]:
    post = ["POST"]
    # Starlette tries routes in order: the ones every issuance polls come first.
    return [
        Route(f"{P}/order/{{order_id}}", orders.order, methods=post),
        Route(f"{P}/authz/{{authz_id}}", authorizations.authorization, methods=post),
        Route(f"{P}/chall/{{challenge_id}}", challenges.challenge, methods=post),
        Route(f"{P}/new-nonce", directory.new_nonce, methods=["GET", "HEAD"]),
        Route(f"{P}/new-order", orders.new_order, methods=post),
        Route(f"{P}/order/{{order_id}}/finalize", orders.finalize, methods=post),
        Route(f"{P}/cert/{{certificate_id}}", certificates.certificate, methods=post),
        Route(f"{P}/directory", directory.directory, methods=["GET"]),
        Route("/acme/directory", directory.directory, methods=["GET"]),
        Route(f"{P}/new-account", accounts.new_account, methods=post),
        Route(f"{P}/account/{{account_id}}", accounts.account, methods=post),
        Route(f"{P}/account/{{account_id}}/orders", accounts.account_orders, methods=post),
        Route(f"{P}/key-change", accounts.key_change, methods=post),
        Route(f"{P}/revoke-cert", certificates.revoke_cert, methods=post),
        Route(f"{P}/renewal-info/{{cert_id}}", renewal_info.renewal_info, methods=["GET"]),
    ]


def public_routes() -> list[BaseRoute]:
    return [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/terms", directory.terms, methods=["GET"]),
        Route("/pki/crl/{ca_id}.crl", pki.crl, methods=["GET"]),
        Route("/pki/ca/{ca_id}.{ext:str}", pki.ca_certificate, methods=["GET"]),
    ]
