"""What callers of the store see besides records: the error tree and small shared types.

Error tree::

    StoreError            the database failed or is unreachable (maps to serverInternal)
     +-- NotFound         the row asked for (or a row it references) does not exist
     +-- Conflict         a unique rule or a reference forbids the write
          +-- AlreadyRenewed  the certificate being renewed already has a successor

Transitions (activate, revoke, attach, ...) do not raise when the row is in the wrong
state: they are conditional UPDATEs and return False (STYLE.md habit 4).
Naive datetimes given to any method raise ValueError.
"""

from __future__ import annotations

import enum
from typing import Final, Literal

Backend = Literal["sqlite", "postgresql"]


class StoreError(Exception):
    """The store could not do what was asked; the message is safe to log, not to show."""


class Unavailable(StoreError):
    """The database cannot be reached or is not answering (refused, reset, shut down,
    locked past the busy timeout): nothing was done, and the same call may succeed later."""


class NotFound(StoreError):
    """The row asked for, or a row a write refers to, does not exist."""


class Conflict(StoreError):
    """A unique value is taken, or the row is still referenced; the message names which."""


class InvalidText(StoreError, ValueError):
    """A value the database cannot store or compare: text holding a NUL character, which
    PostgreSQL refuses in text and JSON columns. A ValueError, as any malformed argument."""


class AlreadyRenewed(Conflict):
    """A renewal was reserved for a certificate that already has a successor."""


class Unset(enum.Enum):
    """Marks an update argument the caller left alone (None is a value for some columns)."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET
