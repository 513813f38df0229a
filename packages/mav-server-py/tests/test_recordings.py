"""The recordings store and its routes, against SQLite in a file and a real PostgreSQL on loopback."""

from __future__ import annotations

import atexit
import datetime as dt
import gzip
import itertools
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from mav_server.config import Settings
from mav_server.errors import ApiError
from mav_server.models import ModelRegistry
from mav_server.recordings import RecordingSettings, RecordingStore, check_recording
from mav_server.recordings.migrations import LATEST, SchemaTooNewError, migrate, schema_version
from mav_server.recordings.store import RateLimitedError, make_engine
from mav_server.recordings.tables import recordings

from .conftest import REPO, LiveServer
from .postgres import ThrowawayPostgres

RECORDING = REPO / "packages" / "mav-react" / "src" / "__fixtures__" / "smollm2-demo.mavrec.jsonl"
HOSTILE = REPO / "fixtures" / "recordings" / "hostile.mavrec.jsonl"


# --- databases ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    configured = os.environ.get("MAV_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    try:
        server = ThrowawayPostgres()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    # Stopped in every outcome: on the way out of the session, at exit, and on SIGTERM (made an exit).
    atexit.register(server.stop)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database of each kind for each test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'recordings.sqlite3'}"
    # A schema of its own per test: much cheaper than a database, as empty.
    base = request.getfixturevalue("postgres_url")
    schema = f"mav_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
def make_store(db_url: str) -> Iterator[Callable[..., RecordingStore]]:
    stores: list[RecordingStore] = []

    def make(**overrides: Any) -> RecordingStore:
        store = RecordingStore(RecordingSettings(database_url=db_url, **overrides))
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def serve_store(
    tiny_registry: ModelRegistry, make_store: Callable[..., RecordingStore]
) -> Iterator[Callable[..., tuple[LiveServer, RecordingStore]]]:
    servers: list[LiveServer] = []

    def start(settings: Settings | None = None, **overrides: Any) -> tuple[LiveServer, RecordingStore]:
        store = make_store(**overrides)
        app_settings = settings or Settings(models=("tiny-gpt2",))
        from mav_server.app import create_app

        server = LiveServer(create_app(app_settings, tiny_registry, recordings=store)).start()
        servers.append(server)
        return server, store

    yield start
    for server in servers:
        server.stop()


def stored_count(store: RecordingStore) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(recordings)).scalar_one()


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    return response.json()["error"]


# --- round trip -----------------------------------------------------------------------------------


def test_save_read_delete_round_trip(serve_store: Any) -> None:
    server, store = serve_store()
    body = RECORDING.read_bytes()
    with httpx.Client(base_url=server.url + "/api", timeout=30) as http:
        saved = http.post("/recordings", content=body, headers={"content-type": "application/x-ndjson"})
        assert saved.status_code == 201, saved.text
        info = saved.json()
        assert len(info["id"]) == 22 and len(info["delete_token"]) >= 43
        assert info["id"] != info["delete_token"]
        assert info["url"] == f"/api/recordings/{info['id']}" == saved.headers["location"]
        assert info["bytes"] == len(body) and info["steps"] == 61 and info["events"] == 64
        assert info["stored_bytes"] < len(body) / 3, "stored compressed"

        # Clients that take gzip get the stored bytes as they are; others the plain text. Both as data.
        for encoding in ("gzip", "identity"):
            read = http.get(f"/recordings/{info['id']}", headers={"accept-encoding": encoding})
            assert read.status_code == 200
            assert read.content == body
            assert read.headers.get("content-encoding", "identity") == encoding
            assert read.headers["content-type"].startswith("application/x-ndjson")
            assert read.headers["x-content-type-options"] == "nosniff"
            assert "sandbox" in read.headers["content-security-policy"]
        etag = read.headers["etag"]
        assert http.get(f"/recordings/{info['id']}", headers={"if-none-match": etag}).status_code == 304

        wrong = http.delete(f"/recordings/{info['id']}", headers={"mav-delete-token": "x" * 43})
        assert wrong.status_code == 403 and error_of(wrong)["code"] == "wrong_delete_token"
        assert http.get(f"/recordings/{info['id']}").status_code == 200, "a wrong token removes nothing"
        missing = http.delete(f"/recordings/{info['id']}")
        assert missing.status_code == 400 and error_of(missing)["field"] == "Mav-Delete-Token"

        gone = http.delete(f"/recordings/{info['id']}", headers={"mav-delete-token": info["delete_token"]})
        assert gone.status_code == 204
        for response in (
            http.get(f"/recordings/{info['id']}"),
            http.delete(f"/recordings/{info['id']}", headers={"mav-delete-token": info["delete_token"]}),
        ):
            assert response.status_code == 404 and error_of(response)["code"] == "recording_not_found"
    assert stored_count(store) == 0


