"""Settings of the recordings store, read from `MAV_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError

# Sized for a 1,024-token run with every detail on (the per-step budget in PROTOCOL.md), with room
# for models deeper than the bundled one.
DEFAULT_MAX_RECORDING_BYTES = 1024 * 40 * 1024
DEFAULT_MAX_TOTAL_BYTES = 1024**3


def default_sqlite_path(env: Mapping[str, str]) -> Path:
    """`$XDG_DATA_HOME/mav-server/recordings.sqlite3` (`~/.local/share/...` when unset)."""
    base = env.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / "mav-server" / "recordings.sqlite3"


@dataclass(frozen=True)
class RecordingSettings:
    database_url: str | None = None
    """SQLAlchemy URL of the database (`MAV_DATABASE_URL`), e.g. `postgresql://user:pw@host/db`.
    Default: SQLite in the file `sqlite_path`."""
    sqlite_path: Path | None = None
    """The SQLite file when no `database_url` is set (`MAV_RECORDINGS_DB`). Default: see
    `default_sqlite_path`."""
    enabled: bool = True
    """`MAV_RECORDINGS=0` turns the `/recordings` routes off (they answer 404)."""
    max_recording_bytes: int = DEFAULT_MAX_RECORDING_BYTES
    """Largest recording accepted, uncompressed (`MAV_MAX_RECORDING_BYTES`)."""
    saves_per_hour: int = 30
    """Saves one client may make in any hour (`MAV_RECORDINGS_PER_HOUR`); 0 = no limit."""
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    """Storage all recordings may take, compressed (`MAV_RECORDINGS_MAX_TOTAL_BYTES`); 0 = no cap."""
    ttl_days: float | None = None
    """Recordings expire this many days after they were saved (`MAV_RECORDINGS_TTL_DAYS`). Default: never."""

    def validate(self) -> RecordingSettings:
        if self.max_recording_bytes < 1024:
            raise ConfigError(
                f"MAV_MAX_RECORDING_BYTES must be at least 1024; got {self.max_recording_bytes}"
            )
        for name, value in (
            ("MAV_RECORDINGS_PER_HOUR", self.saves_per_hour),
            ("MAV_RECORDINGS_MAX_TOTAL_BYTES", self.max_total_bytes),
        ):
            if value < 0:
                raise ConfigError(f"{name} must be 0 or more; got {value}")
        if self.ttl_days is not None and not self.ttl_days > 0:
            raise ConfigError(f"MAV_RECORDINGS_TTL_DAYS must be more than 0; got {self.ttl_days}")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RecordingSettings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if env.get("MAV_DATABASE_URL", "").strip():
            values["database_url"] = env["MAV_DATABASE_URL"].strip()
        if env.get("MAV_RECORDINGS_DB", "").strip():
            values["sqlite_path"] = Path(env["MAV_RECORDINGS_DB"].strip()).expanduser()
        else:
            values["sqlite_path"] = default_sqlite_path(env)
        if env.get("MAV_RECORDINGS", "").strip().lower() in ("0", "false", "no", "off"):
            values["enabled"] = False
        for key, name in (
            ("max_recording_bytes", "MAV_MAX_RECORDING_BYTES"),
            ("saves_per_hour", "MAV_RECORDINGS_PER_HOUR"),
            ("max_total_bytes", "MAV_RECORDINGS_MAX_TOTAL_BYTES"),
        ):
            raw = env.get(name, "").strip()
            if raw:
                try:
                    values[key] = int(raw)
                except ValueError:
                    raise ConfigError(f"{name} must be an integer; got {raw!r}") from None
        raw = env.get("MAV_RECORDINGS_TTL_DAYS", "").strip()
        if raw:
            try:
                values["ttl_days"] = float(raw)
            except ValueError:
                raise ConfigError(f"MAV_RECORDINGS_TTL_DAYS must be a number; got {raw!r}") from None
        return cls(**values).validate()  # type: ignore[arg-type]
