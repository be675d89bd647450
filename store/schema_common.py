"""The MetaData every table of the schema belongs to, and the columns many tables share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, MetaData, String

from store.columns import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = 36  # a UUID4 in its canonical text form


def id_column() -> Column[str]:
    return Column("id", String(ID), primary_key=True)


def created_column() -> Column[datetime]:
    return Column("created_at", UtcDateTime(), nullable=False)


def updated_column() -> Column[datetime]:
    return Column("updated_at", UtcDateTime(), nullable=False)
