"""Certificates on disk, never a mismatched pair: a directory swap.

Each certificate has a directory under the state directory:

    <state-dir>/certs/<name>/
        v7/  cert.pem chain.pem fullchain.pem privkey.pem [bundle.p12] meta.json
        v8/  ...                                  (each file written once, fsynced)
        current -> v8                             (a symlink, replaced by rename)

and every configured output path is a symlink to `<state-dir>/certs/<name>/current/<file>`.
A new certificate is written in full into a staging directory (each file created with its
final mode, written and fsynced, then the directory fsynced), the staging directory is
renamed to `v<N>`, and then `current` is switched to it by renaming a new symlink over it
(rename(2) is atomic) and the directory is fsynced. Whatever moment the agent is killed, the
output paths resolve either to the whole old set or to the whole new set: a key and its
certificate are never mismatched on disk, and no file is ever half-written. Versions other
than `current` and the one before it (kept until it has been revoked, and as a fallback) are
removed; leftover staging directories from a killed run are removed on the next start.

Two markers inside a version directory say what is still to do after it became current:
`hook-pending` (run the post-renewal command) and `revoke-pending` (revoke the superseded
certificate). They are written in the staging directory, so they appear atomically with the
version, and removed once the action is done: the post-renewal command runs once per
installed certificate, again only if the agent was killed while it ran.

Modes: the private key and the PKCS#12 file are 0600; certificate, chain and full chain the
configured mode (0644 by default); directories 0755 so that a service given the files by
`owner` can reach them. Files are chowned to the configured owner/group.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from agent.config import CertificateConfig, ConfigError, FileOutput
from agent.keys import key_matches, load_key, pkcs12_bytes

KEY_MODE = 0o600
DIR_MODE = 0o755
CURRENT = "current"
HOOK_PENDING = "hook-pending"
REVOKE_PENDING = "revoke-pending"
META = "meta.json"
FILE_NAMES = {
    "certificate": "cert.pem",
    "chain": "chain.pem",
    "full-chain": "fullchain.pem",
    "private-key": "privkey.pem",
    "pkcs12": "bundle.p12",
}
_VERSION = re.compile(r"v([0-9]{1,9})")


def serial_text(n: int) -> str:
    """A serial as `openssl x509 -noout -serial` and the server show it: upper-case hex of
    even length, no colons (255 -> "FF", 256 -> "0100"). The server's lookups accept any
    spelling, so older meta.json files and revoke markers in lower case keep working."""
    digits = format(n, "X")
    return digits if len(digits) % 2 == 0 else "0" + digits


@dataclass(frozen=True, slots=True)
class Material:
    """A certificate as the server handed it over, with its private key."""

    certificate_pem: str  # the leaf
    chain_pem: str  # the issuers above it, nearest first ("" when self-signed)
    private_key_pem: str
    certificate_id: str | None = None  # the server's inventory id (REST)

    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode("ascii"))

    def chain(self) -> list[x509.Certificate]:
        if not self.chain_pem.strip():
            return []
        return x509.load_pem_x509_certificates(self.chain_pem.encode("ascii"))


@dataclass(frozen=True, slots=True)
class Installed:
    """The certificate a version directory holds."""

    version: int
    directory: Path
    leaf: x509.Certificate
    meta: Mapping[str, Any]

    @property
    def serial_hex(self) -> str:
        return serial_text(self.leaf.serial_number)

    @property
    def certificate_id(self) -> str | None:
        value = self.meta.get("certificateId")
        return value if isinstance(value, str) else None

    def has(self, marker: str) -> bool:
        return (self.directory / marker).exists()

    def marker(self, marker: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.directory / marker).read_text())
        return data

    def material(self) -> Material:
        return Material(
            certificate_pem=(self.directory / FILE_NAMES["certificate"]).read_text(),
            chain_pem=(self.directory / FILE_NAMES["chain"]).read_text(),
            private_key_pem=(self.directory / FILE_NAMES["private-key"]).read_text(),
            certificate_id=self.certificate_id,
        )


def fsync_dir(path: Path) -> None:
    """Make renames in the directory `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ids(files: FileOutput) -> tuple[int, int]:
    """(uid, gid) to chown to; -1 leaves one unchanged."""
    uid = gid = -1
    if files.owner is not None:
        uid = int(files.owner) if files.owner.isdigit() else pwd.getpwnam(files.owner).pw_uid
    if files.group is not None:
        gid = int(files.group) if files.group.isdigit() else grp.getgrnam(files.group).gr_gid
    return uid, gid


def check_owner(cert: CertificateConfig) -> None:
    """ConfigError when the configured owner or group does not exist."""
    files = cert.files
    try:
        _ids(files)
    except KeyError:
        which = "owner" if files.owner and not files.owner.isdigit() else "group"
        value = files.owner if which == "owner" else files.group
        raise ConfigError(
            f"{cert.where}.file-output.{which}: no such user or group {value!r}"
        ) from None


def write_file(path: Path, data: bytes, mode: int, ids: tuple[int, int] = (-1, -1)) -> None:
    """Create `path` (it must not exist) with `mode`, write and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask does not get a say
        if ids != (-1, -1):
            os.fchown(fd, *ids)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically (a new symlink renamed over the old path)."""
    temporary = link.with_name(f".{link.name}.kms-agent-{secrets.token_hex(4)}")
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_dir(link.parent)


class CertificateFiles:
    """The on-disk state of one configured certificate."""

    def __init__(self, state_dir: Path, cert: CertificateConfig) -> None:
        self.cert = cert
        self.root = state_dir / "certs" / cert.name

    # --- reading ---------------------------------------------------------------------------

    def current(self) -> Installed | None:
        """The installed certificate, or None before the first one (or when unreadable)."""
        link = self.root / CURRENT
        try:
            name = os.readlink(link)
        except OSError:
            return None
        match = _VERSION.fullmatch(name)
        if match is None:
            return None
        return self._load(int(match.group(1)))

    def _load(self, version: int) -> Installed | None:
        directory = self.root / f"v{version}"
        try:
            meta = json.loads((directory / META).read_text())
            pem = (directory / FILE_NAMES["certificate"]).read_bytes()
            leaf = x509.load_pem_x509_certificate(pem)
        except (OSError, ValueError):
            return None
        return Installed(version=version, directory=directory, leaf=leaf, meta=meta)

    def version(self, version: int) -> Installed | None:
        return self._load(version)

    def versions(self) -> list[int]:
        if not self.root.is_dir():
            return []
        found = [_VERSION.fullmatch(entry.name) for entry in self.root.iterdir()]
        return sorted(int(m.group(1)) for m in found if m is not None)

    def outputs_complete(self, installed: Installed) -> bool:
        """Every configured output exists in the installed version (a pkcs12 output added to
        the configuration later is not)."""
        return all(
            (installed.directory / FILE_NAMES[key]).exists() for key, _ in self.cert.files.paths()
        )

    def links_in_place(self) -> bool:
        return all(
            os.path.islink(path) and os.readlink(path) == str(self._target(key))
            for key, path in self.cert.files.paths()
        )

    def _target(self, key: str) -> Path:
        return self.root / CURRENT / FILE_NAMES[key]

    # --- writing ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Make the directories; drop staging leftovers and versions newer than current
        (a run killed between writing a version and switching to it)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        current = self.current()
        for entry in self.root.iterdir():
            if entry.name.startswith(".staging-"):
                shutil.rmtree(entry, ignore_errors=True)
                continue
            match = _VERSION.fullmatch(entry.name)
            if match and (current is None or int(match.group(1)) > current.version):
                shutil.rmtree(entry, ignore_errors=True)

    def install(
        self,
        material: Material,
        *,
        digest: str,
        previous: Installed | None,
        revoke_previous: bool,
        event: str,
    ) -> Installed:
        """Write `material` as a new version and make it current; then the output links."""
        leaf = material.leaf()
        key = load_key(material.private_key_pem)
        if not key_matches(key, leaf):
            raise ValueError("the private key does not belong to the certificate")
        self.prepare()
        number = max(self.versions(), default=0) + 1
        staging = self.root / f".staging-{secrets.token_hex(6)}"
        staging.mkdir(mode=DIR_MODE)
        os.chmod(staging, DIR_MODE)
        files = self.cert.files
        ids = _ids(files)
        chain = material.chain()
        leaf_pem = material.certificate_pem.strip() + "\n"
        chain_pem = material.chain_pem.strip() + "\n" if material.chain_pem.strip() else ""
        write_file(staging / FILE_NAMES["certificate"], leaf_pem.encode(), files.mode, ids)
        write_file(staging / FILE_NAMES["chain"], chain_pem.encode(), files.mode, ids)
        write_file(
            staging / FILE_NAMES["full-chain"], (leaf_pem + chain_pem).encode(), files.mode, ids
        )
        write_file(
            staging / FILE_NAMES["private-key"], material.private_key_pem.encode(), KEY_MODE, ids
        )
        if files.pkcs12 is not None:
            data = pkcs12_bytes(key, leaf, chain, files.pkcs12.password, self.cert.name)
            write_file(staging / FILE_NAMES["pkcs12"], data, KEY_MODE, ids)
        meta = {
            "serialNumber": serial_text(leaf.serial_number),
            "certificateId": material.certificate_id,
            "notBefore": leaf.not_valid_before_utc.isoformat(),
            "notAfter": leaf.not_valid_after_utc.isoformat(),
            "enrollment": self.cert.enrollment,
            "profile": self.cert.profile,
            "requestDigest": digest,
            "installedAt": datetime.now(UTC).isoformat(),
            "event": event,
            "previousVersion": None if previous is None else previous.version,
        }
        write_file(staging / META, json.dumps(meta, indent=2).encode(), files.mode, ids)
        if self.cert.post_renewal is not None:
            write_file(staging / HOOK_PENDING, b"{}", KEY_MODE)
        if revoke_previous and previous is not None:
            pending = {"version": previous.version, "serialNumber": previous.serial_hex}
            write_file(staging / REVOKE_PENDING, json.dumps(pending).encode(), KEY_MODE)
        fsync_dir(staging)
        final = self.root / f"v{number}"
        os.rename(staging, final)
        fsync_dir(self.root)
        replace_symlink(self.root / CURRENT, Path(final.name))  # the switch
        self.link_outputs()
        self.prune()
        installed = self._load(number)
        assert installed is not None
        return installed

    def link_outputs(self) -> None:
        """Each configured path a symlink to current/<file> (made or repaired)."""
        uid, gid = _ids(self.cert.files)
        for key, path in self.cert.files.paths():
            target = self._target(key)
            if os.path.islink(path) and os.readlink(path) == str(target):
                continue
            replace_symlink(path, target)
            if (uid, gid) != (-1, -1):
                os.lchown(path, uid, gid)

    def clear(self, installed: Installed, marker: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (installed.directory / marker).unlink()
        fsync_dir(installed.directory)

    def prune(self) -> None:
        """Keep the current version and the one it replaced while that one still has to be
        revoked, else only the one before current."""
        current = self.current()
        if current is None:
            return
        keep = {current.version}
        previous = current.meta.get("previousVersion")
        if isinstance(previous, int):
            keep.add(previous)
        for number in self.versions():
            if number not in keep:
                shutil.rmtree(self.root / f"v{number}", ignore_errors=True)