def test_unknown_and_malformed_ids_are_404(serve_store: Any) -> None:
    server, _ = serve_store()
    with httpx.Client(base_url=server.url + "/api", timeout=30) as http:
        for path in ("/recordings/AAAAAAAAAAAAAAAAAAAAAA", "/recordings/short", "/recordings/..%2Fetc"):
            response = http.get(path)
            assert response.status_code == 404
            assert error_of(response)["code"] in ("recording_not_found", "not_found")


def test_gzip_upload_is_accepted_and_a_gzip_bomb_is_refused(serve_store: Any) -> None:
    server, store = serve_store(max_recording_bytes=200_000)
    body = RECORDING.read_bytes()
    with httpx.Client(base_url=server.url + "/api", timeout=30) as http:
        saved = http.post("/recordings", content=gzip.compress(body), headers={"content-encoding": "gzip"})
        assert saved.status_code == 201, saved.text
        assert http.get(saved.json()["url"].removeprefix("/api")).content == body
        bomb = gzip.compress(body.rstrip(b"\n") + b"\n" + b" " * 5_000_000)
        assert len(bomb) < 200_000
        refused = http.post("/recordings", content=bomb, headers={"content-encoding": "gzip"})
        assert refused.status_code == 413 and error_of(refused)["code"] == "recording_too_large"
        broken = http.post(
            "/recordings", content=gzip.compress(body)[:-20], headers={"content-encoding": "gzip"}
        )
        assert broken.status_code == 400 and error_of(broken)["code"] == "truncated_recording"
        other = http.post("/recordings", content=body, headers={"content-encoding": "br"})
        assert other.status_code == 415
    assert stored_count(store) == 1


# --- bad uploads ----------------------------------------------------------------------------------


def _lines() -> list[str]:
    return RECORDING.read_text(encoding="utf-8").splitlines()


def _with(index: int, change: Callable[[dict[str, Any]], None]) -> bytes:
    lines = _lines()
    data = json.loads(lines[index])
    change(data)
    lines[index] = json.dumps(data)
    return ("\n".join(lines) + "\n").encode()


