"""AES-256-GCM at rest and the key-encryption key's loading and creation."""

from __future__ import annotations

import base64
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ca_core.errors import KEKError
from ca_core.kek import (
    KEK_ENV,
    KeyEncryptionKey,
    decrypt_private_key,
    encrypt_private_key,
    load_or_create_kek,
)
from ca_core.keys import private_key_to_pem
from pki_types.model import KeyAlgorithm
from tests.ca_core.helpers import cached_key

KEY = bytes(range(32))
WRONG = "cannot decrypt: wrong key-encryption key or corrupted data"


def test_round_trip_and_blob_format() -> None:
    kek = KeyEncryptionKey(KEY)
    blob = kek.encrypt(b"secret", aad=b"ca:1")
    assert blob.startswith(b"kek1")
    assert len(blob) == 4 + 12 + len(b"secret") + 16
    assert kek.decrypt(blob, aad=b"ca:1") == b"secret"


def test_every_encryption_uses_a_fresh_nonce() -> None:
    kek = KeyEncryptionKey(KEY)
    nonces = {kek.encrypt(b"x", aad=b"")[4:16] for _ in range(50)}
    assert len(nonces) == 50


def test_aad_binds_the_blob_to_its_row() -> None:
    kek = KeyEncryptionKey(KEY)
    blob = kek.encrypt(b"secret", aad=b"ca:1")
    with pytest.raises(KEKError, match=f"^{WRONG}$"):
        kek.decrypt(blob, aad=b"ca:2")


def test_a_wrong_kek_cannot_decrypt() -> None:
    blob = KeyEncryptionKey(KEY).encrypt(b"secret", aad=b"a")
    with pytest.raises(KEKError, match=f"^{WRONG}$"):
        KeyEncryptionKey(bytes(32)).decrypt(blob, aad=b"a")


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_corrupted_blobs_are_refused(position: int) -> None:
    kek = KeyEncryptionKey(KEY)
    blob = bytearray(kek.encrypt(b"secret", aad=b"a"))
    blob[position] ^= 0x01
    with pytest.raises(KEKError, match=f"^{WRONG}$"):
        kek.decrypt(bytes(blob), aad=b"a")


@pytest.mark.parametrize("blob", [b"", b"kek1", b"kek1" + bytes(27)])
def test_truncated_blobs_are_refused(blob: bytes) -> None:
    with pytest.raises(KEKError, match=f"^{WRONG}$"):
        KeyEncryptionKey(KEY).decrypt(blob, aad=b"")


def test_a_kek_must_be_32_bytes() -> None:
    with pytest.raises(KEKError, match="must be 32 bytes, got 16"):
        KeyEncryptionKey(bytes(16))


def test_fingerprint_is_short_stable_and_does_not_reveal_the_key() -> None:
    kek = KeyEncryptionKey(KEY)
    fingerprint = kek.fingerprint()
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0
    assert fingerprint == KeyEncryptionKey(KEY).fingerprint()
    assert fingerprint != KeyEncryptionKey(bytes(32)).fingerprint()
    assert fingerprint not in KEY.hex()
    assert KEY.hex() not in repr(kek) and fingerprint in repr(kek)


@pytest.mark.parametrize("alg", [KeyAlgorithm.RSA_2048, KeyAlgorithm.EC_P384])
def test_private_keys_round_trip_as_pkcs8_der(alg: KeyAlgorithm) -> None:
    kek = KeyEncryptionKey(KEY)
    key = cached_key(alg)
    blob = encrypt_private_key(kek, key, aad=b"cert:7")
    assert private_key_to_pem(decrypt_private_key(kek, blob, aad=b"cert:7")) == (
        private_key_to_pem(key)
    )
    with pytest.raises(KEKError, match=WRONG):
        decrypt_private_key(kek, blob, aad=b"cert:8")


@pytest.mark.parametrize(
    "encode",
    [base64.b64encode, base64.urlsafe_b64encode, lambda k: base64.urlsafe_b64encode(k)[:-1]],
    ids=["base64", "base64url", "base64url-unpadded"],
)
def test_kek_from_the_environment(encode: object, tmp_path: Path) -> None:
    key = bytes([0xFB, 0xFF] * 16)  # gives "+/" in base64 and "-_" in base64url
    text = encode(key).decode()  # type: ignore[operator]
    kek = load_or_create_kek(tmp_path, env={KEK_ENV: text})
    assert kek.fingerprint() == KeyEncryptionKey(key).fingerprint()
    assert not (tmp_path / "kek.key").exists()


@pytest.mark.parametrize("value", ["", "not base64!", base64.b64encode(bytes(31)).decode()])
def test_a_bad_kek_in_the_environment_names_the_variable(value: str, tmp_path: Path) -> None:
    with pytest.raises(KEKError, match=r"^KMS_KEK must be 32 bytes encoded as base64 or base64url"):
        load_or_create_kek(tmp_path, env={KEK_ENV: value})


def test_kek_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        first = load_or_create_kek(tmp_path / "data", env={})
    finally:
        os.umask(old_umask)
    path = tmp_path / "data" / "kek.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["kek.key"]  # no temporary left
    assert base64.urlsafe_b64decode(path.read_text().strip() + "=") and first.to_text() in (
        path.read_text()
    )
    assert load_or_create_kek(tmp_path / "data", env={}).fingerprint() == first.fingerprint()


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    from_file = load_or_create_kek(tmp_path, env={})
    from_env = load_or_create_kek(tmp_path, env={KEK_ENV: base64.b64encode(KEY).decode()})
    assert from_env.fingerprint() != from_file.fingerprint()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_kek_file_readable_by_others_is_refused(mode: int, tmp_path: Path) -> None:
    load_or_create_kek(tmp_path, env={})
    (tmp_path / "kek.key").chmod(mode)
    with pytest.raises(KEKError, match=rf"its mode is {mode:04o}.*run: chmod 600"):
        load_or_create_kek(tmp_path, env={})


def test_a_garbled_kek_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kek.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"short\n")
    os.close(fd)
    with pytest.raises(KEKError, match=r"kek.key must hold 32 bytes encoded as base64url text"):
        load_or_create_kek(tmp_path, env={})


def test_the_process_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEK_ENV, base64.b64encode(KEY).decode())
    assert load_or_create_kek(tmp_path).fingerprint() == KeyEncryptionKey(KEY).fingerprint()


def test_an_unreadable_kek_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "kek.key").mkdir(mode=0o700)
    with pytest.raises(KEKError, match=r"^cannot read the key-encryption key file .*kek\.key: "):
        load_or_create_kek(tmp_path, env={})


def test_concurrent_first_use_agrees_on_one_kek(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        keks = list(pool.map(lambda _: load_or_create_kek(tmp_path, env={}), range(16)))
    assert len({k.fingerprint() for k in keks}) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["kek.key"]
