"""What the wire fuzz tests send, area by area, as hypothesis strategies of RawRequests:

- `acme_requests`: every ACME route (real ids and spoiled ones) under hostile profile
  segments, any method, odd Content-Type, JWS bodies signed right (by the account, by a key
  with no account), signed with hostile protected headers, mutated, or not JWS at all;
- `rest_requests`: every REST route under /api/ with no token, a bad token or a live one,
  JSON bodies shaped like each route's own (tests/fuzz/wire_bodies.py) and not;
- `public_requests`: /healthz, /terms, /pki/ and /acme/directory, other request-target
  forms, and requests an HTTP parser must refuse.

A quarter of all requests may break HTTP itself (`raw`); the rest are well-formed HTTP/1.1
with hostile content, which reaches the application. Strategies are built once per world:
building them inside each example costs more than sending the request.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from hypothesis import strategies as st
from starlette.routing import Route

from acme_server.rest.routes import rest_routes
from testkit.acme_client import EMPTY, flattened, jwk_of
from tests.fuzz.strategies import ACME_KEYS, JSON, KEYED_JSON, REST_KEYS, mutated_jws
from tests.fuzz.wire_bodies import RestBodies
from tests.fuzz.wire_parts import (
    BODY_BYTES,
    CONTENT_TYPES,
    METHODS,
    RAW_METHODS,
    RawRequest,
    assemble,
    extra_headers,
    field_value,
    json_body,
    query,
    segment,
)
from tests.fuzz.wire_world import DECOY_IDS, WireWorld

_PARAM = re.compile(rb"\{(\w+)(?::\w+)?\}")
ACME_ROUTES = (
    b"new-nonce", b"directory", b"new-account", b"new-order", b"revoke-cert", b"key-change",
    b"account/{account_id}", b"account/{account_id}/orders", b"order/{order_id}",
    b"order/{order_id}/finalize", b"authz/{authz_id}", b"chall/{challenge_id}",
    b"cert/{certificate_id}", b"renewal-info/{cert_id}", b"terms", b"{order_id}",
)  # fmt: skip
REST_ROUTES = tuple(
    (route.path.encode(), tuple(sorted(route.methods or ())))
    for route in rest_routes()
    if isinstance(route, Route)
)
Ids = dict[str, tuple[bytes, ...]]


def _fill(draw: st.DrawFn, template: bytes, ids: Ids, raw: bool) -> bytes:
    """`template` with each {param} a real value, a decoy, or a hostile segment."""

    def value(match: re.Match[bytes]) -> bytes:
        known = ids.get(match.group(1).decode(), ()) + DECOY_IDS
        return segment(draw, known, raw)

    return _PARAM.sub(value, template)


_ANY_METHOD = METHODS | RAW_METHODS


def _method(draw: st.DrawFn, usual: tuple[str, ...], raw: bool) -> bytes:
    if usual and draw(st.integers(0, 4)) > 0:
        return draw(st.sampled_from(usual)).encode()
    return draw(_ANY_METHOD if raw else METHODS)


def _raw(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 3)) == 0


_IDENTIFIER = st.fixed_dictionaries({"type": JSON | st.just("dns"), "value": JSON})
_ACME_PAYLOADS = st.one_of(
    st.just(EMPTY),
    KEYED_JSON,
    st.fixed_dictionaries({"identifiers": JSON | st.lists(_IDENTIFIER, max_size=3)}),
    st.fixed_dictionaries({"csr": JSON, "certificate": JSON}, optional={"reason": JSON}),
    st.fixed_dictionaries({"onlyReturnExisting": st.just(True)}, optional={"contact": JSON}),
)
_SIGNERS = st.sampled_from(("kid", "kid", "kid", "jwk", "stranger"))
_HOSTILE_PROTECTED = st.dictionaries(ACME_KEYS, KEYED_JSON, max_size=2)


def _jws_body(draw: st.DrawFn, world: WireWorld, url: str) -> bytes:
    """A flattened JWS for `url`: well formed and signed (with the last nonce handed out),
    then perhaps given hostile protected members, or mutated after signing."""
    signer = draw(_SIGNERS)
    key = world.stranger_key if signer == "stranger" else world.account_key
    protected: dict[str, Any] = {"alg": "ES256", "nonce": world.nonce(), "url": url}
    if signer == "kid":
        protected["kid"] = world.account_kid
    else:
        protected["jwk"] = jwk_of(key)
    if draw(st.integers(0, 3)) == 0:
        protected.update(draw(_HOSTILE_PROTECTED))
    document = flattened(protected, draw(_ACME_PAYLOADS), key, "ES256")
    if draw(st.integers(0, 3)) == 0:
        return draw(mutated_jws(document))
    return json_body(document)


def _signed_url(draw: st.DrawFn, world: WireWorld, path: bytes, search: bytes) -> str:
    """The URL the server takes the request for (its decoded path, the query as sent, as
    acme_server/acme/jws.py compares them); one time in ten the path as sent instead."""
    sent = path.decode("latin-1")
    decoded = sent if draw(st.integers(0, 9)) == 0 else unquote(sent)
    return world.base_url + decoded + search.decode("latin-1")


def acme_requests(world: WireWorld) -> st.SearchStrategy[RawRequest]:
    routes = st.sampled_from(ACME_ROUTES)

    @st.composite
    def build(draw: st.DrawFn) -> RawRequest:
        raw = _raw(draw)
        profile = segment(draw, world.acme_ids["profile"], raw) if _raw(draw) else b"default"
        path = b"/acme/" + profile + b"/" + _fill(draw, draw(routes), world.acme_ids, raw)
        if draw(st.integers(0, 9)) == 0:
            path += b"/" + segment(draw, (b"x",), raw)
        search = query(draw)
        method = _method(draw, ("POST", "POST", "POST", "GET", "HEAD"), raw)
        headers = extra_headers(draw, raw)
        jws = draw(st.integers(0, 2)) > 0
        if method in (b"GET", b"HEAD") and draw(st.integers(0, 3)):
            body = b""
        elif jws:
            body = _jws_body(draw, world, _signed_url(draw, world, path, search))
        else:
            body = draw(BODY_BYTES)
        if draw(st.integers(0, 9)) > (0 if jws else 2):
            headers.append((b"Content-Type", b"application/jose+json"))
        elif draw(st.booleans()):
            headers.append((b"Content-Type", draw(CONTENT_TYPES)))
        return assemble(draw, method, path + search, world.host, headers, body, raw)

    return build()


def _bad_bearers(token: bytes) -> st.SearchStrategy[bytes]:
    return st.sampled_from(
        [b"Bearer", b"Bearer ", b"Bearer " + token[:-1], b"Bearer " + token + b"x",
         b"bearer  " + token, b"Bearer " + token + b" " + token, b"Basic dXNlcjpwYXNz",
         b"Bearer " + b"A" * 600, b"Bearer %00", b"Bearer \xff\xfe", b"Token " + token,
         b"Bearer " + token.upper(), b"Bearer a.b.c", "Bearer \u0442".encode()]
    ) | st.binary(max_size=40).map(lambda b: b"Bearer " + field_value(b))  # fmt: skip


_AUTH_KINDS = st.sampled_from(("none", "bad", "valid", "valid"))
_API_SEGMENTS = (b"v1", b"openapi.json", b"v2")


def _rest_bodies(world: WireWorld) -> RestBodies:
    ids = world.rest_ids

    def texts(name: str) -> list[str]:
        return [value.decode() for value in ids[name]]

    return RestBodies(texts("policy_id"), texts("ca_id"), texts("profile_id"))


def rest_requests(world: WireWorld) -> st.SearchStrategy[RawRequest]:
    token = world.token.encode()
    bad_bearers, bodies, routes = (
        _bad_bearers(token),
        _rest_bodies(world),
        st.sampled_from(REST_ROUTES),
    )
    generic = st.builds(json_body, st.dictionaries(REST_KEYS, KEYED_JSON, max_size=4))
    decoys: Ids = {name: DECOY_IDS for name in world.rest_ids}

    @st.composite
    def build(draw: st.DrawFn) -> RawRequest:
        raw = _raw(draw)
        auth = draw(_AUTH_KINDS)
        headers: list[tuple[bytes, bytes]] = []
        if auth == "valid":
            headers.append((b"Authorization", b"Bearer " + token))
        elif auth == "bad":
            headers.append((b"Authorization", draw(bad_bearers)))
            if draw(st.integers(0, 5)) == 0:  # a live token beside a bad one
                headers.insert(draw(st.integers(0, 1)), (b"Authorization", b"Bearer " + token))
        methods: tuple[str, ...] = ()
        if draw(st.integers(0, 9)):
            template, methods = draw(routes)
        else:
            template = b"/api/" + segment(draw, _API_SEGMENTS, raw) + b"/x"
        method = _method(draw, methods, raw)
        # Never delete what the other cases need.
        ids = decoys if method == b"DELETE" and auth == "valid" else world.rest_ids
        target = _fill(draw, template, ids, raw) + query(draw)
        headers += extra_headers(draw, raw)
        if draw(st.integers(0, 7)):
            json_type = b"application/json" if draw(st.integers(0, 3)) else draw(CONTENT_TYPES)
            headers.append((b"Content-Type", json_type))
        if method in (b"GET", b"HEAD", b"DELETE") and draw(st.integers(0, 3)) > 0:
            body = b""
        else:
            choice = draw(st.integers(0, 5))
            shaped = bodies.bodies_for(template) if choice > 1 else generic
            body = draw(shaped) if choice else draw(BODY_BYTES)
        return assemble(draw, method, target, world.host, headers, body, raw)

    return build()


def public_requests(world: WireWorld) -> st.SearchStrategy[RawRequest]:
    cas, exts = world.rest_ids["ca_id"], world.rest_ids["ext"]
    fixed = st.sampled_from(
        [b"/healthz", b"/terms", b"/acme/directory", b"/", b"*", b"", b"//healthz",
         b"/healthz/", b"/../healthz", b"/%2e%2e/healthz", b"/healthz#x", b"/favicon.ico",
         b"http://" + world.host + b"/healthz", b"http://evil.test/acme/directory",
         b"127.0.0.1:443", b"/acme", b"/acme/", b"/pki/", b"/pki/crl/.crl", b"/pki/ca/.",
         b"/acme/%13/x", b"/acme/%00/x", b"/acme/%F2%BB%B1%9B/x", b"/pki/crl/%00.crl"]
    )  # fmt: skip

    @st.composite
    def build(draw: st.DrawFn) -> RawRequest:
        raw = _raw(draw)
        shape = draw(st.integers(0, 5))
        if shape == 0:
            path = draw(fixed)
        elif shape <= 2:
            path = b"/pki/crl/" + segment(draw, cas, raw) + b".crl"
        elif shape <= 4:
            path = b"/pki/ca/" + segment(draw, cas, raw) + b"." + segment(draw, exts, raw)
        else:
            path = b"/" + segment(draw, (b"healthz", b"pki"), raw) + b"/" + segment(draw, (b"x",))
        method = _method(draw, ("GET", "GET", "HEAD"), raw)
        headers = extra_headers(draw, raw)
        body = draw(BODY_BYTES) if draw(st.integers(0, 3)) == 0 else b""
        return assemble(draw, method, path + query(draw), world.host, headers, body, raw)

    return build()


# The inputs issue 13 names, sent as they were first seen, before anything random.
KNOWN_HOSTILE = [
    (b"GET", b"/acme/%13/x"),
    (b"HEAD", b"/acme/%00/x"),
    (b"GET", b"/acme/%F2%BB%B1%9B/x"),
    (b"POST", b"/acme/%F2%BB%B1%9B/new-order"),
    (b"HEAD", b"/acme/%7F/new-nonce"),
    (b"GET", b"/pki/crl/%00.crl"),
    (b"GET", b"/pki/ca/%00.pem"),
]


def known_hostile(world: WireWorld) -> list[RawRequest]:
    return [
        RawRequest(
            method + b" " + target + b" HTTP/1.1\r\nHost: " + world.host
            + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            head=method == b"HEAD",
        )
        for method, target in KNOWN_HOSTILE
    ]  # fmt: skip
