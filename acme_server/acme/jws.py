"""RFC 8555 section 6.2: the JWS of every ACME POST, checked cheapest first.

1. Content-Type application/jose+json (415), size cap, flattened JSON serialization only,
   no unprotected header.
2. Protected header: alg in the allow-list (no `none`, no MACs), the nonce's shape, MAC and
   expiry (acme_server/acme/nonces.py, no database work), `url` equal to the URL this request
   reached (built from the external base URL), exactly one of jwk/kid.
3. The key: from `jwk` (vetted by ca_core.goodkey: RSA 2048/3072/4096 with e=65537 and no
   small factor, close primes or ROCA fingerprint, P-256/384/521, Ed25519, not on the
   operator's blocklist) or the account named by
   `kid` (which must exist in this profile and be valid).
4. The signature, with cryptography on the key object.
5. The nonce, used once across all processes (after the signature, so forgeries cost no
   database write).

Parsed keys are cached per process (`_KEYS`: RFC 7638 thumbprint -> AccountKey, bounded),
so josepy parses each account key once. A key's thumbprint names exactly one key, so a
cached entry can never be stale.

A kid-signed request costs ONE store call, `use_nonce_and_get_account`: it inserts the
nonce and then reads the account row. The signature is verified before that call (with
the cached key of the thumbprint this process last saw for the account, `_ACCOUNTS`), so
a forgery costs no write. Why a deactivated account or a replaced key is never accepted:

- The account row that decides is read in the nonce call, after the nonce insert committed,
  i.e. it reflects every deactivation or keyChange committed before this request used its
  nonce (the same guarantee the old separate read gave); nothing about the account's
  status or key is taken from the per-process cache.
- The status and profile are checked on that row: anything but `valid` in this profile is
  refused (unauthorized / accountDoesNotExist), whatever the cache said.
- If the row's thumbprint differs from the one whose key verified the signature (a
  keyChange, possibly in another process), the signature is verified again with the
  row's key, and refused if it does not verify. So a request is only ever accepted under
  the key the account has at the moment its nonce is consumed.
- The first request for an account in a process (nothing cached), and any request whose
  signature the cached key does not verify (a forgery, or a keyChange made by any
  process), reads the account first and verifies with its current key; the row read in
  the nonce call is then checked as above, so a change between the two reads is
  caught too.
A refused request has still used its nonce, which RFC 8555 6.5 allows (the error response
carries a fresh one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request

from acme_server import jose
from acme_server.acme.jwk import AccountKey, AccountPublicKey, account_key_from_jwk
from acme_server.acme.nonces import NonceService, replayed
from acme_server.acme.problems import (
    AcmeProblem,
    account_does_not_exist,
    bad_signature_algorithm,
    malformed,
    unauthorized,
)
from acme_server.acme.urls import AcmeUrls
from acme_server.jose import ALLOWED_ALGS, BAD_ALGORITHM, FlatJWS, JoseError
from ca_core.goodkey import EMPTY_BLOCKLIST, KeyBlocklist
from store import AccountRecord, NotFound, Store

JOSE_JSON = "application/jose+json"
MAX_JWS_BYTES = 64 * 1024  # a CSR with many names fits several times over

AuthMode = Literal["jwk", "kid", "either"]


@dataclass(frozen=True, slots=True)
class VerifiedPost:
    url: str
    payload: dict[str, Any] | None  # None for POST-as-GET (empty payload)
    key: AccountKey
    account: AccountRecord | None  # set when signed with kid
    jws: FlatJWS

    def require_account(self) -> AccountRecord:
        if self.account is None:
            raise malformed("this request must be signed with the account URL (kid)")
        return self.account


def _problem(exc: JoseError) -> AcmeProblem:
    if exc.kind == BAD_ALGORITHM:
        return bad_signature_algorithm(exc.detail, ALLOWED_ALGS)
    return malformed(exc.detail)


def parse_flattened(body: bytes) -> FlatJWS:
    try:
        return jose.parse_flattened(body)
    except JoseError as exc:
        raise _problem(exc) from None


def decode_payload(jws: FlatJWS) -> dict[str, Any] | None:
    try:
        return jose.decode_payload(jws)
    except JoseError as exc:
        raise _problem(exc) from None


def check_alg(alg: object) -> str:
    try:
        return jose.check_alg(alg)
    except JoseError as exc:
        raise _problem(exc) from None


def verify_signature(
    alg: str, key: AccountPublicKey, signing_input: bytes, signature: bytes
) -> None:
    try:
        jose.verify_signature(alg, key, signing_input, signature)
    except JoseError as exc:
        raise _problem(exc) from None


async def read_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JOSE_JSON:
        raise malformed(f"Content-Type must be {JOSE_JSON}", status=415)
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_JWS_BYTES:
        raise malformed(f"the request body exceeds {MAX_JWS_BYTES} bytes", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JWS_BYTES:
            raise malformed(f"the request body exceeds {MAX_JWS_BYTES} bytes", status=413)
    return bytes(body)


async def verify_post(
    request: Request,
    *,
    store: Store,
    nonces: NonceService,
    urls: AcmeUrls,
    profile_id: str,
    auth: AuthMode,
    blocklist: KeyBlocklist = EMPTY_BLOCKLIST,
) -> VerifiedPost:
    jws = parse_flattened(await read_body(request))
    header = jws.protected
    alg = check_alg(header.get("alg"))
    nonce, nonce_expires = nonces.check(header.get("nonce"))
    scope = request.scope
    query = scope.get("query_string", b"").decode("latin-1")
    path = scope.get("root_path", "") + scope["path"]
    expected_url = urls.base_url + path + (f"?{query}" if query else "")
    if header.get("url") != expected_url:
        raise unauthorized(
            f"the JWS url {header.get('url')!r} does not match the request URL {expected_url!r}"
        )
    has_jwk, has_kid = "jwk" in header, "kid" in header
    if has_jwk == has_kid:
        raise malformed("the JWS protected header needs exactly one of jwk and kid")
    if auth == "kid" and has_jwk:
        raise malformed("this resource needs a JWS signed with the account URL (kid), not a jwk")
    if auth == "jwk" and has_kid:
        raise malformed("this resource needs a JWS carrying the key (jwk), not a kid")
    if has_jwk:
        key = account_key_from_jwk(header["jwk"], blocklist)
        verify_signature(alg, key.public_key, jws.signing_input, jws.signature)
        payload = decode_payload(jws)
        if not await store.use_nonce(nonce, nonce_expires):
            raise replayed()
        return VerifiedPost(url=expected_url, payload=payload, key=key, account=None, jws=jws)
    kid = header["kid"]
    account_id = _account_id(urls, kid)
    thumbprint = _ACCOUNTS.get(account_id)
    cached = None if thumbprint is None else _KEYS.get(thumbprint)
    if cached is not None:
        try:
            verify_signature(alg, cached.public_key, jws.signing_input, jws.signature)
        except AcmeProblem:  # a forgery, or a keyChange (in any process): read the account
            cached = None
    if cached is None:  # also the account's first request in this process
        first = _checked_account(await _read_account(store, account_id), kid, profile_id)
        cached = _key_for(first.jwk_thumbprint, first.jwk)
        verify_signature(alg, cached.public_key, jws.signing_input, jws.signature)
    key = cached
    payload = decode_payload(jws)
    fresh, row = await store.use_nonce_and_get_account(nonce, nonce_expires, account_id)
    if not fresh:
        raise replayed()
    if row is None:
        _ACCOUNTS.pop(account_id, None)
        raise account_does_not_exist(f"no account at {kid}")
    account = _checked_account(row, kid, profile_id)
    _remember(account_id, account.jwk_thumbprint)
    if account.jwk_thumbprint != key.thumbprint:  # keyChange since: the current key decides
        key = _key_for(account.jwk_thumbprint, account.jwk)
        verify_signature(alg, key.public_key, jws.signing_input, jws.signature)
    return VerifiedPost(url=expected_url, payload=payload, key=key, account=account, jws=jws)


# Per-process caches (see the module docstring): bounded, oldest entries dropped first.
KEY_CACHE_SIZE = 10_000
_KEYS: dict[str, AccountKey] = {}  # RFC 7638 thumbprint -> parsed key
_ACCOUNTS: dict[str, str] = {}  # account id -> the thumbprint last seen (a hint only)


def _bounded_put(cache: dict[str, Any], name: str, value: Any) -> None:
    if name not in cache and len(cache) >= KEY_CACHE_SIZE:
        del cache[next(iter(cache))]
    cache[name] = value


def _remember(account_id: str, thumbprint: str) -> None:
    if _ACCOUNTS.get(account_id) != thumbprint:
        _bounded_put(_ACCOUNTS, account_id, thumbprint)


def _key_for(thumbprint: str, jwk: dict[str, Any]) -> AccountKey:
    key = _KEYS.get(thumbprint)
    if key is None:
        key = account_key_from_jwk(jwk)
        _bounded_put(_KEYS, key.thumbprint, key)
    return key


def _account_id(urls: AcmeUrls, kid: object) -> str:
    if not isinstance(kid, str):
        raise malformed("kid must be a string (the account URL)")
    account_id = urls.account_id_from_kid(kid)
    if account_id is None:
        raise account_does_not_exist(f"{kid!r} is not an account URL of this directory")
    return account_id


async def _read_account(store: Store, account_id: str) -> AccountRecord | None:
    try:
        return await store.get_account(account_id)
    except NotFound:
        return None


def _checked_account(account: AccountRecord | None, kid: str, profile_id: str) -> AccountRecord:
    if account is None or account.profile_id != profile_id:
        raise account_does_not_exist(f"no account at {kid}")
    if account.status != "valid":
        raise unauthorized(f"the account is {account.status}")
    return account


__all__ = ["ALLOWED_ALGS", "AcmeProblem", "AuthMode", "FlatJWS", "VerifiedPost", "verify_post"]
