"""Adverse events over the API (dev server, PostgreSQL): regulatory affairs opens one from the
case that recorded it (the awareness time is that case's intake), on the jurisdictions the
equipment register gives; bad input is a 422 naming it, a report to a market where the unit is
not registered a 409, anyone but regulatory affairs a 403; nothing is written by a refusal.
Events of one model and fault posted at once at three hospitals open one group event."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from caseflow.store.models import Case, Equipment
from tests.adverse_event_driver import groups_of, model_of, units_of_one_model
from tests.test_api import headers, new_key, timeline_of
from tests.test_complaint_api import complaint_body
from tests.waiting import until

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


async def test_events_posted_at_once_at_three_hospitals_open_one_group_event(
        api, tokens, sessions):
    serials = units_of_one_model(sessions, hospitals=3, jurisdictions=("CN",))
    model = model_of(sessions, serials[0])
    with sessions() as session:
        where = {s: session.get(Equipment, s).hospital_id for s in serials}
    now = datetime.now().astimezone()
    posted = await asyncio.gather(*(
        api.post("/v1/adverse-events", json=event_body(
            hospital_id=where[serial], equipment_serial=serial, event_type="malfunction",
            description="球管高压打火后检查床失控", fault_category="xray_tube",
            aware_at=(now - timedelta(hours=n)).isoformat()),
            headers=headers(tokens, "regulatory", new_key()))
        for n, serial in enumerate([*serials, serials[2]])))
    assert [r.status_code for r in posted] == [201] * 4, [r.text for r in posted]
    events = [r.json()["case_id"] for r in posted]
    found = await until(lambda: groups_of(sessions, model), f"a group event of {model}")
    assert len(found) == 1
    group_id = found[0]

    async def group_view() -> Json | None:
        answer = await api.get(f"/v1/cases/{group_id}", headers=headers(tokens, "auditor"))
        view = answer.json() if answer.status_code == 200 else None
        return view if view and len(view["group"]["members"]) == 4 else None
    view = await until(group_view, f"{group_id} with its 4 events")
    assert view["kind"] == "adverse_event" and view["event_type"] == "group"
    assert sorted(m["case_id"] for m in view["group"]["members"]) == sorted(events)
    assert {m["hospital_id"] for m in view["group"]["members"]} == set(where.values())
    (nmpa,) = view["reports"]
    assert nmpa["jurisdiction"] == "CN" and nmpa["within"] == "12h" and "12 hours" in nmpa["source"]
    for event_id in events:
        async def told(event_id: str = event_id) -> Json | None:
            answer = await api.get(f"/v1/cases/{event_id}", headers=headers(tokens, "auditor"))
            member = answer.json()
            return member if member.get("group_case_id") == group_id else None
        member = await until(told, f"{event_id} told it is in {group_id}")
        assert {"case_id": group_id, "relation": "group"}.items() <= next(
            link for link in member["linked_cases"] if link["case_id"] == group_id).items()
        assert any(c["key"] == "group_case:CN" for c in member["commitments"])
    assert groups_of(sessions, model) == [group_id]
    classify = await api.post(f"/v1/cases/{group_id}/actions/classify",
                              json={"event_type": "death", "reason": "改判"},
                              headers=headers(tokens, "regulatory", new_key()))
    assert classify.status_code == 409, classify.text
    refault = await api.post(f"/v1/cases/{events[0]}/actions/classify", json={
        "event_type": "malfunction", "reason": "复核", "fault_category": "other"},
        headers=headers(tokens, "regulatory", new_key()))
    assert refault.status_code == 409 and group_id in refault.text, refault.text


async def test_no_group_event_is_opened_by_hand_nor_an_event_of_an_unknown_fault(
        api, tokens, sessions):
    before = case_count(sessions)
    refused = await open_event(api, tokens, fault_category="melted")
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"][-1] == "fault_category"
    by_hand = await open_event(api, tokens, event_type="group")
    assert by_hand.status_code == 422 and "'group'" in by_hand.text, by_hand.text
    assert by_hand.json()["detail"][0]["loc"][-1] == "event_type"
    assert case_count(sessions) == before
