"""RFC 8555 section 7.3.4: External Account Binding.

The binding is a flattened JWS MAC'd with the HMAC key of an EAB credential: protected header
{alg: HS256|HS384|HS512, kid, url == the newAccount URL} and no nonce; its payload is the
account's public JWK, compared with the outer `jwk` by RFC 7638 thumbprint (not by bytes).
The MAC is compared in constant time.
"""

from __future__ import annotations

import binascii
import hmac
from typing import Any

from acme_server.acme.jwk import AccountKey, account_key_from_jwk
from acme_server.acme.problems import AcmeProblem, malformed, unauthorized
from acme_server.jose import b64url_decode
from acme_server.jsonutil import loads_strict
from acme_server.services.eab_credentials import HMAC_ALGS, eab_key_aad
from ca_core.kek import KeyEncryptionKey
from store import EABKeyRecord, NotFound, Store


def _eab_problem(detail: str) -> AcmeProblem:
    return unauthorized(f"external account binding: {detail}")


async def verify_binding(
    binding: Any,
    *,
    store: Store,
    kek: KeyEncryptionKey,
    profile_id: str,
    account_key: AccountKey,
    new_account_url: str,
) -> EABKeyRecord:
    """The EAB credential the binding proves possession of; problems for anything else."""
    if not isinstance(binding, dict) or not all(
        isinstance(binding.get(k), str) for k in ("protected", "payload", "signature")
    ):
        raise malformed("externalAccountBinding must be a flattened JWS object")
    try:
        protected = loads_strict(b64url_decode(binding["protected"]))
        payload = loads_strict(b64url_decode(binding["payload"]))
        signature = b64url_decode(binding["signature"])
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise malformed("externalAccountBinding members must be base64url JSON") from None
    if not isinstance(protected, dict):
        raise malformed("externalAccountBinding protected header must be a JSON object")
    alg = protected.get("alg")
    if alg not in HMAC_ALGS:
        raise malformed("externalAccountBinding alg must be HS256, HS384 or HS512")
    if "nonce" in protected:
        raise malformed("externalAccountBinding must not carry a nonce (RFC 8555 7.3.4)")
    if protected.get("url") != new_account_url:
        raise unauthorized("externalAccountBinding url must equal the newAccount URL")
    kid = protected.get("kid")
    if not isinstance(kid, str) or not kid:
        raise malformed("externalAccountBinding needs a kid")
    try:
        record = await store.get_eab_key(kid)
    except NotFound:
        raise _eab_problem("unknown key identifier") from None
    if record.profile_id != profile_id:
        raise _eab_problem("unknown key identifier")
    if record.revoked_at is not None:
        raise _eab_problem("the key has been revoked")
    if not record.reusable and record.used_at is not None:
        raise _eab_problem("the single-use key has already been used")
    if alg != record.hmac_alg:
        raise _eab_problem(f"the key was created for {record.hmac_alg}, not {alg}")
    key = kek.decrypt(record.encrypted_hmac_key, aad=eab_key_aad(kid))
    signing_input = f"{binding['protected']}.{binding['payload']}".encode()
    expected = hmac.new(key, signing_input, HMAC_ALGS[alg]).digest()
    if not hmac.compare_digest(expected, signature):
        raise _eab_problem("the MAC does not verify")
    if account_key_from_jwk(payload).thumbprint != account_key.thumbprint:
        raise malformed("externalAccountBinding payload must be the account's public key (jwk)")
    return record
