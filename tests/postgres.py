"""The tests' PostgreSQL: the throwaway cluster (caseflow/store/throwaway.py) and a fresh
database of a test's own on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from caseflow.store.throwaway import (
    PostgresServer,
    free_port,
    postgres_cluster,
    postgres_server,
    restartable_port,
)

__all__ = ["PostgresServer", "free_port", "fresh_database", "postgres_cluster",
           "postgres_server", "restartable_port"]


@contextmanager
def fresh_database(cluster_url: str, prefix: str) -> Iterator[tuple[str, Any]]:
    """A database of its own on the session's cluster, migrated, with the reference data; yields
    its URL and session factory, and drops it afterwards. For tests whose senders drain every
    pending row, so they cannot disturb (or be disturbed by) the rows other tests look at."""
    from sqlalchemy import create_engine, text

    from caseflow.store.db import make_engine, make_sessions, migrate
    from caseflow.store.seed import load_reference_data

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(cluster_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = cluster_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        load_reference_data(sessions)
        yield url, sessions
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
