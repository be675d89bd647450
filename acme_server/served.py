"""Where `kms serve` is reached, recorded in its data directory for the other commands.

Every URL is Settings.base_url (the external URL setting, else the scheme, host and port
the server is told) or built on it. `kms serve --port 9443` is told its port on its
command line, which `kms eab create` or `kms profile show` on the same data directory is
not: so the server, once it listens, writes its URL settings to <data-dir>/served.json, and
the other commands take them as the lowest layer of their own settings (under the config
file, KMS_* variables and flags, which still win). The URLs they print are then the ones
the server answers at and prints itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acme_server.private_files import write_private
from acme_server.settings import Settings

SERVED_FILE = "served.json"
URL_SETTINGS = ("host", "port", "plain_http", "external_url", "public_pki_url")
"""The settings every published URL derives from (base_url, pki_base_url)."""


def served_path(data_dir: Path) -> Path:
    return data_dir / SERVED_FILE


def record_served(settings: Settings) -> None:
    """Write the URL settings `kms serve` runs with (atomically; the data directory is the
    owner's alone, so is the file)."""
    document = {name: getattr(settings, name) for name in URL_SETTINGS}
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    write_private(served_path(settings.data_dir), text.encode())


def served_settings(data_dir: Path) -> dict[str, Any]:
    """The URL settings the last `kms serve` on `data_dir` recorded; {} when none did (or
    the file is unreadable: the command's own settings alone then decide)."""
    try:
        document = json.loads(served_path(data_dir).read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        name: document[name]
        for name in URL_SETTINGS
        if isinstance(document.get(name), str | int | bool)
    }
