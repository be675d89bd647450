"""One `certificates[]` entry of agent.yaml: its subject, enrollment, renewal, file output,
post-renewal command and ACME settings, checked into a CertificateConfig (agent.config_file
reads the rest of the file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from agent.config import (
    DEFAULT_LOCAL_KEY,
    ENROLLMENTS,
    KEY_ALGORITHMS,
    SUBJECT_KEYS,
    AcmeConfig,
    CertificateConfig,
    ConfigError,
    FileOutput,
    Pkcs12Output,
    PostRenewal,
)
from agent.config_reader import Section
from agent.durations import RenewBefore, parse_duration

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _mode(section: Section) -> int:
    text = section.text("mode", default="0644")
    assert text is not None
    if not re.fullmatch(r"0?[0-7]{3}", text):
        raise ConfigError(f"{section.key('mode')}: must be an octal file mode such as 0644")
    mode = int(text, 8)
    if mode & 0o600 != 0o600:
        raise ConfigError(f"{section.key('mode')}: the owner must be able to read and write")
    return mode


def _files(section: Section | None, where: str, base: Path) -> FileOutput:
    if section is None:
        raise ConfigError(f"{where}.file-output: is required")
    pkcs12: Pkcs12Output | None = None
    p12 = section.section("pkcs12")
    if p12 is not None:
        p12_path = p12.path("path", base)
        if p12_path is None:
            raise ConfigError(f"{p12.key('path')}: is required")
        password = p12.secret("password")
        if not password:
            raise ConfigError(f"{p12.key('password')}: is required (or password-env)")
        p12.done()
        pkcs12 = Pkcs12Output(path=p12_path, password=password)
    owner = section.text("owner")
    group = section.text("group")
    if owner is not None and ":" in owner and group is None:
        owner, group = owner.split(":", 1)
    files = FileOutput(
        certificate=section.path("certificate", base),
        chain=section.path("chain", base),
        full_chain=section.path("full-chain", base),
        private_key=section.path("private-key", base),
        pkcs12=pkcs12,
        mode=_mode(section),
        owner=owner or None,
        group=group or None,
    )
    section.done()
    paths = files.paths()
    if not paths:
        raise ConfigError(
            f"{section.where}: name at least one of certificate, chain, "
            "full-chain, private-key, pkcs12"
        )
    seen: dict[Path, str] = {}
    for key, path in paths:
        if path in seen:
            raise ConfigError(f"{section.key(key)}: {path} is also the {seen[path]} path")
        seen[path] = key
    return files


def _acme(section: Section | None, where: str, env: Mapping[str, str]) -> AcmeConfig:
    if section is None:
        section = Section({}, f"{where}.acme", env)
    directory = section.text("directory")
    if directory is not None and not directory.startswith(("https://", "http://")):
        raise ConfigError(f"{section.key('directory')}: must be an http:// or https:// URL")
    kid = section.text("eab-kid")
    hmac_key = section.secret("eab-hmac-key")
    if (kid is None) != (hmac_key is None):
        missing = "eab-kid" if kid is None else "eab-hmac-key"
        raise ConfigError(f"{section.key(missing)}: is required with the other EAB setting")
    config = AcmeConfig(
        directory=directory.rstrip("/") if directory else None,
        eab_kid=kid,
        eab_hmac_key=hmac_key,
        http01_address=section.text("http01-address", default="0.0.0.0") or "0.0.0.0",  # noqa: S104
        http01_port=section.integer("http01-port", 80, 1, 65535),
        contact=section.text("contact"),
    )
    section.done()
    return config


def _post_renewal(section: Section | None) -> PostRenewal | None:
    if section is None:
        return None
    command = section.required("command")
    timeout = section.duration("timeout", timedelta(seconds=60))
    section.done()
    return PostRenewal(command=command, timeout=timeout)


def certificate_config(section: Section, base: Path) -> CertificateConfig:
    """The checked entry; ConfigError naming the key at fault."""
    where = section.where
    name = section.required("name")
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{section.key('name')}: {name!r} must be 1-64 letters, digits, '.', '_' or '-'"
        )
    profile = section.text("profile")
    if not profile:
        raise ConfigError(f"{section.key('profile')}: is required (a profile id or slug)")
    enrollment = section.text("enrollment", default="api-managed")
    if enrollment not in ENROLLMENTS:
        raise ConfigError(
            f"{section.key('enrollment')}: {enrollment!r} is not one of {', '.join(ENROLLMENTS)}"
        )
    key_algorithm = section.text("key-algorithm")
    if key_algorithm is not None and key_algorithm.upper() not in KEY_ALGORITHMS:
        raise ConfigError(
            f"{section.key('key-algorithm')}: unknown key algorithm {key_algorithm!r} "
            f"(one of {', '.join(KEY_ALGORITHMS)})"
        )
    if key_algorithm is None and enrollment != "api-managed":
        key_algorithm = DEFAULT_LOCAL_KEY
    common_name = section.text("common-name", default="") or ""
    alt_names = section.strings("alt-names") or ()
    if not common_name and not alt_names:
        raise ConfigError(f"{where}: give common-name or alt-names")
    subject: dict[str, str] = {}
    subject_section = section.section("subject")
    if subject_section is not None:
        for key, rest_name in SUBJECT_KEYS.items():
            value = subject_section.text(key)
            if value:
                subject[rest_name] = value
        subject_section.done()
    ttl = section.text("ttl")
    if ttl is not None:
        try:
            parse_duration(ttl)
        except ValueError as exc:
            raise ConfigError(f"{section.key('ttl')}: {exc}") from None
        if enrollment == "acme":
            raise ConfigError(
                f"{section.key('ttl')}: not available with acme enrollment "
                "(the profile's default validity applies)"
            )
    metadata_section = section.section("metadata")
    metadata: dict[str, str] = {}
    if metadata_section is not None:
        for key in list(metadata_section.data):
            value = metadata_section.text(str(key))
            metadata[str(key)] = value or ""
        metadata_section.done()
    renew_text = section.text("renew-before", default="33%") or "33%"
    try:
        renew_before = RenewBefore.parse(renew_text)
    except ValueError as exc:
        raise ConfigError(f"{section.key('renew-before')}: {exc}") from None
    key_usages = section.strings("key-usages")
    extended_key_usages = section.strings("extended-key-usages")
    files = _files(section.section("file-output"), where, base)
    post_renewal = _post_renewal(section.section("post-renewal"))
    revoke_superseded = section.flag("revoke-superseded", False)
    acme_section = section.section("acme")
    if acme_section is not None and enrollment != "acme":
        raise ConfigError(f"{acme_section.where}: only for enrollment: acme")
    acme = _acme(acme_section, where, section.env) if enrollment == "acme" else None
    if enrollment == "acme" and (key_usages or extended_key_usages or metadata):
        raise ConfigError(
            f"{where}: key-usages, extended-key-usages and metadata are not available "
            "with acme enrollment (the profile decides them)"
        )
    section.done()
    return CertificateConfig(
        name=name,
        where=where,
        profile=profile,
        enrollment=enrollment,
        common_name=common_name,
        alt_names=alt_names,
        subject=subject,
        key_algorithm=None if key_algorithm is None else key_algorithm.upper(),
        ttl=ttl,
        key_usages=key_usages,
        extended_key_usages=extended_key_usages,
        metadata=metadata,
        renew_before=renew_before,
        files=files,
        post_renewal=post_renewal,
        revoke_superseded=revoke_superseded,
        acme=acme,
    )
