"""The Store: every noun's queries on one engine, plus opening, migrating and health."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from store.engine import check_schema_name, create_engine, parse_url
from store.interface import Backend
from store.migrate import current_revision, upgrade_to_head
from store.queries_acme_accounts import AccountQueries
from store.queries_acme_authorizations import AuthorizationQueries
from store.queries_acme_eab import EABQueries
from store.queries_acme_nonces import NonceQueries
from store.queries_acme_orders import OrderQueries
from store.queries_audit import AuditQueries
from store.queries_cas import CAQueries
from store.queries_certificates import CertificateQueries
from store.queries_crls import CRLQueries
from store.queries_identities import IdentityQueries
from store.queries_policies import PolicyQueries
from store.queries_profiles import ProfileQueries
from store.queries_requests import RequestQueries
from store.queries_validation_jobs import ValidationJobQueries

_MIGRATION_LOCK = "kms-store-migrate:"


class Store(
    CAQueries,
    PolicyQueries,
    ProfileQueries,
    CertificateQueries,
    RequestQueries,
    CRLQueries,
    NonceQueries,
    EABQueries,
    AccountQueries,
    OrderQueries,
    AuthorizationQueries,
    ValidationJobQueries,
    IdentityQueries,
    AuditQueries,
):
    """Persistence for the CA. Build one with `open_store`; `close()` it when done.

    Every method is one transaction. Creating methods generate the new row's id (UUID4)
    and return the stored record, except `create_ca` and `create_eab_key`, whose callers
    pass the id (the kid), and `use_nonce`, which stores the caller's value.
    """

    @property
    def backend(self) -> Backend:
        return self._backend

    async def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op when it is current.

        Safe to run from several processes at once: SQLite takes the write lock first
        (BEGIN IMMEDIATE), PostgreSQL a transaction-scoped advisory lock per schema.
        """
        async with self._write() as conn:
            if self._backend == "postgresql":
                await self._prepare_postgres(conn)
            await conn.run_sync(upgrade_to_head)

    async def _prepare_postgres(self, conn: AsyncConnection) -> None:
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": _MIGRATION_LOCK + (self._pg_schema or "")},
        )
        if self._pg_schema is None:
            return
        schema = check_schema_name(self._pg_schema)
        found = await conn.scalar(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}
        )
        if not found:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    async def schema_revision(self) -> str | None:
        """The Alembic revision the database is at; None if never migrated."""
        async with self._read() as conn:
            return await conn.run_sync(current_revision)

    async def ping(self) -> None:
        """SELECT 1; StoreError if the database cannot be reached."""
        async with self._read() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


async def open_store(url: str, *, pg_schema: str | None = None, migrate: bool = True) -> Store:
    """Open the database at `url` and, unless migrate=False, bring its schema up to date.

    url: sqlite:///abs/path.db (the directory is created) or sqlite+aiosqlite:///...;
    postgresql://user@host:port/db, postgres://... or postgresql+asyncpg://... .
    pg_schema: PostgreSQL only; the schema used for every table (created by migrate if
    missing). Raises ValueError for a bad URL, StoreError if the database fails.
    """
    parsed, backend = parse_url(url)
    if pg_schema is not None and backend != "postgresql":
        raise ValueError("pg_schema applies to PostgreSQL URLs only")
    store = Store(create_engine(parsed, backend, pg_schema=pg_schema), backend, pg_schema)
    if migrate:
        try:
            await store.migrate()
        except BaseException:
            await store.close()
            raise
    return store
