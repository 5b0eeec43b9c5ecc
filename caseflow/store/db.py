"""Engine and session factory for the configured database URL, plus migrations to head."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from caseflow.config import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")

# Where a unit of work gets its session: the one of the request (or command), or a sessionmaker
# when the caller runs several units at once (each then gets a session of its own: a session is
# never used by two threads at once).
Db = Session | sessionmaker[Session]


def _dumps(value: object) -> str:
    """A JSON column's text (Chinese as UTF-8, not escaped), by orjson: a case row's list of
    commitment rounds is written whole at every record, and the standard library's json made
    that a large part of a long case's recording (docs/performance.md). Non-string keys are
    written as strings, as json.dumps writes them; what orjson refuses (an integer beyond 64
    bits) is written by json.dumps, as before. Columns are read by json.loads, which reads all
    of it exactly (orjson would read an integer beyond 64 bits as a float)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=_dumps,
                               connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, json_serializer=_dumps, pool_pre_ping=True, pool_size=10,
                         max_overflow=20)


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def unit(db: Db, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`work(session, *args, **kwargs)` as one transaction: committed if it returns, rolled
    back if it raises. Then the session lets go of its connection and of the rows it loaded
    (they stay readable, detached): the next unit reads afresh what a workflow may have changed
    meanwhile, and no connection is held while the caller awaits Temporal. Run it in a worker
    thread (`api/deps.py` `in_thread`, `asyncio.to_thread`); a `with session.begin():` inside
    `work` is fine."""
    session = db() if isinstance(db, sessionmaker) else db
    try:
        result = work(session, *args, **kwargs)
        session.commit()
        return result
    finally:
        session.close()


def insert_of(session: Session) -> Any:
    """The INSERT of the session's database that can say ON CONFLICT (DO NOTHING / DO UPDATE):
    PostgreSQL's, or the embedded SQLite's, which take the same arguments."""
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def ping(session: Session) -> None:
    """A query the database answers if it is there (readiness)."""
    session.execute(text("select 1"))


def migrate(url: str) -> None:
    """Apply every Alembic migration up to head."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    command.upgrade(config, "head")
