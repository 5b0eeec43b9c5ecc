"""Emergencies over the HTTP API (PostgreSQL, the Temporal dev server, a worker).

POST /v1/emergencies declares one (idempotent); the on-call chain of the unit's hospital is
paged by the workflow; the shared actions route drives it to its close; refusals change nothing.
Each test declares on a hospital and unit of its own, with its own roster.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from caseflow.store.models import Case, CaseEventRow, Equipment, Notification
from tests.emergency_driver import CHAIN, new_hospital
from tests.test_api import act, headers, locs, new_key, refused

Json = dict[str, Any]


def new_unit(sessions, chain=CHAIN) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A hospital with `chain` on call, and a CT unit there: (hospital id, serial)."""
    hospital_id = new_hospital(sessions, chain)
    serial = f"CT-T{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Equipment(serial=serial, hospital_id=hospital_id, modality="CT",
                              brand="GE", model="Revolution CT", department="放射科"))
    return hospital_id, serial


def body(hospital_id: str, serial: str, **extra: Any) -> Json:
    return {"hospital_id": hospital_id, "equipment_serial": serial, "trigger": "patient_safety",
            "impact": "增强扫描中患者过敏,检查床无法退出", "department": "放射科",
            "location": "门诊楼1层", "reporter_name": "刘护士", "reporter_phone": "13811112222",
            **extra}


async def declare(api: httpx.AsyncClient, tokens: dict[str, str], payload: Json,
                  role: str = "hotline", key: str | None = None) -> httpx.Response:
    return await api.post("/v1/emergencies", json=payload,
                          headers=headers(tokens, role, key or new_key()))


async def paged(api: httpx.AsyncClient, tokens: dict[str, str], case_id: str) -> Json:
    """The case once its first page is on the recorded timeline (and so in the outbox)."""
    for _ in range(200):
        timeline = await api.get(f"/v1/cases/{case_id}/timeline",
                                 headers=headers(tokens, "auditor"))
        if timeline.status_code == 200 and "page" in [e["event"] for e in timeline.json()]:
            return (await api.get(f"/v1/cases/{case_id}",
                                  headers=headers(tokens, "auditor"))).json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id} paged nobody")


async def test_declare_pages_level_1_at_once_and_reads_back(api, tokens, sessions, dev_env):
    hospital_id, serial = new_unit(sessions)
    response = await declare(api, tokens, body(hospital_id, serial))
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]
    assert case_id.startswith("EM-") and response.json()["kind"] == "emergency"
    view = await paged(api, tokens, case_id)
    assert view["kind"] == "emergency" and view["status"] == "paging"
    assert view["intake"]["impact"] == "增强扫描中患者过敏,检查床无法退出"
    assert [p["id"] for p in view["pages"][0]["people"]] == ["EN-01"]
    for role, expected in (("engineer", ["acknowledge"]), ("engineer2", [])):
        offered = await api.get(f"/v1/cases/{case_id}/actions", headers=headers(tokens, role))
        assert [a["action"] for a in offered.json()["actions"]][:1] == expected[:1], role
    assert view["allowed_actions"] == ["acknowledge", "stand-down"]
    with sessions() as session:
        sent = session.scalars(select(Notification).where(Notification.case_id == case_id,
                                                          Notification.person_id == "EN-01"))
        assert [n.urgent for n in sent if n.subject.startswith("应急呼叫")] == [True]
        row = session.scalar(select(Case).where(Case.case_id == case_id))
        assert row is not None and row.kind == "emergency" and row.severity == "critical"
    listed = await api.get("/v1/cases", params={"kind": "emergency"},
                           headers=headers(tokens, "manager"))
    assert case_id in [item["case_id"] for item in listed.json()["items"]]
    # The Temporal UI's summary of the case names its trigger in words, not its code.
    described = await dev_env.client.get_workflow_handle(case_id).describe()
    assert await described.static_summary() == \
        f"应急 CT {serial} 危及患者安全:增强扫描中患者过敏,检查床无法退出"


