"""Stateless nonces (RFC 8555 6.5): minted under a KEK-derived key, checked without the DB."""

from __future__ import annotations

import base64

import pytest

from acme_server.acme.nonces import NONCE_LENGTH, NonceService
from acme_server.acme.problems import AcmeProblem
from ca_core.kek import KeyEncryptionKey

KEK = KeyEncryptionKey(b"k" * 32)
NOW = 1_800_000_000.0


def test_s6_5_nonce_shape_and_round_trip() -> None:
    service = NonceService(KEK)
    nonce = service.issue(NOW)
    assert len(nonce) == NONCE_LENGTH and "=" not in nonce
    assert service.issue(NOW) != nonce
    value, purge_after = service.check(nonce, NOW)
    assert value == nonce
    assert purge_after.timestamp() > NOW + 3600


def test_s6_5_every_process_with_the_kek_accepts_the_nonce() -> None:
    nonce = NonceService(KEK).issue(NOW)
    assert NonceService(KeyEncryptionKey(b"k" * 32)).check(nonce, NOW)[0] == nonce
    with pytest.raises(AcmeProblem, match="not one this server issued"):
        NonceService(KeyEncryptionKey(b"o" * 32)).check(nonce, NOW)


def test_s6_5_expired_nonce_is_refused() -> None:
    service = NonceService(KEK)
    nonce = service.issue(NOW)
    service.check(nonce, NOW + 3599)
    with pytest.raises(AcmeProblem, match="expired"):
        service.check(nonce, NOW + 3600)


@pytest.mark.parametrize("flip", [0, 10, 30])
def test_s6_5_tampered_nonce_is_refused(flip: int) -> None:
    service = NonceService(KEK)
    raw = bytearray(base64.urlsafe_b64decode(service.issue(NOW)))
    raw[flip] ^= 1
    with pytest.raises(AcmeProblem) as caught:
        service.check(base64.urlsafe_b64encode(bytes(raw)).decode(), NOW)
    assert caught.value.to_dict()["type"].endswith("badNonce")


@pytest.mark.parametrize("nonce", [None, 12, "", "short", "A" * 48, "A" * 47 + "=", "A" * 49])
def test_s6_5_malformed_nonce_is_refused(nonce: object) -> None:
    with pytest.raises(AcmeProblem):
        NonceService(KEK).check(nonce, NOW)


@pytest.mark.parametrize("suffix", ["\n", " ", "=", "\r\n"])
def test_s6_5_a_nonce_with_anything_after_it_is_another_string_and_refused(suffix: str) -> None:
    """A used nonce's row is keyed by the string: "N\n" must not pass as a second use of N."""
    service = NonceService(KEK)
    nonce = service.issue(NOW)
    with pytest.raises(AcmeProblem):
        service.check(nonce + suffix, NOW)
