"""The HTTP API on PostgreSQL and the Temporal dev server: every status code a client can meet.

Each test opens its own cases with fresh Idempotency-Keys; cases are walked forward through
POST /v1/cases/{id}/actions/{action} in the order of DOMAIN.md section 1.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import func, select
from temporalio.client import Client

from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.domain.enums import Role
from caseflow.domain.repair import REPAIR_ACTIONS
from caseflow.store.models import Case
from tests.repair_driver import PASSING_VERIFICATION, intake

Json = dict[str, Any]

# The valid walk of an in-warranty repair whose severity the hotline gave at intake.
WALK: list[tuple[str, str, str, Json]] = [
    # (status reached, role, action, payload)
    ("assigned", "supervisor", "assign", {"engineer_id": "EN-01"}),
    ("acknowledged", "engineer", "acknowledge", {}),
    ("on_site", "engineer", "arrive", {"mode": "on_site"}),
    ("site_reported", "engineer", "report-site", {"condition": "机房温湿度正常,电源稳定"}),
    ("work_approved", "supervisor", "approve-start", {}),
    ("repairing", "engineer", "diagnose", {"findings": "球管灯丝老化", "fault_category": "xray_tube"}),
    ("awaiting_confirmation", "engineer", "resolve",
     {"summary": "更换球管,测试正常", "verification": PASSING_VERIFICATION}),
    ("awaiting_callback", "hotline", "confirm", {"confirmed_by": "李医生"}),
    ("closed", "hotline", "callback", {"satisfaction": 5, "comment": "非常满意"}),
]

# One well-formed payload per action (what an allowed person could send in the right state).
VALID_PAYLOADS: dict[str, Json] = {
    "classify": {"severity": "minor"},
    "reclassify": {"severity": "minor", "reason": "复核后降级"},
    "assign": {"engineer_id": "EN-02"},
    "acknowledge": {},
    "confirm-handover": {},
    "arrive": {"mode": "remote"},
    "report-site": {"condition": "远程接入正常"},
    "approve-start": {},
    "diagnose": {"findings": "风扇故障", "fault_category": "other"},
    "quote": {"amount": "1200.00", "currency": "CNY"},
    "approve-quote": {"approved_by": "设备科 王主任"},
    "decline-quote": {"reason": "费用超出预算"},
    "order-parts": {"parts": [{"part_no": "FAN-22", "name": "散热风扇"}]},
    "parts-arrived": {},
    "progress": {"note": "等待复测"},
    "resolve": {"summary": "更换风扇,复测正常", "verification": PASSING_VERIFICATION},
    "confirm": {"confirmed_by": "李医生"},
    "dispute": {"reason": "图像仍有伪影"},
    "callback": {"satisfaction": 4},
    "pause": {"reason": "customer_postponed"},
    "resume": {},
    "alarm": {"episode_id": 1, "code": "CT-GANTRY", "severity": "alarm",
              "raised_at": "2026-01-01T08:00:00+08:00", "alarms": 1},
    "alarm-cleared": {"episode_id": 1, "code": "CT-GANTRY",
                      "cleared_at": "2026-01-01T08:05:00+08:00", "alarms": 1},
    "close-self-resolved": {"reason": "告警自行恢复"},
}


# ----- helpers ------------------------------------------------------------------------------------

def headers(tokens: dict[str, str], role: str, key: str | None = None) -> dict[str, str]:
    found = {"Authorization": f"Bearer {tokens[role]}"}
    if key is not None:
        found["Idempotency-Key"] = key
    return found


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


def intake_body(**extra: Any) -> Json:
    return intake(**extra).model_dump(mode="json")


def locs(response: httpx.Response) -> list[list[str]]:
    return [list(item["loc"]) for item in response.json()["detail"]]


def case_rows(sessions, key: str | None = None) -> int:  # type: ignore[no-untyped-def]
    """Case rows a request opens (all of them, or those with this Idempotency-Key). Leaves out
    reportability reviews: the workflows of cases opened before open them on their own, at any
    moment, and no request opens one."""
    query = select(func.count()).select_from(Case).where(Case.kind != "review")
    if key is not None:
        query = query.where(Case.idempotency_key == key)
    with sessions() as session:
        return session.scalar(query) or 0


async def open_case(api: httpx.AsyncClient, tokens: dict[str, str], **extra: Any) -> str:
    created = await api.post("/v1/repairs", json=intake_body(**extra),
                             headers=headers(tokens, "hotline", new_key()))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    # The intake ("opened", and "classify" when the hotline gave a severity) is written just
    # after the 201; wait for it so later before/after counts compare settled timelines.
    await timeline_of(api, tokens, case_id, at_least=2 if extra.get("severity") else 1)
    return case_id


async def timeline_of(api: httpx.AsyncClient, tokens: dict[str, str], case_id: str,
                      at_least: int = 0) -> list[Json]:
    """The steps and deadlines on the timeline (its case entries); waits (up to 5 s) for the
    first events an activity writes after intake."""
    for _ in range(100):
        response = await api.get(f"/v1/cases/{case_id}/timeline", params={"sources": "case"},
                                 headers=headers(tokens, "auditor"))
        assert response.status_code == 200, response.text
        if len(response.json()) >= at_least:
            return response.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id}: fewer than {at_least} timeline events after 5 s")


async def act(api: httpx.AsyncClient, tokens: dict[str, str], case_id: str, role: str,
              action: str, payload: Json | None = None, key: str | None = None) -> httpx.Response:
    return await api.post(f"/v1/cases/{case_id}/actions/{action}", json=payload or {},
                          headers=headers(tokens, role, key or new_key()))


async def walk_to(api: httpx.AsyncClient, tokens: dict[str, str], case_id: str,
                  status: str) -> Json:
    """Report the steps of WALK in order until the case is in `status`."""
    view = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))).json()
    reached = [step[0] for step in WALK]
    start = reached.index(view["status"]) + 1 if view["status"] in reached else 0
    for _reached, role, action, payload in WALK[start:]:
        if view["status"] == status:
            break
        response = await act(api, tokens, case_id, role, action, payload)
        assert response.status_code == 200, (action, response.text)
        view = response.json()
    assert view["status"] == status, view["status"]
    return view


async def listed(api: httpx.AsyncClient, tokens: dict[str, str], **params: Any) -> list[str]:
    response = await api.get("/v1/cases", params={"limit": 200, **params},
                             headers=headers(tokens, "manager"))
    assert response.status_code == 200, response.text
    return [item["case_id"] for item in response.json()["items"]]


async def refused(api: httpx.AsyncClient, tokens: dict[str, str], case_id: str, role: str,
                  action: str, payload: Json | None, status: int) -> httpx.Response:
    """Send an action that must be refused with `status`, and check nothing was recorded."""
    before = await timeline_of(api, tokens, case_id)
    state_before = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))).json()
    response = await act(api, tokens, case_id, role, action, payload, key=new_key())
    assert response.status_code == status, (action, response.status_code, response.text)
    after = await timeline_of(api, tokens, case_id)
    assert len(after) == len(before), (action, [e["event"] for e in after])
    state_after = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))).json()
    assert len(state_after["steps"]) == len(state_before["steps"])
    assert state_after["status"] == state_before["status"]
    return response


# ----- POST /v1/repairs -----------------------------------------------------------------------------

async def test_create_returns_201_with_a_case_id_and_links(api, tokens, sessions):
    key = new_key()
    response = await api.post("/v1/repairs", json=intake_body(severity="severe"),
                              headers=headers(tokens, "hotline", key))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["case_id"].startswith("RP-")
    assert body["kind"] == "repair" and body["created"] is True
    assert body["links"]["self"] == f"/v1/cases/{body['case_id']}"
    assert case_rows(sessions, key) == 1


async def test_create_again_with_the_same_key_and_body_returns_the_same_case_once(
        api, tokens, sessions, dev_env):
    key = new_key()
    body = intake_body(hospital="H-JB", serial="CT-JB-0003")
    first = await api.post("/v1/repairs", json=body, headers=headers(tokens, "hotline", key))
    assert first.status_code == 201, first.text
    case_id = first.json()["case_id"]
    await timeline_of(api, tokens, case_id, at_least=1)

    again = await api.post("/v1/repairs", json=body, headers=headers(tokens, "hotline", key))
    assert again.status_code == 200, again.text
    assert again.json()["case_id"] == case_id
    assert again.json()["created"] is False

    assert case_rows(sessions, key) == 1
    assert (await listed(api, tokens, hospital_id="H-JB")).count(case_id) == 1
    timeline = await timeline_of(api, tokens, case_id)
    assert [e["event"] for e in timeline].count("opened") == 1
    runs: list[str] = []
    for _ in range(100):  # visibility of the dev server may trail the start by a moment
        runs = [w.run_id async for w in dev_env.client.list_workflows(f"WorkflowId = '{case_id}'")]
        if runs:
            break
        await asyncio.sleep(0.05)
    assert len(runs) == 1, runs


async def test_create_with_a_used_key_and_another_body_is_refused_naming_the_header(
        api, tokens, sessions):
    key = new_key()
    first = await api.post("/v1/repairs", json=intake_body(),
                           headers=headers(tokens, "hotline", key))
    assert first.status_code == 201, first.text
    total = case_rows(sessions)
    other = intake_body(symptom="另一个故障:检查床无法移动")
    response = await api.post("/v1/repairs", json=other, headers=headers(tokens, "hotline", key))
    assert response.status_code == 422, response.text
    assert ["header", "Idempotency-Key"] in locs(response)
    assert case_rows(sessions, key) == 1
    assert case_rows(sessions) == total


async def test_create_without_an_idempotency_key_is_refused_and_writes_nothing(api, tokens, sessions):
    total = case_rows(sessions)
    response = await api.post("/v1/repairs", json=intake_body(), headers=headers(tokens, "hotline"))
    assert response.status_code == 422, response.text
    assert ["header", "Idempotency-Key"] in locs(response)
    short = await api.post("/v1/repairs", json=intake_body(),
                           headers=headers(tokens, "hotline", "short"))
    assert short.status_code == 422, short.text
    assert case_rows(sessions) == total


async def test_create_with_a_bad_payload_names_the_field_and_writes_nothing(api, tokens, sessions):
    missing_symptom = intake_body()
    del missing_symptom["symptom"]
    cases = {
        "symptom": missing_symptom,
        "reporter_phone": intake_body() | {"reporter_phone": "call me maybe"},
        "channel": intake_body() | {"channel": "fax"},
    }
    total = case_rows(sessions)
    for field, body in cases.items():
        key = new_key()
        response = await api.post("/v1/repairs", json=body, headers=headers(tokens, "hotline", key))
        assert response.status_code == 422, (field, response.text)
        assert ["body", field] in locs(response), (field, response.text)
        assert case_rows(sessions, key) == 0
    assert case_rows(sessions) == total


async def test_create_with_observed_at_without_zone_names_observed_at(api, tokens, sessions):
    total = case_rows(sessions)
    body = intake_body() | {"observed_at": "2026-11-20T09:30:00"}
    response = await api.post("/v1/repairs", json=body, headers=headers(tokens, "hotline", new_key()))
    assert response.status_code == 422, response.text
    assert case_rows(sessions) == total
    assert ["body", "observed_at"] in locs(response), response.text


async def test_create_for_unknown_equipment_names_equipment_serial_and_writes_nothing(
        api, tokens, sessions):
    total = case_rows(sessions)
    key = new_key()
    response = await api.post("/v1/repairs", json=intake_body(serial="CT-XX-9999"),
                              headers=headers(tokens, "hotline", key))
    assert response.status_code == 422, response.text
    assert locs(response) == [["body", "equipment_serial"]]
    assert response.json()["code"] == "UnknownReference"
    assert case_rows(sessions, key) == 0
    assert case_rows(sessions) == total


async def test_create_for_equipment_of_another_hospital_names_hospital_id_and_writes_nothing(
        api, tokens, sessions):
    total = case_rows(sessions)
    key = new_key()
    response = await api.post("/v1/repairs", json=intake_body(serial="CT-JB-0003", hospital="H-DH"),
                              headers=headers(tokens, "hotline", key))
    assert response.status_code == 422, response.text
    assert locs(response) == [["body", "hospital_id"]]
    assert "H-JB" in response.json()["detail"][0]["msg"]
    assert case_rows(sessions, key) == 0
    assert case_rows(sessions) == total


async def test_create_without_a_valid_token_is_401_and_writes_nothing(api, tokens, sessions):
    total = case_rows(sessions)
    body = intake_body()
    none = await api.post("/v1/repairs", json=body, headers={"Idempotency-Key": new_key()})
    assert none.status_code == 401, none.text
    assert none.headers["WWW-Authenticate"] == "Bearer"
    bad = await api.post("/v1/repairs", json=body, headers={
        "Authorization": "Bearer cf_not-a-real-token", "Idempotency-Key": new_key()})
    assert bad.status_code == 401, bad.text
    basic = await api.post("/v1/repairs", json=body, headers={
        "Authorization": "Basic aGw6cHc=", "Idempotency-Key": new_key()})
    assert basic.status_code == 401, basic.text
    assert (await api.get("/v1/cases")).status_code == 401
    assert case_rows(sessions) == total


async def test_create_by_an_auditor_or_an_engineer_is_403_and_writes_nothing(api, tokens, sessions):
    total = case_rows(sessions)
    for role in ("auditor", "engineer"):
        response = await api.post("/v1/repairs", json=intake_body(),
                                  headers=headers(tokens, role, new_key()))
        assert response.status_code == 403, (role, response.text)
        assert role in response.json()["detail"]
    assert case_rows(sessions) == total


# ----- GET /v1/cases/{id}, timeline, history ------------------------------------------------------

async def test_get_case_shows_the_intake_and_every_commitment(api, tokens):
    case_id = await open_case(api, tokens, severity="severe")
    response = await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "manager"))
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["case_id"] == case_id
    assert view["status"] == "awaiting_assignment"
    assert view["severity"] == "severe"
    assert view["in_warranty"] is True
    assert view["equipment"]["serial"] == "CT-DH-0001"
    assert view["opened_by"]["id"] == "HL-01"
    assert "assign" in view["allowed_actions"]
    commitments = {c["key"]: c for c in view["commitments"]}
    assert {"arrival", "restore"} <= set(commitments)
    for commitment in view["commitments"]:
        for field in ("key", "label", "state", "due_at", "started_at", "breached"):
            assert field in commitment, (field, commitment)
        assert commitment["state"] == "open"
        assert commitment["due_at"] is not None
        assert commitment["breached"] is False


async def test_get_unknown_case_timeline_and_history_are_404(api, tokens):
    for path in ("/v1/cases/RP-19990101-999999", "/v1/cases/RP-19990101-999999/timeline",
                 "/v1/cases/RP-19990101-999999/history"):
        response = await api.get(path, headers=headers(tokens, "auditor"))
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "UnknownCase"


async def test_timeline_and_history_of_a_case_are_readable(api, tokens):
    case_id = await open_case(api, tokens, severity="general")
    await walk_to(api, tokens, case_id, "assigned")
    timeline = await timeline_of(api, tokens, case_id, at_least=3)
    assert [e["event"] for e in timeline] == ["opened", "classify", "assign"]
    assert [e["seq"] for e in timeline] == [1, 2, 3]
    assert timeline[0]["actor"] == {"id": "HL-01", "name": "王丽", "role": "hotline"}
    assert timeline[2]["actor"]["id"] == "SV-01"
    assert timeline[2]["data"]["engineer_id"] == "EN-01"

    history = await api.get(f"/v1/cases/{case_id}/history", headers=headers(tokens, "auditor"))
    assert history.status_code == 200, history.text
    events = history.json()["events"]
    assert events[0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED" in {e["eventType"] for e in events}


# ----- POST /v1/cases/{id}/actions/{action} -------------------------------------------------------

async def test_a_valid_step_returns_200_with_the_new_status(api, tokens):
    case_id = await open_case(api, tokens)
    response = await act(api, tokens, case_id, "supervisor", "classify", {"severity": "general"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "awaiting_assignment"
    assert response.json()["severity"] == "general"
    response = await act(api, tokens, case_id, "supervisor", "assign", {"engineer_id": "EN-01"})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["status"] == "assigned"
    assert view["assignee"] == {"id": "EN-01", "name": "张伟", "role": "engineer"}
    assert [s["action"] for s in view["steps"]] == ["classify", "assign"]
    timeline = await timeline_of(api, tokens, case_id)
    assert [e["event"] for e in timeline] == ["opened", "classify", "assign"]


async def test_an_out_of_order_action_is_409_with_a_clear_message(api, tokens):
    case_id = await open_case(api, tokens)
    response = await refused(api, tokens, case_id, "hotline", "confirm",
                             {"confirmed_by": "李医生"}, 409)
    assert response.json()["code"] == "InvalidTransition"
    assert response.json()["detail"].startswith(
        "cannot confirm while the case is awaiting_classification; allowed now: ")
    assert "classify" in response.json()["detail"]

    await act(api, tokens, case_id, "supervisor", "classify", {"severity": "severe"})
    await walk_to(api, tokens, case_id, "assigned")
    response = await refused(api, tokens, case_id, "engineer", "resolve",
                             VALID_PAYLOADS["resolve"], 409)
    assert "cannot resolve while the case is assigned" in response.json()["detail"]
    assert "acknowledge" in response.json()["detail"]


async def test_a_role_not_allowed_is_403(api, tokens):
    case_id = await open_case(api, tokens, severity="severe")
    response = await refused(api, tokens, case_id, "auditor", "assign", {"engineer_id": "EN-01"}, 403)
    assert response.json()["code"] == "NotPermitted"
    assert "auditor may not report steps" in response.json()["detail"]
    await walk_to(api, tokens, case_id, "site_reported")
    response = await refused(api, tokens, case_id, "hotline", "approve-start", {}, 403)
    assert "hotline may not approve-start" in response.json()["detail"]


async def test_an_engineer_who_is_not_the_assignee_is_403(api, tokens):
    case_id = await open_case(api, tokens, severity="severe")
    await walk_to(api, tokens, case_id, "assigned")
    response = await refused(api, tokens, case_id, "engineer2", "acknowledge", {}, 403)
    assert response.json()["code"] == "NotAssignee"
    assert "not assigned to you" in response.json()["detail"]
    ok = await act(api, tokens, case_id, "engineer", "acknowledge", {})
    assert ok.status_code == 200, ok.text


async def test_assign_with_a_bad_payload_is_422_naming_engineer_id(api, tokens):
    case_id = await open_case(api, tokens, severity="general")
    for payload in ({}, {"engineer_id": "EN-99"}, {"engineer_id": "SV-01"}):
        response = await refused(api, tokens, case_id, "supervisor", "assign", payload, 422)
        assert locs(response) == [["body", "engineer_id"]], (payload, response.text)
    response = await refused(api, tokens, case_id, "supervisor", "assign",
                             {"engineer_id": "EN-01", "extra": 1}, 422)
    assert locs(response) == [["body", "extra"]]


async def test_resolve_with_a_failed_check_is_422_naming_the_check(api, tokens):
    case_id = await open_case(api, tokens, severity="severe")
    await walk_to(api, tokens, case_id, "repairing")
    failed = {**PASSING_VERIFICATION, "electrical_safety": {"passed": False, "note": "漏电流超标"}}
    response = await refused(api, tokens, case_id, "engineer", "resolve",
                             {"summary": "更换球管", "verification": failed}, 422)
    assert locs(response) == [["body", "verification", "electrical_safety"]]
    off = {**PASSING_VERIFICATION, "accuracy": [
        {"parameter": "CT值 水模", "measured": 9.0, "reference": 0.0, "tolerance": 4.0}]}
    response = await refused(api, tokens, case_id, "engineer", "resolve",
                             {"summary": "更换球管", "verification": off}, 422)
    assert locs(response) == [["body", "verification", "accuracy", "0", "measured"]]
    ok = await act(api, tokens, case_id, "engineer", "resolve", VALID_PAYLOADS["resolve"])
    assert ok.status_code == 200 and ok.json()["status"] == "awaiting_confirmation", ok.text


async def test_callback_with_satisfaction_9_is_422_naming_satisfaction(api, tokens):
    case_id = await open_case(api, tokens, severity="severe")
    await walk_to(api, tokens, case_id, "awaiting_callback")
    response = await refused(api, tokens, case_id, "hotline", "callback", {"satisfaction": 9}, 422)
    assert locs(response) == [["body", "satisfaction"]]
    response = await refused(api, tokens, case_id, "hotline", "callback", {"satisfaction": 0}, 422)
    assert locs(response) == [["body", "satisfaction"]]


async def test_an_unknown_action_is_422(api, tokens):
    case_id = await open_case(api, tokens)
    response = await refused(api, tokens, case_id, "supervisor", "teleport", {}, 422)
    assert locs(response) == [["path", "action"]]
    assert "unknown action 'teleport'" in response.json()["detail"][0]["msg"]


async def test_an_action_on_an_unknown_case_is_404(api, tokens):
    response = await act(api, tokens, "RP-19990101-999999", "supervisor", "classify",
                         {"severity": "minor"})
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "UnknownCase"


async def test_every_action_on_a_closed_case_is_409(api, tokens):
    assert set(VALID_PAYLOADS) == set(REPAIR_ACTIONS)
    case_id = await open_case(api, tokens, severity="severe")
    closed = await walk_to(api, tokens, case_id, "closed")
    assert closed["outcome"] == "repaired" and closed["closed_at"] is not None
    for action, rule in REPAIR_ACTIONS.items():
        if rule.roles == {Role.monitoring}:
            continue  # fed by the alarm intake only (tests/test_monitoring.py)
        role = next(r for r in (Role.supervisor, Role.hotline, Role.engineer) if r in rule.roles)
        response = await refused(api, tokens, case_id, role.value, action,
                                 VALID_PAYLOADS[action], 409)
        assert response.json()["code"] == "InvalidTransition"
        assert "closed" in response.json()["detail"], (action, response.text)
    state = await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))
    assert state.status_code == 200 and state.json()["status"] == "closed"
    assert case_id in await listed(api, tokens, status="closed")


# ----- idempotency of actions ---------------------------------------------------------------------

async def test_the_same_action_key_twice_is_one_step(api, tokens):
    case_id = await open_case(api, tokens, severity="general")
    key = new_key()
    payload = {"engineer_id": "EN-01", "note": "请尽快联系放射科"}
    first = await act(api, tokens, case_id, "supervisor", "assign", payload, key=key)
    assert first.status_code == 200, first.text
    again = await act(api, tokens, case_id, "supervisor", "assign", payload, key=key)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "assigned"
    assert [s["action"] for s in again.json()["steps"]] == ["classify", "assign"]
    timeline = await timeline_of(api, tokens, case_id)
    assert [e["event"] for e in timeline] == ["opened", "classify", "assign"]

    # A late retry, after the case moved on, still changes nothing.
    await walk_to(api, tokens, case_id, "acknowledged")
    late = await act(api, tokens, case_id, "supervisor", "assign", payload, key=key)
    assert late.status_code == 200, late.text
    timeline = await timeline_of(api, tokens, case_id)
    assert [e["event"] for e in timeline] == ["opened", "classify", "assign", "acknowledge"]


async def test_retrying_the_closing_callback_with_its_key_returns_the_closed_case(api, tokens):
    case_id = await open_case(api, tokens, severity="severe")
    await walk_to(api, tokens, case_id, "awaiting_callback")
    key = new_key()
    payload = {"satisfaction": 5, "comment": "响应及时"}
    first = await act(api, tokens, case_id, "hotline", "callback", payload, key=key)
    assert first.status_code == 200 and first.json()["status"] == "closed", first.text
    events = len(await timeline_of(api, tokens, case_id))
    again = await act(api, tokens, case_id, "hotline", "callback", payload, key=key)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "closed"
    assert len(await timeline_of(api, tokens, case_id)) == events


async def test_an_action_key_reused_for_another_action_is_refused_naming_the_header(api, tokens):
    """A key already used for another request must not answer with that request's result."""
    case_id = await open_case(api, tokens, severity="general")
    key = new_key()
    first = await act(api, tokens, case_id, "supervisor", "assign", {"engineer_id": "EN-01"}, key=key)
    assert first.status_code == 200, first.text
    other = await act(api, tokens, case_id, "supervisor", "pause",
                      {"reason": "customer_postponed"}, key=key)
    state = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))).json()
    assert state["paused"] is None  # the pause was not taken ...
    assert other.status_code == 422, other.text  # ... so the client must not be told 200
    assert ["header", "Idempotency-Key"] in locs(other)


