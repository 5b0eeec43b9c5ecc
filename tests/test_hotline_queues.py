"""The hotline's queues (GET /v1/queues/{name}) and finding a case by any text of it
(GET /v1/cases?q=): caller's name, phone however written, words of the symptom or of a step,
one or two Chinese characters too; indexed on PostgreSQL, and the same answers on SQLite."""

from __future__ import annotations

import random
from datetime import date, datetime, timezone

from sqlalchemy import text

from caseflow.domain.access import case_scope
from caseflow.domain.enums import Role
from caseflow.domain.search import CaseFilter, CaseSort
from caseflow.store.cases import Draft, add_text, reserve_case
from caseflow.store.db import make_engine, make_sessions, migrate
from caseflow.store.search import find_cases
from caseflow.store.seed import load_reference_data
from tests.test_api import act, headers, open_case, walk_to


def rare_chinese(n: int) -> str:
    """Characters no other test writes (CJK Extension A), so a search finds only ours."""
    return "".join(chr(random.randint(0x3400, 0x4DB5)) for _ in range(n))


async def found(api, tokens, q: str, role: str = "hotline") -> list[str]:  # type: ignore[no-untyped-def]
    response = await api.get("/v1/cases", params={"q": q, "limit": 200},
                              headers=headers(tokens, role))
    assert response.status_code == 200, response.text
    return [c["case_id"] for c in response.json()["items"]]


async def test_a_case_is_found_by_name_phone_symptom_step_and_number(api, tokens):
    surname, given, words = rare_chinese(1), rare_chinese(1), rare_chinese(4)
    phone = f"0571-{random.randint(10_000_000, 99_999_999)}"
    case_id = await open_case(api, tokens, severity="general", reporter_name=f"{surname}{given}医生",
                              reporter_phone=phone, symptom=f"扫描时{words}报警")
    assert await found(api, tokens, surname) == [case_id], "one Chinese character"
    assert await found(api, tokens, f"{surname}{given}") == [case_id], "a two-character name"
    assert await found(api, tokens, words[1:]) == [case_id], "three characters of the symptom"
    assert await found(api, tokens, phone.replace("-", " ")) == [case_id], "a phone written apart"
    assert await found(api, tokens, phone[-8:]) == [case_id], "part of the number"
    assert await found(api, tokens, case_id.lower()) == [case_id]
    assert await found(api, tokens, f"{words}{surname}") == [], "every piece, in order"

    note = rare_chinese(3)
    assigned = await act(api, tokens, case_id, "supervisor", "assign",
                         {"engineer_id": "EN-01", "note": f"就近 {note}"})
    assert assigned.status_code == 200, assigned.text
    assert await found(api, tokens, note, role="auditor") == [case_id], "a step's text"
    refused = await api.get("/v1/cases", params={"q": note, "source": "temporal"},
                            headers=headers(tokens, "hotline"))
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "q"]


async def test_text_search_uses_the_index_on_postgresql(sessions):
    with sessions() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.scalars(text(
            "EXPLAIN SELECT seq FROM cases WHERE search_grams @> ARRAY['张伟']::text[]")))
    assert "ix_cases_search_grams" in plan, plan


def test_text_search_answers_the_same_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'caseflow.db'}"
    migrate(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    load_reference_data(sessions)
    now = datetime.now(timezone.utc)
    with sessions.begin() as session:
        row, _ = reserve_case(session, kind="repair", created_by="HL-01", key="k-sqlite-1",
                              request_hash="h", draft=Draft("H-DH", "CT-DH-0001", "球管报警"),
                              now=now, local_day=date.today(),
                              text="李医生 0571-88886666 扫描时球管报警")
        case_id = row.case_id
        row.status = "assigned"
        add_text(session, case_id or "", {"note": "张伟就近处理"})
    scope = case_scope(Role.hotline, "HL-01", None)
    with sessions() as session:
        for query in ("李", "张伟", "球管报警", "0571 88886666", case_id or ""):
            rows, _ = find_cases(session, CaseFilter(q=query), scope, CaseSort.newest, None, 10)
            assert [r.case_id for r in rows] == [case_id], query
        rows, _ = find_cases(session, CaseFilter(q="100%"), scope, CaseSort.newest, None, 10)
        assert rows == [], "% is a character to find, not a wildcard"
    engine.dispose()


async def test_the_hotlines_queues_hold_what_it_must_do_soonest_first(api, tokens):
    first = await open_case(api, tokens, severity="general")
    second = await open_case(api, tokens, severity="general")
    for case_id in (first, second):
        assert (await act(api, tokens, case_id, "supervisor", "assign",
                          {"engineer_id": "EN-01"})).status_code == 200

    async def queue(name: str) -> list[tuple[str, str]]:
        response = await api.get(f"/v1/queues/{name}", headers=headers(tokens, "hotline"))
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        dues = [i["due_at"] for i in items]
        assert dues == sorted(dues), "soonest due first"
        return [(i["case"]["case_id"], i["commitment"]) for i in items]

    handovers = await queue("handover")
    assert (first, "handover") in handovers and (second, "handover") in handovers
    assert handovers.index((first, "handover")) < handovers.index((second, "handover"))
    assert (await act(api, tokens, first, "hotline", "confirm-handover", {})).status_code == 200
    assert first not in [c for c, _ in await queue("handover")]

    await walk_to(api, tokens, first, "awaiting_confirmation")
    assert (first, "customer_confirmation") in await queue("confirmation")
    await walk_to(api, tokens, first, "awaiting_callback")
    assert (first, "callback") in await queue("callback")
    assert first not in [c for c, _ in await queue("confirmation")]
    unknown = await api.get("/v1/queues/everything", headers=headers(tokens, "hotline"))
    assert unknown.status_code == 422
