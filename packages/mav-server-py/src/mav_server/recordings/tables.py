"""The tables as the code reads and writes them today; `migrations.py` brings a database to this shape."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, MetaData, String, Table

metadata = MetaData()

recordings = Table(
    "mav_recordings",
    metadata,
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
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