# ----- GET /v1/cases ----------------------------------------------------------------------------------

async def test_list_filters_by_each_column(api, tokens):
    jb = await open_case(api, tokens, serial="CT-JB-0003", hospital="H-JB", severity="minor")
    dh = await open_case(api, tokens, severity="severe")
    assigned = await act(api, tokens, dh, "supervisor", "assign", {"engineer_id": "EN-02"})
    assert assigned.status_code == 200, assigned.text

    checks: list[tuple[Json, str, str]] = [
        # (filter, case that must be listed, case that must not)
        ({"hospital_id": "H-JB"}, jb, dh),
        ({"hospital_id": "H-DH"}, dh, jb),
        ({"severity": "minor"}, jb, dh),
        ({"severity": "severe"}, dh, jb),
        ({"status": "assigned"}, dh, jb),
        ({"status": "awaiting_assignment"}, jb, dh),
        ({"assignee_id": "EN-02"}, dh, jb),
        ({"kind": "repair", "hospital_id": "H-JB"}, jb, dh),
        ({"breached": "false", "hospital_id": "H-DH"}, dh, jb),
    ]
    for params, present, absent in checks:
        response = await api.get("/v1/cases", params={"limit": 200, **params},
                                 headers=headers(tokens, "manager"))
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        ids = [item["case_id"] for item in items]
        assert present in ids and absent not in ids, params
        for item in items:
            for name, value in params.items():
                expected = {"false": False}.get(value, value)
                assert item[name] == expected, (params, item)
    complaints = await listed(api, tokens, kind="complaint")
    assert jb not in complaints and dh not in complaints
    breached = await listed(api, tokens, breached="true")
    assert jb not in breached and dh not in breached
    summary = next(item for item in (await api.get(
        "/v1/cases", params={"assignee_id": "EN-02"}, headers=headers(tokens, "auditor"))).json()["items"]
        if item["case_id"] == dh)
    assert summary["equipment_serial"] == "CT-DH-0001"
    assert summary["status"] == "assigned" and summary["breached"] is False


