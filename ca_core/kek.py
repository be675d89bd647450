"""Private keys encrypted at rest: AES-256-GCM under a key-encryption key (KEK).

A blob is b"kek1" + 12-byte random nonce + ciphertext||tag. The associated data
(e.g. b"ca:<id>") binds a blob to its row, so a blob copied to another row fails.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ca_core.errors import KEKError
from ca_core.keys import PrivateKey, load_private_key_der

KEK_ENV = "KMS_KEK"
KEK_FILE = "kek.key"
KEK_BYTES = 32
NONCE_BYTES = 12
BLOB_PREFIX = b"kek1"
_TAG_BYTES = 16
_FINGERPRINT_LABEL = b"kms-ca key-encryption-key fingerprint v1\x00"
_DECRYPT_FAILED = "cannot decrypt: wrong key-encryption key or corrupted data"


class KeyEncryptionKey:
    """A 32-byte AES-256-GCM key; its repr shows only the fingerprint."""

    __slots__ = ("_aead", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEK_BYTES:
            raise KEKError(f"a key-encryption key must be {KEK_BYTES} bytes, got {len(key)}")
        self._key = bytes(key)
        self._aead = AESGCM(self._key)

    def __repr__(self) -> str:
        return f"KeyEncryptionKey(fingerprint={self.fingerprint()!r})"

    def encrypt(self, plaintext: bytes, *, aad: bytes) -> bytes:
        """Encrypt under a fresh random nonce, authenticating `aad` too."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return BLOB_PREFIX + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, *, aad: bytes) -> bytes:
        """Decrypt a blob made by `encrypt` with the same KEK and `aad`."""
        header = len(BLOB_PREFIX) + NONCE_BYTES
        if not blob.startswith(BLOB_PREFIX) or len(blob) < header + _TAG_BYTES:
            raise KEKError(_DECRYPT_FAILED)
        nonce = blob[len(BLOB_PREFIX) : header]
        try:
            return self._aead.decrypt(nonce, blob[header:], aad)
        except InvalidTag as exc:
            raise KEKError(_DECRYPT_FAILED) from exc

    def derive_key(self, info: bytes, length: int = 32) -> bytes:
        """A subkey for another purpose (HKDF-SHA256, no salt, `info` names the purpose):
        every process holding this KEK derives the same bytes; they reveal nothing of it."""
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(
            self._key
        )

    def fingerprint(self) -> str:
        """A short id of this KEK (16 hex digits), safe to print and log."""
        return hashlib.sha256(_FINGERPRINT_LABEL + self._key).hexdigest()[:16]

    def to_text(self) -> str:
        """The key as unpadded base64url text, as stored in kek.key."""
        return base64.urlsafe_b64encode(self._key).rstrip(b"=").decode("ascii")


def load_or_create_kek(data_dir: Path, env: Mapping[str, str] | None = None) -> KeyEncryptionKey:
    """The KEK from $KMS_KEK, else from data_dir/kek.key (created 0600 on first use)."""
    environ = os.environ if env is None else env
    if KEK_ENV in environ:
        key = _decode(environ[KEK_ENV])
        if key is None:
            raise KEKError(
                f"{KEK_ENV} must be {KEK_BYTES} bytes encoded as base64 or base64url "
                f"(generate one with: openssl rand -base64 {KEK_BYTES})"
            )
        return KeyEncryptionKey(key)
    path = data_dir / KEK_FILE
    if not path.exists():
        _create(path)
    return _read(path)


def encrypt_private_key(kek: KeyEncryptionKey, key: PrivateKey, *, aad: bytes) -> bytes:
    """Encrypt a private key (PKCS#8 DER inside) for storage."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return kek.encrypt(der, aad=aad)


def decrypt_private_key(kek: KeyEncryptionKey, blob: bytes, *, aad: bytes) -> PrivateKey:
    """Decrypt a blob made by `encrypt_private_key` with the same KEK and `aad`."""
    return load_private_key_der(kek.decrypt(blob, aad=aad))


def _decode(text: str) -> bytes | None:
    """Decode base64 or base64url, padded or not; None unless exactly 32 bytes."""
    compact = "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == KEK_BYTES else None


def _read(path: Path) -> KeyEncryptionKey:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise KEKError(f"cannot read the key-encryption key file {path}: {exc.strerror}") from exc
    if mode & 0o077:
        raise KEKError(
            f"refusing to use the key-encryption key in {path}: its mode is {mode:04o}, "
            f"so group or others can access it; run: chmod 600 {path}"
        )
    key = _decode(text)
    if key is None:
        raise KEKError(f"{path} must hold {KEK_BYTES} bytes encoded as base64url text")
    return KeyEncryptionKey(key)


def _create(path: Path) -> None:
    """Write a new random KEK: 0600 from birth, published by an atomic link."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = KeyEncryptionKey(secrets.token_bytes(KEK_BYTES)).to_text() + "\n"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
