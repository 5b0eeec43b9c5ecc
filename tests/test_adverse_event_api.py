"""Adverse events over the API (dev server, PostgreSQL): regulatory affairs opens one from the
case that recorded it (the awareness time is that case's intake), on the jurisdictions the
equipment register gives; bad input is a 422 naming it, a report to a market where the unit is
not registered a 409, anyone but regulatory affairs a 403; nothing is written by a refusal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from caseflow.store.models import Case, Equipment
from tests.test_api import headers, new_key, timeline_of
from tests.test_complaint_api import complaint_body

Json = dict[str, Any]


def event_body(**extra: Any) -> Json:
    return {"hospital_id": "H-DH", "equipment_serial": "CT-DH-0001",
            "event_type": "serious_injury", "description": "检查床下降时夹伤患者手指",
            "patient_harm": "右手食指骨折", **extra}


async def open_event(api, tokens, **extra: Any):  # type: ignore[no-untyped-def]
    return await api.post("/v1/adverse-events", json=event_body(**extra),
                          headers=headers(tokens, "regulatory", new_key()))


def case_count(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


async def test_an_event_from_a_complaint_counts_from_the_complaints_intake(api, tokens, sessions):
    recorded = await api.post("/v1/complaints", json=complaint_body(
        equipment_serial="CT-DH-0001", category="equipment_failure", matter="检查床夹伤患者手指"),
        headers=headers(tokens, "hotline", new_key()))
    assert recorded.status_code == 201, recorded.text
    complaint_id = recorded.json()["case_id"]
    # the intake time is the one the complaint's workflow recorded (the API reserves the number
    # a few ms before it): wait for the record, then read it
    await timeline_of(api, tokens, complaint_id, at_least=1)
    with sessions() as session:
        intake_at = session.scalars(select(Case.opened_at).where(
            Case.case_id == complaint_id)).one()
    created = await open_event(api, tokens, related_case_id=complaint_id)
    assert created.status_code == 201, created.text
    event_id = created.json()["case_id"]
    assert event_id.startswith("AE-")
    view = (await api.get(f"/v1/cases/{event_id}", headers=headers(tokens, "auditor"))).json()
    assert view["kind"] == "adverse_event" and view["origin"]["case_id"] == complaint_id
    assert datetime.fromisoformat(view["aware_at"]) == intake_at
    assert view["registration"] == {"jurisdictions": ["CN", "EU"],
                                    "udi": "(01)00840682103411(21)CT-DH-0001"}
    due = {r["jurisdiction"]: datetime.fromisoformat(r["due_at"]) for r in view["reports"]}
    assert due == {"CN": intake_at + timedelta(days=20), "EU": intake_at + timedelta(days=15)}
    assert view["intake"]["description"] == "检查床下降时夹伤患者手指"  # Chinese round-trips

    submitted = await api.post(f"/v1/cases/{event_id}/actions/submit", json={
        "jurisdiction": "US", "submitted_at": datetime.now().astimezone().isoformat(),
        "channel": "eMDR", "reference": "MW-1"},
        headers=headers(tokens, "regulatory", new_key()))
    assert submitted.status_code == 409 and "not registered in US" in submitted.text
    unknown = await api.post(f"/v1/cases/{event_id}/actions/submit", json={
        "jurisdiction": "XX", "submitted_at": datetime.now().astimezone().isoformat(),
        "channel": "eMDR", "reference": "MW-1"},
        headers=headers(tokens, "regulatory", new_key()))
    assert unknown.status_code == 422 and "XX" in unknown.text, unknown.text
    by_supervisor = await api.post(f"/v1/cases/{event_id}/actions/submit", json={
        "jurisdiction": "CN", "submitted_at": datetime.now().astimezone().isoformat(),
        "channel": "系统", "reference": "R-1"}, headers=headers(tokens, "supervisor", new_key()))
    assert by_supervisor.status_code == 403
    sent = await api.post(f"/v1/cases/{event_id}/actions/submit", json={
        "jurisdiction": "CN", "submitted_at": datetime.now().astimezone().isoformat(),
        "channel": "国家医疗器械不良事件监测信息系统", "reference": "国械监-2026-001"},
        headers=headers(tokens, "regulatory", new_key()))
    assert sent.status_code == 200, sent.text
    reports = {r["jurisdiction"]: r for r in sent.json()["reports"]}
    assert reports["CN"]["submission"]["reference"] == "国械监-2026-001"
    assert reports["EU"]["submission"] is None


async def test_bad_openings_are_refused_and_open_nothing(api, tokens, sessions):
    before = case_count(sessions)
    unknown_type = await open_event(api, tokens, event_type="bruise")
    assert unknown_type.status_code == 422 and "bruise" in unknown_type.text
    assert unknown_type.json()["detail"][0]["loc"][-1] == "event_type"
    with sessions.begin() as session:
        session.get(Equipment, "CT-JB-0003").jurisdictions = ["CN", "BR"]
    try:
        unknown_place = await open_event(api, tokens, hospital_id="H-JB",
                                         equipment_serial="CT-JB-0003")
    finally:
        with sessions.begin() as session:
            session.get(Equipment, "CT-JB-0003").jurisdictions = ["CN"]
    assert unknown_place.status_code == 422 and "'BR'" in unknown_place.text
    future = await open_event(api, tokens, aware_at=(datetime.now().astimezone()
                                                     + timedelta(days=1)).isoformat())
    assert future.status_code == 422 and "aware_at" in future.text
    for role in ("hotline", "engineer", "supervisor", "auditor"):
        refused = await api.post("/v1/adverse-events", json=event_body(),
                                 headers=headers(tokens, role, new_key()))
        assert refused.status_code == 403, (role, refused.text)
    assert case_count(sessions) == before