async def test_list_refuses_a_limit_out_of_range(api, tokens):
    for params in ({"limit": 0}, {"limit": 1000}, {"limit": "many"}, {"cursor": "x" * 2001}):
        response = await api.get("/v1/cases", params=params, headers=headers(tokens, "manager"))
        assert response.status_code == 422, (params, response.text)
        assert ["query", next(iter(params))] in locs(response)


async def test_list_pages_newest_first_with_next_cursor(api, tokens):
    began = datetime.now(timezone.utc) - timedelta(seconds=1)
    opened = [await open_case(api, tokens, serial="CT-JB-0003", hospital="H-JB") for _ in range(3)]
    # Only what this test opened and after (time-skipping tests of the same process open cases
    # at the same hospital at skipped, later times).
    window = {"opened_from": began.isoformat(),
              "opened_to": (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()}
    first = await api.get("/v1/cases", params={"hospital_id": "H-JB", "limit": 2, **window},
                          headers=headers(tokens, "manager"))
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["case_id"] for item in page["items"]] == [opened[2], opened[1]]
    assert isinstance(page["next_cursor"], str)
    second = await api.get("/v1/cases", params={"hospital_id": "H-JB", "limit": 2, **window,
                                                "cursor": page["next_cursor"]},
                           headers=headers(tokens, "manager"))
    assert second.status_code == 200, second.text
    assert second.json()["items"][0]["case_id"] == opened[0]
    seen: list[str] = [item["case_id"] for item in page["items"]]
    cursor: str | None = page["next_cursor"]
    while cursor is not None:  # walk every page: each case once, none repeated
        response = await api.get("/v1/cases", params={"hospital_id": "H-JB", "limit": 2,
                                                      **window, "cursor": cursor},
                                 headers=headers(tokens, "manager"))
        seen += [item["case_id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(await listed(api, tokens, hospital_id="H-JB", **window))


# ----- health ---------------------------------------------------------------------------------------

async def test_healthz_reports_ok(api):
    response = await api.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "database": True, "temporal": True}


async def test_livez_answers_while_healthz_reports_database_and_temporal_down():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{probe.getsockname()[1]}"
    settings = Settings(database_url=f"postgresql+psycopg://nobody:x@{nowhere}/none",
                        environment="test")
    temporal = await Client.connect(nowhere, lazy=True)
    transport = httpx.ASGITransport(app=create_app(settings, temporal=temporal))
    async with httpx.AsyncClient(transport=transport, base_url="http://caseflow.test") as client:
        alive = await client.get("/livez")
        ready = await client.get("/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    assert ready.status_code == 503
    assert ready.json() == {"status": "degraded", "database": False, "temporal": False}


# ----- Chinese text ---------------------------------------------------------------------------------

async def test_chinese_text_round_trips_through_intake_timeline_database_and_actions(
        api, tokens, sessions):
    chinese = {
        "reporter_name": "欧阳娜娜 主任",
        "department": "医学影像科(东院区)",
        "location": "门诊医技楼三层 312 室 · CT 二号机房",
        "symptom": "扫描时球管过热报警「E-1023」,图像出现环状伪影;患者已转至一号机",
        "alarm_codes": ["球管过热", "E-1023 高压异常", "𠮷"],
    }
    key = new_key()
    created = await api.post("/v1/repairs", json=intake_body(**chinese, severity="severe"),
                             headers=headers(tokens, "hotline", key))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]

    view = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))).json()
    for field, value in chinese.items():
        assert view["intake"][field] == value, field

    opened = (await timeline_of(api, tokens, case_id, at_least=1))[0]
    assert opened["event"] == "opened"
    assert chinese["department"] in opened["summary"]
    assert chinese["symptom"] in opened["summary"]
    for field, value in chinese.items():
        assert opened["data"]["intake"][field] == value, field

    with sessions() as session:
        title = session.scalar(select(Case.title).where(Case.case_id == case_id))
    assert title == chinese["symptom"]
    summaries = (await api.get("/v1/cases", params={"hospital_id": "H-DH"},
                               headers=headers(tokens, "manager"))).json()["items"]
    assert next(s for s in summaries if s["case_id"] == case_id)["title"] == chinese["symptom"]

    await walk_to(api, tokens, case_id, "repairing")
    note = "已更换球管高压电缆,待复测"
    progress = await act(api, tokens, case_id, "engineer", "progress", {"note": note})
    assert progress.status_code == 200, progress.text
    assert progress.json()["steps"][-1]["data"] == {"note": note}
    last = (await timeline_of(api, tokens, case_id))[-1]
    assert last["event"] == "progress"
    assert last["data"]["note"] == note
    assert note in last["summary"]
    assert last["actor"]["name"] == "张伟"