BAD_UPLOADS: list[tuple[str, bytes, int, str, str]] = [
    ("empty", b"", 400, "invalid_recording", "empty"),
    ("not JSON", b"{nope\n", 400, "invalid_recording", "line 1"),
    ("not UTF-8", RECORDING.read_bytes()[:500] + b"\xff\xfe" + b"\n", 400, "invalid_recording", "UTF-8"),
    ("wrong format", _with(0, lambda d: d.update(format="mavrec/2")), 400, "wrong_protocol", "mavrec/2"),
    ("wrong protocol", _with(0, lambda d: d.update(protocol="mav/2")), 400, "wrong_protocol", "mav/2"),
    (
        "meta of another protocol",
        _with(1, lambda d: d.update(protocol="mav/0")),
        400,
        "invalid_recording",
        "line 2",
    ),
    ("a step with a string", _with(5, lambda d: d.update(step="3")), 400, "invalid_recording", "line 6"),
    (
        "a probability over 1",
        _with(5, lambda d: d["top"][0].update(prob=1.5)),
        400,
        "invalid_recording",
        "top.0",
    ),
    ("unknown event", _with(5, lambda d: d.update(type="script")), 400, "invalid_recording", "line 6"),
    (
        "no meta first",
        ("\n".join([_lines()[0], *_lines()[2:]]) + "\n").encode(),
        400,
        "invalid_recording",
        "meta",
    ),
    (
        "cut mid-line",
        RECORDING.read_bytes()[: len(RECORDING.read_bytes()) // 2],
        400,
        "truncated_recording",
        "middle of a line",
    ),
    (
        "fewer events than announced",
        ("\n".join(_lines()[:-3]) + "\n").encode(),
        400,
        "truncated_recording",
        "announces 64",
    ),
    (
        "NaN",
        RECORDING.read_bytes().replace(b'"entropy":', b'"entropy":NaN,"x":', 1),
        400,
        "invalid_recording",
        "NaN",
    ),
]


def test_bad_uploads_are_4xx_json_and_store_nothing(serve_store: Any) -> None:
    server, store = serve_store()
    with httpx.Client(base_url=server.url + "/api", timeout=30) as http:
        for name, body, status, code, says in BAD_UPLOADS:
            response = http.post("/recordings", content=body)
            assert response.status_code == status, f"{name}: {response.text}"
            error = error_of(response)
            assert error["code"] == code, f"{name}: {error}"
            assert says in error["message"], f"{name}: {error}"
    assert stored_count(store) == 0


def test_oversized_uploads_are_413_before_and_while_reading(serve_store: Any) -> None:
    server, store = serve_store(max_recording_bytes=50_000)
    body = RECORDING.read_bytes()
    with httpx.Client(base_url=server.url + "/api", timeout=30) as http:
        declared = http.post("/recordings", content=body)
        assert declared.status_code == 413 and "50000 bytes" in error_of(declared)["message"]
        streamed = http.post(
            "/recordings", content=iter([body[:40_000], body[40_000:]])
        )  # chunked, no length
        assert streamed.status_code == 413
    assert stored_count(store) == 0


# --- who may do what ------------------------------------------------------------------------------


def test_api_token_gates_saving_not_reading(serve_store: Any) -> None:
    server, _ = serve_store(Settings(models=("tiny-gpt2",), api_token="s3cret"))
    body = RECORDING.read_bytes()
    with httpx.Client(base_url=server.url + "/api", timeout=30) as http:
        refused = http.post("/recordings", content=body)
        assert refused.status_code == 401 and error_of(refused)["code"] == "unauthorized"
        saved = http.post("/recordings", content=body, headers={"authorization": "Bearer s3cret"})
        assert saved.status_code == 201
        info = saved.json()
        assert http.get(f"/recordings/{info['id']}").status_code == 200
        deleted = http.delete(f"/recordings/{info['id']}", headers={"mav-delete-token": info["delete_token"]})
        assert deleted.status_code == 204


def test_rate_limit_per_client(serve_store: Any) -> None:
    server, store = serve_store(saves_per_hour=2)
    body = RECORDING.read_bytes()
    with httpx.Client(base_url=server.url + "/api", timeout=30) as http:
        assert [http.post("/recordings", content=body).status_code for _ in range(2)] == [201, 201]
        limited = http.post("/recordings", content=body)
        assert limited.status_code == 429 and error_of(limited)["code"] == "too_many_saves"
        assert 1 <= int(limited.headers["retry-after"]) <= 3601
    assert stored_count(store) == 2
    # Another client still may, and an hour later the first one may again.
    summary = check_recording(body)
    store.save(body, summary, "203.0.113.9")
    store.save(body, summary, "203.0.113.9")
    with pytest.raises(RateLimitedError):
        store.save(body, summary, "203.0.113.9")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, seconds=1)
    store.save(body, summary, "127.0.0.1", now=later)
    assert stored_count(store) == 5


def test_total_storage_cap(serve_store: Any) -> None:
    body = RECORDING.read_bytes()
    server2, _ = serve_store(max_total_bytes=40_000)
    with httpx.Client(base_url=server2.url + "/api", timeout=30) as http:
        assert http.post("/recordings", content=body).status_code == 201
        full = http.post("/recordings", content=body)
        assert full.status_code == 507 and error_of(full)["code"] == "storage_full"


def test_recordings_expire_after_the_operators_ttl(make_store: Callable[..., RecordingStore]) -> None:
    store = make_store(ttl_days=1)
    body = RECORDING.read_bytes()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    old = store.save(body, check_recording(body), "a", now=long_ago)
    fresh = store.save(body, check_recording(body), "a")
    assert fresh.expires_at is not None and fresh.expires_at > dt.datetime.now(dt.UTC)
    with pytest.raises(LookupError):
        store.load(old.id)
    assert store.load(fresh.id).gzip_body
    store.save(body, check_recording(body), "b")  # a save sweeps the expired rows away
    assert stored_count(store) == 2


