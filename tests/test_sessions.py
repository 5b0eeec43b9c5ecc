"""A unit of database work (store/db.py `unit`, the API's `in_thread`): one transaction, after
which the session holds no rows, so the request's session reads afresh between its awaits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from caseflow.domain.errors import InvalidTransition
from caseflow.store.db import unit
from caseflow.store.models import Hospital


@pytest.fixture
def hospital_id(sessions) -> Iterator[str]:  # type: ignore[no-untyped-def]
    found = f"H-UNIT-{uuid.uuid4().hex[:8]}"
    yield found
    with sessions.begin() as session:
        session.execute(delete(Hospital).where(Hospital.id == found))


def _add(session: Session, hospital_id: str, name: str) -> Hospital:
    row = Hospital(id=hospital_id, name=name, region="华东")
    session.add(row)
    session.flush()
    return row


def _add_then_refuse(session: Session, hospital_id: str) -> None:
    _add(session, hospital_id, "半途医院")
    raise InvalidTransition("refused after writing")


def _name(session: Session, hospital_id: str) -> str | None:
    row = session.get(Hospital, hospital_id)
    return row.name if row is not None else None


def test_a_unit_commits_what_it_wrote_and_lets_go_of_its_rows(sessions, hospital_id):
    with sessions() as session:
        row = unit(session, _add, hospital_id, "瑞金医院")
        assert not session.in_transaction()
        assert row not in session and row.name == "瑞金医院"  # detached, still readable
    with sessions() as other:
        assert _name(other, hospital_id) == "瑞金医院"


def test_a_unit_that_raises_leaves_nothing_written_and_the_session_usable(sessions, hospital_id):
    with sessions() as session:
        with pytest.raises(InvalidTransition):
            unit(session, _add_then_refuse, hospital_id)
        assert not session.in_transaction()
        assert unit(session, _name, hospital_id) is None
        unit(session, _add, hospital_id, "仁济医院")
    with sessions() as other:
        assert _name(other, hospital_id) == "仁济医院"


def test_the_next_unit_of_a_session_reads_what_another_session_changed(sessions, hospital_id):
    with sessions.begin() as setup:
        _add(setup, hospital_id, "旧名")
    with sessions() as session:
        before = unit(session, Session.get, Hospital, hospital_id)  # held, as a route holds
        assert before is not None and before.name == "旧名"       # the case row it read
        with sessions.begin() as worker:  # say, a workflow's activity recording a step
            worker.get(Hospital, hospital_id).name = "新名"  # type: ignore[union-attr]
        assert unit(session, _name, hospital_id) == "新名"


def test_a_sessionmaker_gives_each_unit_a_session_of_its_own(sessions, hospital_id):
    seen: list[Session] = []

    def which(session: Session) -> None:
        seen.append(session)

    unit(sessions, which)
    unit(sessions, which)
    assert seen[0] is not seen[1]