async def test_an_action_without_idempotency_key_is_refused_naming_the_header(api, tokens):
    case_id = await open_case(api, tokens, severity="general")
    response = await api.post(f"/v1/cases/{case_id}/actions/assign",
                              json={"engineer_id": "EN-01"},
                              headers={"Authorization": f"Bearer {tokens['supervisor']}"})
    assert response.status_code == 422, response.text
    assert ["header", "Idempotency-Key"] in locs(response)
    assert [e["event"] for e in await timeline_of(api, tokens, case_id)] == ["opened", "classify"]


async def test_a_case_whose_worker_is_away_answers_503_not_500(database_url, dev_env, tokens):
    """No worker polls this task queue: reads and steps time out as 503 with Retry-After."""
    settings = Settings(database_url=database_url, task_queue=f"nobody-{uuid.uuid4()}",
                        environment="test", query_timeout_seconds=1, update_timeout_seconds=1)
    app = create_app(settings, temporal=dev_env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://caseflow.test", timeout=30) as client:
        created = await client.post("/v1/repairs", json=intake_body(),
                                    headers=headers(tokens, "hotline", new_key()))
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        read = await client.get(f"/v1/cases/{case_id}", headers=headers(tokens, "manager"))
        assert read.status_code == 503, read.text
        assert read.headers["Retry-After"] == "5"
        step = await client.post(f"/v1/cases/{case_id}/actions/classify",
                                 json={"severity": "minor"},
                                 headers=headers(tokens, "supervisor", new_key()))
        assert step.status_code == 503, step.text
        assert "same Idempotency-Key" in step.json()["detail"]
        await dev_env.client.get_workflow_handle(case_id).terminate("test done")


async def test_a_start_that_surely_failed_leaves_its_number_on_record_as_void(
        api, tokens, sessions, dev_env, dev_worker, database_url):
    """Temporal refuses the start outright (an unknown namespace): 503, and the number the
    reservation took is kept, void, with the reason; it is listed only when asked for, never a
    case; the next repair takes the next number; the retry with the same key takes it up."""
    target = dev_env.client.service_client.config.target_host
    refusing = await Client.connect(target, namespace=f"nowhere-{uuid.uuid4().hex[:8]}",
                                    data_converter=dev_env.client.data_converter)
    app = create_app(Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                              environment="test"), temporal=refusing)
    key, body = new_key(), intake_body(symptom="启动失败的号码 void number")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://caseflow.test", timeout=30) as client:
        failed = await client.post("/v1/repairs", json=body,
                                   headers=headers(tokens, "hotline", key))
    assert failed.status_code == 503, failed.text
    with sessions() as session:
        row = session.scalar(select(Case).where(Case.idempotency_key == key))
    assert row is not None and row.status == "void" and row.case_id, row
    assert "NOT_FOUND" in (row.void_reason or "") and "nowhere" in (row.void_reason or "")
    void = row.case_id
    voids = (await api.get("/v1/cases", params={"status": "void", "kind": "repair",
                                                "limit": 200},
                           headers=headers(tokens, "auditor"))).json()["items"]
    assert [(c["status"], c["void_reason"]) for c in voids if c["case_id"] == void] == [
        ("void", row.void_reason)]
    assert void not in await listed(api, tokens, kind="repair")
    unknown = await api.get(f"/v1/cases/{void}", headers=headers(tokens, "auditor"))
    assert unknown.status_code == 404 and "void" in unknown.json()["detail"], unknown.text

    following = await open_case(api, tokens)
    prefix, number = void.rsplit("-", 1)
    if following.startswith(prefix):  # (unless local midnight passed in between)
        assert following == f"{prefix}-{int(number) + 1:06d}", (void, following)
    retried = await api.post("/v1/repairs", json=body, headers=headers(tokens, "hotline", key))
    assert retried.status_code == 201 and retried.json()["case_id"] == void, retried.text
    await timeline_of(api, tokens, void, at_least=1)
    assert void in await listed(api, tokens, kind="repair")


