"""The objects every service needs: settings, the store, the key-encryption key and the
domain events bus (services/events.py)."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from acme_server.services.events import EventBus
from acme_server.settings import Settings
from ca_core.goodkey import EMPTY_BLOCKLIST, KeyBlocklist
from ca_core.hierarchy import CAMaterial
from ca_core.kek import KeyEncryptionKey, load_or_create_kek
from store import Store, open_store


def ensure_data_dir(path: Path) -> None:
    """Create the data directory readable by its owner only (it holds the KEK and the DB)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


@dataclass
class Services:
    settings: Settings
    store: Store
    kek: KeyEncryptionKey
    ca_cache: dict[str, CAMaterial] = field(default_factory=dict)
    key_blocklist: KeyBlocklist = EMPTY_BLOCKLIST  # settings.key_blocklist_file, read once
    events: EventBus = field(
        default_factory=EventBus
    )  # subscribers: acme_server/jobs/subscribers.py
    # Refused console sign-ins per client address (monotonic times): services/users/sessions.py
    sign_in_failures: dict[str, deque[float]] = field(default_factory=dict)

    @classmethod
    async def open(cls, settings: Settings, *, migrate: bool = True) -> Services:
        ensure_data_dir(settings.data_dir)
        kek = load_or_create_kek(settings.data_dir)
        blocklist = (
            EMPTY_BLOCKLIST
            if settings.key_blocklist_file is None
            else KeyBlocklist.load(settings.key_blocklist_file)
        )
        store = await open_store(settings.database, migrate=migrate)
        return cls(settings=settings, store=store, kek=kek, key_blocklist=blocklist)

    async def close(self) -> None:
        await self.store.close()
