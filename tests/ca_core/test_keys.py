"""Key generation, identification and PEM round trips."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ca_core.errors import BadKey
from ca_core.hierarchy import create_root_ca
from ca_core.keys import (
    agenerate_private_key,
    generate_private_key,
    key_algorithm_of,
    load_private_key_pem,
    private_key_to_pem,
    public_key_matches,
)
from pki_types.model import HashAlgorithm, KeyAlgorithm, SubjectAttributes
from tests.ca_core.helpers import cached_key, now, openssl


@pytest.mark.parametrize("alg", list(KeyAlgorithm))
def test_generated_key_has_the_requested_algorithm(alg: KeyAlgorithm) -> None:
    key = cached_key(alg)
    assert key_algorithm_of(key.public_key()) is alg
    if isinstance(key, rsa.RSAPrivateKey):
        assert key.public_key().public_numbers().e == 65537


def test_generate_private_key_makes_fresh_keys() -> None:
    a = generate_private_key(KeyAlgorithm.EC_P256)
    b = generate_private_key(KeyAlgorithm.EC_P256)
    assert a.public_key() != b.public_key()


async def test_agenerate_runs_in_a_worker_thread_while_the_loop_keeps_ticking() -> None:
    loop = asyncio.get_running_loop()
    workers: list[int] = []
    executor = ThreadPoolExecutor(
        max_workers=1, initializer=lambda: workers.append(threading.get_ident())
    )
    loop.set_default_executor(executor)  # asyncio.to_thread runs on the default executor
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())  # first runs once agenerate awaits
    key = await agenerate_private_key(KeyAlgorithm.RSA_4096)
    done.set()
    await task
    await loop.shutdown_default_executor()
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 4096
    assert workers and workers[0] != threading.get_ident()
    assert ticks > 0


def test_key_algorithm_of_refuses_rsa_1024() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(BadKey, match=r"^unsupported RSA key size 1024 bits: use 2048, 3072"):
        key_algorithm_of(key.public_key())


def test_key_algorithm_of_refuses_a_small_rsa_exponent() -> None:
    key = rsa.generate_private_key(public_exponent=3, key_size=2048)
    with pytest.raises(BadKey, match=r"^unsupported RSA public exponent 3: use 65537$"):
        key_algorithm_of(key.public_key())


def test_key_algorithm_of_refuses_ed25519_for_now() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(BadKey, match=r"^unsupported key type Ed25519: supported key algorithms"):
        key_algorithm_of(key.public_key())


def test_key_algorithm_of_refuses_secp256k1() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(BadKey, match=r"^unsupported elliptic curve secp256k1: use P-256"):
        key_algorithm_of(key.public_key())


@pytest.mark.parametrize("alg", list(KeyAlgorithm))
def test_pem_round_trip_is_unencrypted_pkcs8(alg: KeyAlgorithm, tmp_path: Path) -> None:
    key = cached_key(alg)
    pem = private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert load_private_key_pem(pem).private_numbers() == key.private_numbers()
    path = tmp_path / "key.pem"
    path.write_bytes(pem)
    assert openssl("pkey", "-in", path, "-check", "-noout").returncode == 0


@pytest.mark.parametrize("data", [b"", b"garbage", b"-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_load_private_key_pem_refuses_garbage(data: bytes) -> None:
    with pytest.raises(BadKey, match=r"^cannot read the private key: expected an unencrypted PEM"):
        load_private_key_pem(data)


def test_load_private_key_pem_refuses_an_unsupported_type() -> None:
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(BadKey, match="unsupported key type Ed25519"):
        load_private_key_pem(pem)


def test_load_private_key_pem_refuses_an_encrypted_key() -> None:
    pem = cached_key(KeyAlgorithm.EC_P256).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(BadKey, match="expected an unencrypted PEM private key"):
        load_private_key_pem(pem)


def test_public_key_matches_only_its_own_certificate() -> None:
    key = cached_key(KeyAlgorithm.EC_P256)
    other = cached_key(KeyAlgorithm.EC_P256, "other")
    ca = create_root_ca(
        key=key,
        subject=SubjectAttributes(common_name="k"),
        hash_alg=HashAlgorithm.SHA256,
        validity=timedelta(days=1),
        now=now(),
    )
    assert public_key_matches(key, ca.certificate)
    assert not public_key_matches(other, ca.certificate)
    assert not public_key_matches(cached_key(KeyAlgorithm.RSA_2048), ca.certificate)
