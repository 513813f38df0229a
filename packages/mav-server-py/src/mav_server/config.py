"""Server settings, read from `MAV_*` environment variables; the CLI overrides some of them."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .engines import ENGINE_CHOICES as ENGINES

BUNDLED_MODEL_ID = "smollm2-135m-instruct"

DEVICES = ("auto", "cpu", "cuda", "mps")

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
"""The names a loopback server answers to by default (see `Settings.allowed_hosts`)."""
DTYPES = ("auto", "float32", "float16", "bfloat16")


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the variable and what it expects."""


@dataclass(frozen=True)
class Settings:
    models: tuple[str, ...] = (BUNDLED_MODEL_ID,)
    """Allow-list of model ids (`MAV_MODELS`, comma-separated). Default: the bundled SmolLM2."""
    default_model: str | None = None
    """Model used when a request names none (`MAV_DEFAULT_MODEL`). Default: the first of `models`."""
    engine: str = "auto"
    """`auto`, `torch` or `numpy` (`MAV_ENGINE`). `auto` picks per model: numpy for a GGUF file it can run,
    torch (when installed) for any other model and whenever a GPU is there to use."""
    device: str = "auto"
    """`auto`, `cpu`, `cuda` or `mps` (`MAV_DEVICE`, torch engine). `auto` picks cuda, then mps, then cpu."""
    dtype: str = "auto"
    """`auto`, `float32`, `float16` or `bfloat16` (`MAV_DTYPE`). `auto`: float32 on CPU, float16 on GPU."""
    max_loaded_models: int = 2
    """How many models stay in memory at once (`MAV_MAX_LOADED_MODELS`); least recently used goes."""
    max_concurrent_runs: int | None = None
    """Runs at once before 429 (`MAV_MAX_CONCURRENT_RUNS`). Default: 2 on a CPU, 4 on a GPU."""
    max_new_tokens: int = 1024
    """Cap on `max_new_tokens` (`MAV_MAX_NEW_TOKENS`)."""
    max_prompt_chars: int = 4000
    """Longest prompt in characters (`MAV_MAX_PROMPT_CHARS`); the model's context also applies."""
    api_token: str | None = None
    """When set (`MAV_API_TOKEN`), `/run` and `/models` need `Authorization: Bearer <token>`."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed cross-origin (`MAV_CORS_ORIGINS`, comma-separated, `*` for any). Default: none."""
    heartbeat_seconds: float = 15.0
    """Seconds of silence before the stream sends a `: ping` comment (`MAV_HEARTBEAT_SECONDS`)."""
    base_path: str = "/api"
    """Prefix of every route (`MAV_BASE_PATH`)."""
    preload: bool = False
    """Load the default model at start-up instead of on the first request (`MAV_PRELOAD=1`)."""
    allowed_hosts: tuple[str, ...] | None = None
    """Host names requests may be addressed to (`MAV_ALLOWED_HOSTS`, comma-separated, `*` for any), so a
    page on a rebound DNS name cannot reach the server. Default: any host; `mav-server` on a loopback
    address answers only `localhost`, `127.0.0.1` and `::1`."""
    max_body_bytes: int = 65536
    """Largest request body (`MAV_MAX_BODY_BYTES`); a larger one is refused while it is read (413)."""
    stall_timeout_seconds: float = 30.0
    """Seconds a write to a reader (or a request body) may stall before the stream ends and its run slot
    is freed (`MAV_STALL_TIMEOUT_SECONDS`)."""
    slot_wait_seconds: float = 0.0
    """Seconds a run waits for a free run slot before it gets 429 (`MAV_SLOT_WAIT_SECONDS`). Default: none;
    on Ray Serve at least 10, since Serve has already admitted the run when it reaches a replica."""
    shutdown_timeout_seconds: float = 10.0
    """Seconds `mav-server` waits for open streams on SIGTERM before it ends them
    (`MAV_SHUTDOWN_TIMEOUT_SECONDS`)."""

    @property
    def default_model_id(self) -> str:
        return self.default_model or self.models[0]

    def validate(self) -> Settings:
        if not self.models:
            raise ConfigError("MAV_MODELS must name at least one model id")
        if self.default_model is not None and self.default_model not in self.models:
            raise ConfigError(
                f"MAV_DEFAULT_MODEL={self.default_model!r} is not in the allow-list {list(self.models)}"
            )
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {self.engine!r}")
        if self.engine == "numpy" and self.device not in ("auto", "cpu"):
            raise ConfigError(
                f"the numpy engine runs on the CPU; device {self.device!r} needs the torch engine"
            )
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}; got {self.device!r}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")
        for name in ("max_loaded_models", "max_new_tokens", "max_prompt_chars", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1; got {getattr(self, name)}")
        if self.max_concurrent_runs is not None and self.max_concurrent_runs < 1:
            raise ConfigError(f"max_concurrent_runs must be at least 1; got {self.max_concurrent_runs}")
        for name in ("heartbeat_seconds", "stall_timeout_seconds", "shutdown_timeout_seconds"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be a positive number of seconds; got {getattr(self, name)}")
        if not self.slot_wait_seconds >= 0:
            raise ConfigError(f"slot_wait_seconds must be 0 or more seconds; got {self.slot_wait_seconds}")
        if not self.base_path.startswith("/") or (self.base_path.endswith("/") and self.base_path != "/"):
            raise ConfigError(f"base_path must start with '/' and not end with one; got {self.base_path!r}")
        return self


def is_loopback(host: str) -> bool:
    """True for an address or name that only this machine can reach (`127.0.0.0/8`, `::1`, `localhost`)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer; got {raw!r}") from None


def _float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number; got {raw!r}") from None


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `MAV_*` variables (defaults where unset)."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    if env.get("MAV_MODELS", "").strip():
        values["models"] = _split(env["MAV_MODELS"])
    if env.get("MAV_DEFAULT_MODEL", "").strip():
        values["default_model"] = env["MAV_DEFAULT_MODEL"].strip()
    for key, name in (
        ("engine", "MAV_ENGINE"),
        ("device", "MAV_DEVICE"),
        ("dtype", "MAV_DTYPE"),
        ("base_path", "MAV_BASE_PATH"),
    ):
        if env.get(name, "").strip():
            values[key] = env[name].strip()
    for key, name in (
        ("max_loaded_models", "MAV_MAX_LOADED_MODELS"),
        ("max_concurrent_runs", "MAV_MAX_CONCURRENT_RUNS"),
        ("max_new_tokens", "MAV_MAX_NEW_TOKENS"),
        ("max_prompt_chars", "MAV_MAX_PROMPT_CHARS"),
        ("max_body_bytes", "MAV_MAX_BODY_BYTES"),
    ):
        number = _int(env, name)
        if number is not None:
            values[key] = number
    for key, name in (
        ("heartbeat_seconds", "MAV_HEARTBEAT_SECONDS"),
        ("stall_timeout_seconds", "MAV_STALL_TIMEOUT_SECONDS"),
        ("shutdown_timeout_seconds", "MAV_SHUTDOWN_TIMEOUT_SECONDS"),
        ("slot_wait_seconds", "MAV_SLOT_WAIT_SECONDS"),
    ):
        seconds = _float(env, name)
        if seconds is not None:
            values[key] = seconds
    if env.get("MAV_API_TOKEN"):
        values["api_token"] = env["MAV_API_TOKEN"]
    if env.get("MAV_CORS_ORIGINS", "").strip():
        values["cors_origins"] = _split(env["MAV_CORS_ORIGINS"])
    if env.get("MAV_ALLOWED_HOSTS", "").strip():
        values["allowed_hosts"] = tuple(host.lower() for host in _split(env["MAV_ALLOWED_HOSTS"]))
    if env.get("MAV_PRELOAD", "").strip().lower() in ("1", "true", "yes"):
        values["preload"] = True
    return Settings(**values).validate()  # type: ignore[arg-type]
