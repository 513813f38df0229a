"""Versioned schema migrations, applied in order at the store's first use.

A table `mav_schema_version` lists the migrations applied. Each migration is a function of one
connection, frozen once released (it declares the tables as they were then, not as `tables.py` has
them now), and runs in the same transaction as its version row. Replicas that start together are
serialised by a PostgreSQL advisory lock (SQLite: the write lock of `BEGIN IMMEDIATE`), so each
migration runs once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
)

# An arbitrary constant shared by every mav-server: the key of the advisory lock around migrations.
MIGRATION_LOCK_KEY = 0x6D61765F6D6967


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer mav-server than this one."""


schema_version = Table(
    "mav_schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def _v1_recordings(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "mav_recordings",
        meta,
        Column("id", String(32), primary_key=True),
        Column("delete_token_sha256", String(64), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=True, index=True),
        Column("raw_bytes", BigInteger, nullable=False),
        Column("stored_bytes", BigInteger, nullable=False),
        Column("events", Integer, nullable=False),
        Column("steps", Integer, nullable=False),
        Column("model_id", String(200), nullable=False),
        Column("encoding", String(16), nullable=False),
        Column("body", LargeBinary, nullable=False),
    )
    saves = Table(
        "mav_recording_saves",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_sha256", String(64), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    Index("ix_mav_recording_saves_client", saves.c.client_sha256, saves.c.created_at)
    meta.create_all(conn)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "recordings and per-client saves", _v1_recordings),
]
LATEST = MIGRATIONS[-1][0]


def migrate(engine: Engine) -> int:
    """Applies the migrations this database lacks; returns its version afterwards."""
    with engine.connect().execution_options(mav_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        if not inspect(conn).has_table(schema_version.name):
            schema_version.create(conn)
        applied = set(conn.execute(select(schema_version.c.version)).scalars())
        newest = max(applied, default=0)
        if newest > LATEST:
            raise SchemaTooNewError(
                f"the recordings database is at schema version {newest}, newer than this mav-server "
                f"knows ({LATEST}): upgrade mav-server"
            )
        for version, name, apply in MIGRATIONS:
            if version in applied:
                continue
            apply(conn)
            conn.execute(
                insert(schema_version).values(version=version, name=name, applied_at=dt.datetime.now(dt.UTC))
            )
        return LATEST
