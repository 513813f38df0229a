"""Saved recordings in a SQL database: SQLite in a file by default, PostgreSQL for deployments.

Bodies are stored gzip-compressed (served as they are to clients that accept gzip). Ids carry 128
random bits; the delete token, 256, is stored only as its SHA-256 (a token that random needs no slow
hash). Each save runs in one write transaction that also enforces the per-client rate and the total
storage cap, so concurrent saves cannot both take the last slot.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, insert, select, text
from sqlalchemy.engine import make_url

from .migrations import migrate
from .settings import RecordingSettings
from .tables import recordings, saves
from .validate import RecordingSummary

SAVE_LOCK_KEY = 0x6D61765F736176
RATE_WINDOW = dt.timedelta(hours=1)
ID_BYTES = 16
TOKEN_BYTES = 32


class RecordingNotFoundError(LookupError):
    """No recording has this id (never saved, deleted or expired)."""


class WrongDeleteTokenError(PermissionError):
    """The delete token does not belong to this recording."""


class RateLimitedError(RuntimeError):
    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(f"{limit} saves per hour")
        self.limit = limit
        self.retry_after = retry_after


class StorageFullError(RuntimeError):
    """The operator's cap on the total storage would be exceeded."""


@dataclass(frozen=True)
class SavedRecording:
    id: str
    delete_token: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    raw_bytes: int
    stored_bytes: int


@dataclass(frozen=True)
class StoredRecording:
    id: str
    gzip_body: bytes
    raw_bytes: int
    created_at: dt.datetime
    expires_at: dt.datetime | None


def database_url(settings: RecordingSettings) -> str:
    """The SQLAlchemy URL: `MAV_DATABASE_URL` with PostgreSQL on psycopg 3, else the SQLite file."""
    if settings.database_url:
        url = make_url(settings.database_url)
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    if settings.sqlite_path is None:
        raise ValueError("RecordingSettings needs database_url or sqlite_path")
    return f"sqlite:///{settings.sqlite_path}"


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands datetimes back without their zone; every one stored here is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _enable_wal(dbapi_connection: Any, patience_s: float = 30.0) -> None:
    """Switches a SQLite file to WAL (once; the mode is stored in the file).

    The switch needs the file to itself, and SQLite can answer "locked" at once rather than wait when
    several processes open a new file together, so it is retried here.
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # SQLAlchemy, not the driver, starts transactions (below); WAL lets reads run beside a write.
            dbapi_connection.isolation_level = None
            _enable_wal(dbapi_connection)
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writers take the lock up front: a read-then-write transaction that upgrades later can
            # deadlock with another one and fail at once instead of waiting.
            write = conn.get_execution_options().get("mav_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class RecordingStore:
    """Save, load and delete recordings. The database is opened and migrated at the first call."""

    def __init__(self, settings: RecordingSettings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._ready = False
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    if self._engine is None:
                        self._engine = make_engine(database_url(self.settings))
                    migrate(self._engine)
                    self._ready = True
        assert self._engine is not None
        return self._engine

    def _write(self) -> Any:
        return self.engine.connect().execution_options(mav_write=True)

    def save(
        self, body: bytes, summary: RecordingSummary, client: str, *, now: dt.datetime | None = None
    ) -> SavedRecording:
        """Stores a checked recording for `client` (an address); raises `RateLimitedError` or
        `StorageFullError` when the operator's limits say no."""
        now = now or dt.datetime.now(dt.UTC)
        packed = gzip.compress(body, compresslevel=6, mtime=0)
        ttl = self.settings.ttl_days
        expires_at = now + dt.timedelta(days=ttl) if ttl else None
        record = SavedRecording(
            id=secrets.token_urlsafe(ID_BYTES),
            delete_token=secrets.token_urlsafe(TOKEN_BYTES),
            created_at=now,
            expires_at=expires_at,
            raw_bytes=len(body),
            stored_bytes=len(packed),
        )
        client_key = _sha256(client)
        with self._write() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SAVE_LOCK_KEY})
            conn.execute(delete(recordings).where(recordings.c.expires_at < now))
            conn.execute(delete(saves).where(saves.c.created_at <= now - RATE_WINDOW))
            limit = self.settings.saves_per_hour
            if limit:
                count, oldest = conn.execute(
                    select(func.count(), func.min(saves.c.created_at)).where(
                        saves.c.client_sha256 == client_key
                    )
                ).one()
                if count >= limit:
                    wait = (_utc(oldest) or now) + RATE_WINDOW - now
                    raise RateLimitedError(limit, max(1, int(wait.total_seconds()) + 1))
            cap = self.settings.max_total_bytes
            if cap:
                total = conn.execute(
                    select(func.coalesce(func.sum(recordings.c.stored_bytes), 0))
                ).scalar_one()
                if total + record.stored_bytes > cap:
                    raise StorageFullError(f"{total} of {cap} bytes used")
            conn.execute(
                insert(recordings).values(
                    id=record.id,
                    delete_token_sha256=_sha256(record.delete_token),
                    created_at=now,
                    expires_at=expires_at,
                    raw_bytes=record.raw_bytes,
                    stored_bytes=record.stored_bytes,
                    events=summary.events,
                    steps=summary.steps,
                    model_id=summary.model_id[:200],
                    encoding="gzip",
                    body=packed,
                )
            )
            conn.execute(insert(saves).values(client_sha256=client_key, created_at=now))
        return record

    def load(self, recording_id: str, *, now: dt.datetime | None = None) -> StoredRecording:
        now = now or dt.datetime.now(dt.UTC)
        columns = (
            recordings.c.body,
            recordings.c.raw_bytes,
            recordings.c.created_at,
            recordings.c.expires_at,
        )
        with self.engine.connect() as conn:
            row = conn.execute(select(*columns).where(recordings.c.id == recording_id)).first()
        if row is None or (row.expires_at is not None and _utc(row.expires_at) <= now):  # type: ignore[operator]
            raise RecordingNotFoundError(recording_id)
        return StoredRecording(
            id=recording_id,
            gzip_body=bytes(row.body),
            raw_bytes=row.raw_bytes,
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
            expires_at=_utc(row.expires_at),
        )

    def delete(self, recording_id: str, delete_token: str, *, now: dt.datetime | None = None) -> None:
        now = now or dt.datetime.now(dt.UTC)
        query = select(recordings.c.delete_token_sha256, recordings.c.expires_at).where(
            recordings.c.id == recording_id
        )
        with self._write() as conn, conn.begin():
            row = conn.execute(query.with_for_update()).first()
            if row is None or (row.expires_at is not None and _utc(row.expires_at) <= now):  # type: ignore[operator]
                raise RecordingNotFoundError(recording_id)
            if not hmac.compare_digest(row.delete_token_sha256, _sha256(delete_token)):
                raise WrongDeleteTokenError(recording_id)
            conn.execute(delete(recordings).where(recordings.c.id == recording_id))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def gunzip(data: bytes) -> bytes:
    return gzip.decompress(data)