# --- concurrency and migrations -------------------------------------------------------------------


def test_concurrent_saves_and_deletes_lose_nothing(serve_store: Any) -> None:
    server, store = serve_store(saves_per_hour=0)
    body = RECORDING.read_bytes()
    url = server.url + "/api/recordings"
    with httpx.Client(timeout=60) as http:
        first = [http.post(url, content=body).json() for _ in range(6)]

        def save(_: int) -> dict[str, Any]:
            response = http.post(url, content=body)
            assert response.status_code == 201, response.text
            return response.json()

        def remove(info: dict[str, Any]) -> int:
            headers = {"mav-delete-token": info["delete_token"]}
            return http.delete(f"{url}/{info['id']}", headers=headers).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            saving = [pool.submit(save, i) for i in range(12)]
            deleting = [pool.submit(remove, info) for info in first] + [pool.submit(remove, first[0])]
            saved = [f.result() for f in saving]
            statuses = sorted(f.result() for f in deleting)
        assert statuses == [204] * 6 + [404], "each recording is deleted once; the second try finds nothing"
        assert len({info["id"] for info in saved}) == 12
        for info in saved:
            assert http.get(f"{url}/{info['id']}").content == body
        for info in first:
            assert http.get(f"{url}/{info['id']}").status_code == 404
    assert stored_count(store) == 12


def test_migrations_are_versioned_idempotent_and_concurrent(db_url: str) -> None:
    from mav_server.recordings.store import database_url

    url = database_url(RecordingSettings(database_url=db_url))
    engines = [make_engine(url) for _ in range(3)]
    try:
        errors: list[BaseException] = []

        def run(engine: Any) -> None:
            try:
                migrate(engine)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert migrate(engines[0]) == LATEST
        with engines[0].connect() as conn:
            versions = list(conn.execute(select(schema_version.c.version)).scalars())
        assert versions == list(range(1, LATEST + 1))
        with engines[0].begin() as conn:
            conn.execute(
                schema_version.insert().values(
                    version=LATEST + 1, name="future", applied_at=dt.datetime.now(dt.UTC)
                )
            )
        with pytest.raises(SchemaTooNewError, match="upgrade mav-server"):
            migrate(engines[1])
    finally:
        for engine in engines:
            engine.dispose()


