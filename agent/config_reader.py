"""A YAML mapping being read: typed getters whose errors name the key at fault, and a final
check that no unknown key is left."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from agent.config import SECRET_NOT_READ, ConfigError
from agent.durations import parse_duration


class Section:
    """A YAML mapping being read: typed getters that name the key, and a final check that
    no unknown key is left."""

    def __init__(
        self, data: object, where: str, env: Mapping[str, str], *, read_secrets: bool = True
    ) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where or 'the file'}: must be a mapping of keys to values")
        self.data: dict[str, Any] = data
        self.where = where
        self.env = env
        self.read_secrets = read_secrets  # False: secret() looks nothing up (agent status)
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def raw(self, name: str) -> Any:
        self.seen.add(name)
        return self.data.get(name)

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise ConfigError(f"{self.key(name)}: is required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{self.key(name)}: must be a string")
        text = str(value).strip()
        if required and not text:
            raise ConfigError(f"{self.key(name)}: must not be empty")
        return text

    def required(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def path(self, name: str, base: Path) -> Path | None:
        """A file path (`~` expanded); a relative one is relative to `base`."""
        text = self.text(name)
        if text is None:
            return None
        if not text:
            raise ConfigError(f"{self.key(name)}: must not be empty")
        path = Path(text).expanduser()
        return path if path.is_absolute() else base / path

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(f"{self.key(name)}: must be true or false")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{self.key(name)}: must be a whole number from {low} to {high}")
        return value

    def duration(self, name: str, default: timedelta) -> timedelta:
        text = self.text(name)
        if text is None:
            return default
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise ConfigError(f"{self.key(name)}: {exc}") from None

    def strings(self, name: str) -> tuple[str, ...] | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.key(name)}: must be a list of strings")
        return tuple(v.strip() for v in value if v.strip())

    def section(self, name: str) -> Section | None:
        value = self.raw(name)
        if value is None:
            return None
        return Section(value, self.key(name), self.env, read_secrets=self.read_secrets)

    def secret(self, name: str, *, fallback_env: str | None = None) -> str | None:
        """`name` inline, or `name-env` naming an environment variable, or fallback_env.
        Without read_secrets, SECRET_NOT_READ for one the file gives (its variable need not
        be set), None for one it does not."""
        inline = self.text(name)
        env_name = self.text(f"{name}-env")
        if inline is not None and env_name is not None:
            raise ConfigError(f"{self.key(name)}: give {name} or {name}-env, not both")
        if not self.read_secrets:
            return None if inline is None and env_name is None else SECRET_NOT_READ
        if inline is not None:
            return inline
        if env_name is not None:
            value = self.env.get(env_name)
            if not value:
                raise ConfigError(
                    f"{self.key(name + '-env')}: environment variable {env_name} is not set"
                )
            return value
        if fallback_env is not None and self.env.get(fallback_env):
            return self.env[fallback_env]
        return None

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen, key=str)
        if unknown:
            known = ", ".join(sorted(self.seen))
            raise ConfigError(f"{self.key(str(unknown[0]))}: unknown key (known keys: {known})")