async def test_declare_again_with_the_same_key_is_the_same_emergency(api, tokens, sessions):
    hospital_id, serial = new_unit(sessions)
    key = new_key()
    first = await declare(api, tokens, body(hospital_id, serial), key=key)
    again = await declare(api, tokens, body(hospital_id, serial), key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["case_id"] == again.json()["case_id"]
    other = await declare(api, tokens, body(hospital_id, serial, impact="另一件事"), key=key)
    assert other.status_code == 422 and locs(other) == [["header", "Idempotency-Key"]]
    with sessions() as session:
        assert len(list(session.scalars(select(Case).where(
            Case.kind == "emergency", Case.hospital_id == hospital_id)))) == 1


async def test_bad_declarations_name_the_field_and_write_nothing(api, tokens, sessions):
    hospital_id, serial = new_unit(sessions)
    cases = [
        (body(hospital_id, serial, trigger="fire"), ["body", "trigger"]),
        (body(hospital_id, serial, impact=""), ["body", "impact"]),
        (body(hospital_id, "CT-NOPE-0000"), ["body", "equipment_serial"]),
        (body("H-DH", serial), ["body", "hospital_id"]),
        (body(hospital_id, serial, related_case_id="RP-19990101-000001"),
         ["body", "related_case_id"]),
        (body(hospital_id, serial, colour="red"), ["body", "colour"]),
    ]
    for payload, loc in cases:
        response = await declare(api, tokens, payload)
        assert response.status_code == 422, (payload, response.text)
        assert locs(response) == [loc], response.text
    for role, status in (("auditor", 403), ("engineer", 403)):
        assert (await declare(api, tokens, body(hospital_id, serial), role=role)
                ).status_code == status
    with sessions() as session:
        assert session.scalar(select(Case).where(Case.hospital_id == hospital_id)) is None
        assert session.scalar(select(Case).where(Case.kind == "emergency",
                                                 Case.equipment_serial == serial)) is None


async def test_an_emergency_walks_to_closed_over_http(api, tokens, sessions):
    hospital_id, serial = new_unit(sessions)
    case_id = (await declare(api, tokens, body(hospital_id, serial))).json()["case_id"]
    await paged(api, tokens, case_id)
    await refused(api, tokens, case_id, "engineer2", "acknowledge", {}, 403)  # not paged
    await refused(api, tokens, case_id, "supervisor", "restored", {"summary": "好了"}, 409)
    due = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=7)).isoformat()
    steps: list[tuple[str, str, Json, str]] = [
        ("engineer", "acknowledge", {"note": "马上到"}, "acknowledged"),
        ("engineer", "dispatch", {"team": [{"person_id": "EN-01"}, {"person_id": "EN-02"}]},
         "dispatched"),
        ("engineer2", "on-site", {"mode": "on_site"}, "on_site"),
        ("engineer", "safety-measures", {"measures": ["患者转至 CT-2"]}, "on_site"),
        ("hotline", "progress", {"message": "正在更换驱动板"}, "on_site"),
        ("engineer", "restored", {"summary": "更换驱动板"}, "restored"),
        ("engineer", "performance-check", {
            "parameters": [{"name": "水模CT值", "value": 1.0, "unit": "HU", "low": -4, "high": 4}],
            "functions_ok": True, "running_state_ok": True, "electrical_safety_ok": True},
         "checked"),
        ("hotline", "survey", {"satisfaction": 5}, "surveyed"),
        ("supervisor", "review", {"root_cause": "驱动板老化", "summary": "纳入巡检", "actions": [
            {"description": "同型号巡检", "owner_id": "EN-02", "due_at": due}]}, "reviewed"),
        ("engineer2", "complete-action", {"action_id": "A1", "result": "已巡检"}, "reviewed"),
        ("manager", "close", {"note": "复盘完成"}, "closed"),
    ]
    for role, action, payload, status in steps:
        response = await act(api, tokens, case_id, role, action, payload)
        assert response.status_code == 200, (action, response.text)
        assert response.json()["status"] == status, action
    view = response.json()
    assert [m["person_name"] for m in view["team"]] == ["张伟", "陈静"], "names filled in"
    assert view["actions"][0]["owner_name"] == "陈静"
    with sessions() as session:
        events = [e.event for e in session.scalars(select(CaseEventRow).where(
            CaseEventRow.case_id == case_id).order_by(CaseEventRow.seq))]
    assert events[:2] == ["opened", "page"] and events[-1] == "close"


async def test_bad_emergency_steps_are_refused_with_the_right_status(api, tokens, sessions):
    hospital_id, serial = new_unit(sessions)
    case_id = (await declare(api, tokens, body(hospital_id, serial))).json()["case_id"]
    await paged(api, tokens, case_id)
    await refused(api, tokens, case_id, "auditor", "acknowledge", {}, 403)
    await refused(api, tokens, case_id, "hotline", "stand-down", {"reason": "误报"}, 403)
    await refused(api, tokens, case_id, "supervisor", "close", {}, 409)
    response = await refused(api, tokens, case_id, "supervisor", "classify",
                             {"severity": "critical"}, 422)
    assert "classify" in response.text
    await refused(api, tokens, case_id, "engineer", "acknowledge", {"note": 5}, 422)
    assert (await act(api, tokens, case_id, "supervisor", "acknowledge")).status_code == 200
    await refused(api, tokens, case_id, "engineer", "dispatch",
                  {"team": [{"person_id": "AU-01"}]}, 422)  # an auditor is no team member
    await refused(api, tokens, case_id, "engineer", "dispatch", {"team": []}, 422)
    response = await act(api, tokens, case_id, "supervisor", "stand-down", {"reason": "误报"})
    assert response.status_code == 200 and response.json()["status"] == "stood_down"
    await refused(api, tokens, case_id, "supervisor", "progress", {"message": "x"}, 409)