def test_an_unreachable_database_is_503_naming_it(tiny_registry: ModelRegistry, tmp_path: Path) -> None:
    from mav_server.app import create_app

    store = RecordingStore(RecordingSettings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    server = LiveServer(create_app(Settings(models=("tiny-gpt2",)), tiny_registry, recordings=store)).start()
    try:
        response = httpx.post(f"{server.url}/api/recordings", content=RECORDING.read_bytes(), timeout=60)
        assert response.status_code == 503 and error_of(response)["code"] == "storage_unavailable"
        assert httpx.get(f"{server.url}/api/health", timeout=10).status_code == 200
    finally:
        server.stop()


# --- the protocol ---------------------------------------------------------------------------------


def test_a_hostile_recording_is_stored_and_returned_as_the_same_bytes(serve_store: Any) -> None:
    server, _ = serve_store()
    body = HOSTILE.read_bytes()
    with httpx.Client(base_url=server.url + "/api", timeout=30) as http:
        saved = http.post("/recordings", content=body)
        assert saved.status_code == 201, saved.text
        read = http.get(saved.json()["url"].removeprefix("/api"))
        assert read.content == body
        assert "html" not in read.headers["content-type"]


EVENT_DEFS = {name: f"{name}_event" for name in ("meta", "status", "step", "error", "done")}


def _schema_accepts(validate: Any, definition: str, value: Any) -> bool:
    try:
        validate(definition, value)
    except AssertionError:
        return False
    return True


def test_the_validator_agrees_with_the_json_schema(validate: Any) -> None:
    """Each line mutated in ways a broken or hostile upload would be: accepted here iff the schema does."""
    lines = [json.loads(line) for line in _lines()]
    mutations: list[Callable[[dict[str, Any]], Any]] = [
        lambda d: d,
        lambda d: d.pop("type") and d.update(type="meta"),
        lambda d: d.update(step=-1),
        lambda d: d.update(step=1.5),
        lambda d: d.update(elapsed_ms=-1),
        lambda d: d.update(token={"id": 1}),
        lambda d: d.update(top=[{"id": 1, "text": "a", "prob": 2, "logit": 0}]),
        lambda d: d.update(distribution={"entropy": 1, "top_probs": [0.5] * 101}),
        lambda d: d.update(reason="bored"),
        lambda d: d.update(retryable="no"),
        lambda d: d.update(phase="sleeping"),
        lambda d: d.update(request={"prompt": ""}),
        lambda d: d.update(model={"id": "m"}),
        lambda d: d.update(extra_field=1),
    ]
    header = lines[0]
    meta = lines[1]
    checked = 0
    for line in lines[1:4] + lines[-2:]:
        for mutate in mutations:
            data = json.loads(json.dumps(line))
            mutate(data)
            kind = data.get("type")
            body = json.dumps(header) + "\n"
            if kind != "meta":
                body += json.dumps(meta) + "\n"
            body += json.dumps(data) + "\n"
            body = body.replace(
                f'"events": {header["events"]}', '"events": ' + str(1 if kind == "meta" else 2)
            )
            try:
                check_recording(body.encode())
                ours = True
            except ApiError:
                ours = False
            payload = {k: v for k, v in data.items() if k != "type"}
            theirs = kind in EVENT_DEFS and _schema_accepts(validate, EVENT_DEFS[kind], payload)
            assert ours == theirs, f"{kind}: ours {ours}, schema {theirs}: {json.dumps(data)[:200]}"
            checked += 1
    assert checked == 5 * len(mutations)
    for header_change, accepted in [({}, True), ({"events": "x"}, False), ({"created_at": 5}, False)]:
        value = {**header, **header_change}
        assert _schema_accepts(validate, "recording_header", value) == accepted


def test_settings_from_the_environment(tmp_path: Path) -> None:
    from mav_server.config import ConfigError
    from mav_server.recordings.store import database_url

    env = {
        "MAV_RECORDINGS_DB": str(tmp_path / "r.db"),
        "MAV_MAX_RECORDING_BYTES": "2048",
        "MAV_RECORDINGS_PER_HOUR": "0",
        "MAV_RECORDINGS_MAX_TOTAL_BYTES": "0",
        "MAV_RECORDINGS_TTL_DAYS": "7.5",
    }
    settings = RecordingSettings.from_env(env)
    assert (settings.max_recording_bytes, settings.saves_per_hour, settings.max_total_bytes) == (2048, 0, 0)
    assert settings.ttl_days == 7.5 and database_url(settings) == f"sqlite:///{tmp_path / 'r.db'}"
    assert RecordingSettings.from_env({"XDG_DATA_HOME": str(tmp_path)}).sqlite_path == (
        tmp_path / "mav-server" / "recordings.sqlite3"
    )
    postgres = RecordingSettings.from_env({"MAV_DATABASE_URL": "postgres://u:p@db.example:5432/mav"})
    assert database_url(postgres) == "postgresql+psycopg://u:p@db.example:5432/mav"
    assert RecordingSettings.from_env({"MAV_RECORDINGS": "0"}).enabled is False
    for name, value, says in [
        ("MAV_MAX_RECORDING_BYTES", "lots", "integer"),
        ("MAV_MAX_RECORDING_BYTES", "10", "at least 1024"),
        ("MAV_RECORDINGS_PER_HOUR", "-1", "0 or more"),
        ("MAV_RECORDINGS_TTL_DAYS", "0", "more than 0"),
    ]:
        with pytest.raises(ConfigError, match=says):
            RecordingSettings.from_env({name: value})


def test_recordings_can_be_turned_off(tiny_registry: ModelRegistry, tmp_path: Path) -> None:
    from mav_server.app import create_app

    store = RecordingStore(RecordingSettings(sqlite_path=tmp_path / "r.db", enabled=False))
    server = LiveServer(create_app(Settings(models=("tiny-gpt2",)), tiny_registry, recordings=store)).start()
    try:
        response = httpx.post(f"{server.url}/api/recordings", content=RECORDING.read_bytes(), timeout=30)
        assert response.status_code == 404 and "MAV_RECORDINGS=0" in error_of(response)["message"]
        assert not (tmp_path / "r.db").exists(), "no database is made"
    finally:
        server.stop()