async def test_control_characters_are_refused_with_the_field_not_a_database_error(api, tokens):
    """PostgreSQL cannot store a NUL: it is the client's bad input (422), never a 503 or 500."""
    response = await api.post("/v1/repairs", json=intake_body(symptom="球管\u0000报警"),
                              headers=headers(tokens, "hotline", new_key()))
    assert response.status_code == 422 and locs(response) == [["body", "symptom"]], response.text
    for path, params, loc in (("/v1/cases/RP-1%00", {}, ["path", "case_id"]),
                              ("/v1/reports/sla", {"hospital_id": "H\x00"},
                               ["query", "hospital_id"]),
                              ("/v1/cases", {"status": "open\x07"}, ["query", "status"])):
        response = await api.get(path, params=params, headers=headers(tokens, "manager"))
        assert response.status_code == 422 and locs(response) == [loc], (path, response.text)


async def test_dates_and_times_are_iso_text_never_numbers(api, tokens):
    """A number would be read as seconds since 1970: refused, naming the parameter or field."""
    for path, params, loc in (("/v1/reports/sla", {"from": "0"}, ["query", "from"]),
                              ("/v1/cases", {"opened_from": "0.0"}, ["query", "opened_from"]),
                              ("/v1/rosters/H-DH/CT", {"to": "1700000000"}, ["query", "to"])):
        response = await api.get(path, params=params, headers=headers(tokens, "manager"))
        assert response.status_code == 422 and locs(response) == [loc], (path, response.text)
    response = await api.post("/v1/repairs", json={**intake_body(), "observed_at": 1764000000},
                              headers=headers(tokens, "hotline", new_key()))
    assert response.status_code == 422 and locs(response) == [["body", "observed_at"]]
