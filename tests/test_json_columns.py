"""The JSON columns (store/db.py, written by orjson) keep what json.dumps kept: Chinese as it
is, non-string keys as strings, nested lists and nulls, and an integer beyond 64 bits exactly
(which orjson refuses to write, and would read as a float); on PostgreSQL (JSONB) and SQLite."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from caseflow.store.db import make_engine
from caseflow.store.models import Json

VALUE = {"症状": "扫描时球管报警,无法出图", 3: "第三级", "rounds": [{"round": 1, "met_at": None,
                                                              "fired": [1, 2]}],
         "ok": True, "ratio": 0.75, "big": 2 ** 70}
READ = {"症状": "扫描时球管报警,无法出图", "3": "第三级", "rounds": [{"round": 1, "met_at": None,
                                                               "fired": [1, 2]}],
        "ok": True, "ratio": 0.75, "big": 2 ** 70}


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_a_json_column_round_trips_chinese_and_keys_as_json_dumps_wrote_them(
        dialect: str, database_url: str, tmp_path: Path) -> None:
    url = database_url if dialect == "postgresql" else f"sqlite:///{tmp_path}/json.db"
    engine = make_engine(url)
    table = Table(f"json_probe_{uuid.uuid4().hex[:8]}", MetaData(),
                  Column("id", Integer, primary_key=True), Column("data", Json))
    table.create(engine)
    try:
        with engine.begin() as connection:
            connection.execute(insert(table).values(id=1, data=VALUE))
        with engine.connect() as connection:
            assert connection.scalar(select(table.c.data)) == READ
            stored = connection.scalar(text(f"SELECT CAST(data AS TEXT) FROM {table.name}"))
        assert "扫描时球管报警" in stored and "\\u" not in stored
    finally:
        table.drop(engine)
        engine.dispose()
