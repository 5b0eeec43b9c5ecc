"""Complaints over the HTTP API (PostgreSQL, the Temporal dev server, a worker): every status.

POST /v1/complaints records one; the shared POST /v1/cases/{id}/actions/{action} walks it in the
order of DOMAIN.md section 2 (first feedback, team, findings, root cause, plan, briefing,
answer, corrective actions, callback, closing). Each test records its own complaints with fresh
Idempotency-Keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from caseflow.domain.complaint import COMPLAINT_ACTIONS
from caseflow.domain.enums import Role
from caseflow.store.models import Case
from tests.complaint_driver import complaint_intake
from tests.test_api import (
    act,
    case_rows,
    headers,
    listed,
    locs,
    new_key,
    refused,
    timeline_of,
)
from tests.test_api import open_case as open_repair

Json = dict[str, Any]
SHANGHAI = ZoneInfo("Asia/Shanghai")
UNKNOWN_CASE = "CP-19990101-999999"
FIRST_COMMITMENTS = ["first_feedback", "team", "plan", "answer"]


# ----- helpers ------------------------------------------------------------------------------------

def complaint_body(**extra: Any) -> Json:
    """A valid complaint (王女士 at H-DH about service attitude), as JSON."""
    return complaint_intake(**extra).model_dump(mode="json")


def due_in(**delta: float) -> str:
    """An ISO due date with a zone, `delta` from now (the dev server's clock is the wall clock)."""
    return (datetime.now(SHANGHAI) + timedelta(**delta)).isoformat()


async def record(api: httpx.AsyncClient, tokens: dict[str, str], body: Json,
                 role: str = "hotline", key: str | None = None) -> httpx.Response:
    return await api.post("/v1/complaints", json=body,
                          headers=headers(tokens, role, key or new_key()))


async def open_complaint(api: httpx.AsyncClient, tokens: dict[str, str], **extra: Any) -> str:
    created = await record(api, tokens, complaint_body(**extra))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    # "opened" is written by an activity just after the 201, then "review-opened" (its
    # reportability review, docs/regulatory.md); wait so counts compare settled.
    await timeline_of(api, tokens, case_id, at_least=2)
    return case_id


async def view_of(api: httpx.AsyncClient, tokens: dict[str, str], case_id: str) -> Json:
    response = await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))
    assert response.status_code == 200, response.text
    return response.json()


def row_of(sessions, case_id: str) -> Case:  # type: ignore[no-untyped-def]
    with sessions() as session:
        row = session.scalar(select(Case).where(Case.case_id == case_id))
    assert row is not None, case_id
    return row


def walk_steps(lessons: str = "派工前核对工程师负荷") -> list[tuple[str, str, str, Callable[[], Json]]]:
    """The valid walk of a complaint: (status reached, role, action, payload)."""
    return [
        ("recorded", "hotline", "first-feedback", lambda: {"note": "已受理,将在10日内答复"}),
        ("team_formed", "supervisor", "form-team", lambda: {"members": [
            {"name": "李强", "role": "technician"}, {"name": "周芳", "role": "quality_control"}]}),
        ("investigating", "supervisor", "record-findings", lambda: {
            "facts": "工程师当日排队任务过多", "evidence": [
                {"name": "派工记录", "ref": "dispatch/2026-11-20.pdf"}]}),
        ("root_cause_found", "supervisor", "root-cause", lambda: {"root_cause": "派工未考虑工程师负荷"}),
        ("planned", "supervisor", "plan", lambda: {"summary": "调整派工规则并培训", "actions": [
            {"description": "派工系统增加负荷上限", "owner_id": "EN-01", "due_at": due_in(days=3)}]}),
        ("briefed", "supervisor", "brief", lambda: {"summary": "科室内部通报",
                                                    "attendees": ["李强", "张伟"]}),
        ("answered", "hotline", "answer", lambda: {"answer": "已查明原因并整改,向您致歉"}),
        ("awaiting_callback", "engineer", "complete-action", lambda: {
            "action_id": "A1", "result": "负荷上限已上线"}),
        ("resolved", "hotline", "callback", lambda: {"satisfied": True, "satisfaction": 5,
                                                     "comment": "满意"}),
        ("closed", "manager", "close", lambda: {"lessons_learned": lessons}),
    ]


WALK_ACTIONS = [step[2] for step in walk_steps()]


async def walk(api: httpx.AsyncClient, tokens: dict[str, str], case_id: str, through: str,
               lessons: str = "派工前核对工程师负荷") -> Json:
    """From a freshly recorded complaint, report each step of the walk up to `through`."""
    view: Json = {}
    for status, role, action, payload in walk_steps(lessons):
        response = await act(api, tokens, case_id, role, action, payload())
        assert response.status_code == 200, (action, response.text)
        view = response.json()
        assert view["status"] == status, (action, view["status"])
        if action == through:
            return view
    raise AssertionError(f"no step {through!r} in the walk")


# ----- POST /v1/complaints --------------------------------------------------------------------------

async def test_record_returns_201_with_a_cp_case_id_and_links(api, tokens, sessions):
    key = new_key()
    response = await record(api, tokens, complaint_body(), key=key)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["case_id"].startswith("CP-")
    assert body["kind"] == "complaint" and body["created"] is True
    assert body["links"]["self"] == f"/v1/cases/{body['case_id']}"
    assert case_rows(sessions, key) == 1
    row = row_of(sessions, body["case_id"])
    assert row.kind == "complaint" and row.hospital_id == "H-DH" and row.created_by == "HL-01"


async def test_record_again_with_the_same_key_and_body_returns_the_same_case_once(
        api, tokens, sessions, dev_env):
    key = new_key()
    body = complaint_body(hospital_id="H-JB", equipment_serial="MR-JB-0004")
    first = await record(api, tokens, body, key=key)
    assert first.status_code == 201, first.text
    case_id = first.json()["case_id"]
    await timeline_of(api, tokens, case_id, at_least=1)

    again = await record(api, tokens, body, key=key)
    assert again.status_code == 200, again.text
    assert again.json()["case_id"] == case_id
    assert again.json()["created"] is False

    assert case_rows(sessions, key) == 1
    assert (await listed(api, tokens, kind="complaint", hospital_id="H-JB")).count(case_id) == 1
    timeline = await timeline_of(api, tokens, case_id)
    assert [e["event"] for e in timeline].count("opened") == 1
    runs: list[str] = []
    for _ in range(100):  # visibility of the dev server may trail the start by a moment
        runs = [w.run_id async for w in dev_env.client.list_workflows(f"WorkflowId = '{case_id}'")]
        if runs:
            break
        await asyncio.sleep(0.05)
    assert len(runs) == 1, runs


async def test_concurrent_records_with_the_same_key_make_one_case(api, tokens, sessions):
    key = new_key()
    body = complaint_body(channel="hotline")
    responses = await asyncio.gather(*[record(api, tokens, body, key=key) for _ in range(4)])
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201], [
        r.text for r in responses]
    assert len({r.json()["case_id"] for r in responses}) == 1
    assert [r.json()["created"] for r in responses].count(True) == 1
    assert case_rows(sessions, key) == 1
    timeline = await timeline_of(api, tokens, responses[0].json()["case_id"], at_least=2)
    assert [e["event"] for e in timeline] == ["opened", "review-opened"]


async def test_record_with_a_used_key_and_another_body_is_refused_naming_the_header(
        api, tokens, sessions):
    key = new_key()
    first = await record(api, tokens, complaint_body(), key=key)
    assert first.status_code == 201, first.text
    total = case_rows(sessions)
    other = complaint_body(matter="另一件事:电话无人接听")
    response = await record(api, tokens, other, key=key)
    assert response.status_code == 422, response.text
    assert ["header", "Idempotency-Key"] in locs(response)
    assert case_rows(sessions, key) == 1
    assert case_rows(sessions) == total


async def test_record_without_an_idempotency_key_is_refused_and_writes_nothing(
        api, tokens, sessions):
    total = case_rows(sessions)
    response = await api.post("/v1/complaints", json=complaint_body(),
                              headers=headers(tokens, "hotline"))
    assert response.status_code == 422, response.text
    assert ["header", "Idempotency-Key"] in locs(response)
    short = await record(api, tokens, complaint_body(), key="short")
    assert short.status_code == 422, short.text
    assert ["header", "Idempotency-Key"] in locs(short)
    assert case_rows(sessions) == total


async def test_record_with_a_bad_payload_names_the_field_and_writes_nothing(api, tokens, sessions):
    missing_matter = complaint_body()
    del missing_matter["matter"]
    cases: dict[str, Json] = {
        "matter": missing_matter,
        "channel": complaint_body() | {"channel": "fax"},
        "category": complaint_body() | {"category": "rudeness"},
        "received_at": complaint_body() | {"received_at": "2026-11-20T09:30:00"},
    }
    total = case_rows(sessions)
    for field, body in cases.items():
        key = new_key()
        response = await record(api, tokens, body, key=key)
        assert response.status_code == 422, (field, response.text)
        assert ["body", field] in locs(response), (field, response.text)
        assert case_rows(sessions, key) == 0
    assert case_rows(sessions) == total


async def test_record_with_unknown_references_names_the_field_and_writes_nothing(
        api, tokens, sessions):
    cases: list[tuple[Json, str, str]] = [
        # (what is changed, field named, text in the message)
        ({"hospital_id": "H-XX"}, "hospital_id", "H-XX"),
        ({"related_case_id": "RP-19990101-999999"}, "related_case_id", "RP-19990101-999999"),
        ({"equipment_serial": "CT-XX-9999"}, "equipment_serial", "CT-XX-9999"),
        # a unit of 江北 (H-JB) named in a complaint about 东湖 (H-DH)
        ({"equipment_serial": "CT-JB-0003"}, "equipment_serial", "H-JB"),
    ]
    total = case_rows(sessions)
    for changed, field, text in cases:
        key = new_key()
        response = await record(api, tokens, complaint_body(**changed), key=key)
        assert response.status_code == 422, (changed, response.text)
        assert locs(response) == [["body", field]], (changed, response.text)
        assert response.json()["code"] == "UnknownReference"
        assert text in response.json()["detail"][0]["msg"], (changed, response.text)
        assert case_rows(sessions, key) == 0
    assert case_rows(sessions) == total


async def test_record_about_a_repair_case_and_a_unit_links_them(api, tokens, sessions):
    repair_id = await open_repair(api, tokens, severity="general")
    created = await record(api, tokens, complaint_body(
        related_case_id=repair_id, equipment_serial="CT-DH-0001", category="technical_quality"))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    await timeline_of(api, tokens, case_id, at_least=1)

    view = await view_of(api, tokens, case_id)
    assert view["intake"]["related_case_id"] == repair_id
    assert view["intake"]["equipment_serial"] == "CT-DH-0001"
    assert view["equipment"]["serial"] == "CT-DH-0001"
    assert view["equipment"]["hospital_id"] == "H-DH"
    assert view["category"] == "technical_quality"
    assert row_of(sessions, case_id).equipment_serial == "CT-DH-0001"
    # The repair it is about is not changed by it.
    repair = await view_of(api, tokens, repair_id)
    assert repair["kind"] == "repair" and repair["status"] == "awaiting_assignment"


async def test_record_with_an_earlier_received_at_starts_the_first_feedback_clock_then(
        api, tokens):
    received = datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(hours=3)
    case_id = await open_complaint(api, tokens, received_at=received.isoformat())
    view = await view_of(api, tokens, case_id)
    feedback = next(c for c in view["commitments"] if c["key"] == "first_feedback")
    assert datetime.fromisoformat(feedback["started_at"]) == received
    assert datetime.fromisoformat(feedback["due_at"]) - received == timedelta(hours=24)


async def test_record_without_a_valid_token_is_401_and_writes_nothing(api, tokens, sessions):
    total = case_rows(sessions)
    none = await api.post("/v1/complaints", json=complaint_body(),
                          headers={"Idempotency-Key": new_key()})
    assert none.status_code == 401, none.text
    assert none.headers["WWW-Authenticate"] == "Bearer"
    bad = await api.post("/v1/complaints", json=complaint_body(), headers={
        "Authorization": "Bearer cf_not-a-real-token", "Idempotency-Key": new_key()})
    assert bad.status_code == 401, bad.text
    assert case_rows(sessions) == total


async def test_record_by_an_auditor_or_an_engineer_is_403_and_writes_nothing(
        api, tokens, sessions):
    total = case_rows(sessions)
    for role in ("auditor", "engineer"):
        response = await record(api, tokens, complaint_body(), role=role)
        assert response.status_code == 403, (role, response.text)
        assert role in response.json()["detail"]
    assert case_rows(sessions) == total


async def test_staff_may_record_a_complaint(api, tokens):
    for role in ("supervisor", "manager", "director"):
        response = await record(api, tokens, complaint_body(channel="email"), role=role)
        assert response.status_code == 201, (role, response.text)


# ----- GET /v1/cases, GET /v1/cases/{id} --------------------------------------------------------------

async def test_get_a_complaint_shows_its_kind_commitments_and_allowed_actions(api, tokens):
    case_id = await open_complaint(api, tokens)
    response = await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "manager"))
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["case_id"] == case_id
    assert view["kind"] == "complaint"
    assert view["status"] == "recorded" and view["level"] == 1
    assert view["category"] == "service_attitude"
    assert view["hospital_name"].startswith("东湖县人民医院")
    assert view["opened_by"] == {"id": "HL-01", "name": "王丽", "role": "hotline"}
    assert view["breached"] is False and view["outcome"] is None
    assert [c["key"] for c in view["commitments"]] == FIRST_COMMITMENTS
    for commitment in view["commitments"]:
        assert commitment["state"] == "open", commitment
        assert commitment["due_at"] is not None and commitment["breached"] is False
    assert view["allowed_actions"] == ["classify", "assign", "first-feedback", "form-team",
                                       "withdraw"]


async def test_list_with_kind_complaint_lists_complaints_only(api, tokens):
    complaint = await open_complaint(api, tokens)
    repair = await open_repair(api, tokens, severity="general")
    response = await api.get("/v1/cases", params={"kind": "complaint", "limit": 200},
                             headers=headers(tokens, "manager"))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    ids = [item["case_id"] for item in items]
    assert complaint in ids and repair not in ids
    assert all(item["kind"] == "complaint" for item in items), items
    assert complaint.startswith("CP-")  # (other tests' drivers record complaints as TC-...)
    summary = next(item for item in items if item["case_id"] == complaint)
    assert summary["status"] == "recorded" and summary["severity"] is None
    assert summary["title"] == complaint_body()["matter"]
    repairs = await listed(api, tokens, kind="repair")
    assert repair in repairs and complaint not in repairs


# ----- POST /v1/cases/{id}/actions/{action} on a complaint --------------------------------------------

async def test_a_whole_complaint_walks_to_closed_over_http(api, tokens, sessions):
    case_id = await open_complaint(api, tokens)
    seen: list[str] = []
    view: Json = {}
    for status, role, action, payload in walk_steps():
        response = await act(api, tokens, case_id, role, action, payload())
        assert response.status_code == 200, (action, response.text)
        view = response.json()
        assert view["status"] == status, (action, view["status"])
        seen.append(action)
        if action == "first-feedback":
            states = {c["key"]: c["state"] for c in view["commitments"]}
            assert states["first_feedback"] == "met"
            assert "first-feedback" not in view["allowed_actions"]
        if action == "plan":
            assert view["actions"][0]["id"] == "A1"
            assert view["actions"][0]["owner_id"] == "EN-01"
            assert view["actions"][0]["owner_name"] == "张伟"  # filled in by the API
            assert [c["key"] for c in view["commitments"]] == [*FIRST_COMMITMENTS, "action-A1"]
            assert "complete-action" in view["allowed_actions"]
        if action == "complete-action":
            assert view["actions"][0]["done_at"] is not None
            assert view["actions"][0]["result"] == "负荷上限已上线"
            assert [c["key"] for c in view["commitments"]][-1] == "callback"
        assert [s["action"] for s in view["steps"]] == seen

    assert view["outcome"] == "resolved" and view["closed_at"] is not None
    assert view["satisfied"] is True and view["satisfaction"] == 5
    assert view["lessons_learned"] == "派工前核对工程师负荷"
    assert view["allowed_actions"] == []
    states = {c["key"]: c["state"] for c in view["commitments"]}
    assert states == dict.fromkeys([*FIRST_COMMITMENTS, "action-A1", "callback", "close"], "met")

    timeline = await timeline_of(api, tokens, case_id, at_least=2 + len(WALK_ACTIONS))
    assert [e["event"] for e in timeline] == ["opened", "review-opened", *WALK_ACTIONS]
    complete = timeline[WALK_ACTIONS.index("complete-action") + 2]
    assert complete["actor"] == {"id": "EN-01", "name": "张伟", "role": "engineer"}
    plan = timeline[WALK_ACTIONS.index("plan") + 2]
    assert plan["data"]["actions"][0]["owner_name"] == "张伟"

    closed = await view_of(api, tokens, case_id)  # read after the workflow ended
    assert closed["status"] == "closed"
    row = row_of(sessions, case_id)
    assert row.status == "closed" and row.closed_at is not None
    assert case_id in await listed(api, tokens, kind="complaint", status="closed")


async def test_retrying_a_complaint_step_with_its_key_is_one_step(api, tokens):
    case_id = await open_complaint(api, tokens)
    key = new_key()
    payload = {"note": "已受理,将在10日内答复"}
    first = await act(api, tokens, case_id, "hotline", "first-feedback", payload, key=key)
    assert first.status_code == 200, first.text
    again = await act(api, tokens, case_id, "hotline", "first-feedback", payload, key=key)
    assert again.status_code == 200, again.text
    assert [s["action"] for s in again.json()["steps"]] == ["first-feedback"]
    assert [e["event"] for e in await timeline_of(api, tokens, case_id)] == [
        "opened", "review-opened", "first-feedback"]
    other = await act(api, tokens, case_id, "supervisor", "form-team",
                      {"members": [{"name": "李强", "role": "technician"}]}, key=key)
    assert other.status_code == 200, other.text  # another person's key space: a new step
    reused = await act(api, tokens, case_id, "hotline", "withdraw", {"reason": "不再追究"}, key=key)
    assert reused.status_code == 422, reused.text
    assert ["header", "Idempotency-Key"] in locs(reused)
    assert (await view_of(api, tokens, case_id))["status"] == "team_formed"


async def test_an_out_of_order_complaint_action_is_409_with_a_clear_message(api, tokens):
    case_id = await open_complaint(api, tokens)
    response = await refused(api, tokens, case_id, "hotline", "answer",
                             {"answer": "已查明原因"}, 409)
    assert response.json()["code"] == "InvalidTransition"
    assert response.json()["detail"] == (
        "cannot answer while the case is recorded; allowed now: "
        "classify, assign, first-feedback, form-team, withdraw")

    await walk(api, tokens, case_id, "first-feedback")
    response = await refused(api, tokens, case_id, "hotline", "first-feedback",
                             {"note": "再次告知"}, 409)
    assert "already given" in response.json()["detail"]
    response = await refused(api, tokens, case_id, "supervisor", "root-cause",
                             {"root_cause": "未知"}, 409)
    assert "cannot root-cause while the case is recorded" in response.json()["detail"]
    response = await refused(api, tokens, case_id, "supervisor", "close",
                             {"lessons_learned": "无"}, 409)
    assert "cannot close while the case is recorded" in response.json()["detail"]


async def test_a_role_not_allowed_a_complaint_action_is_403(api, tokens):
    case_id = await open_complaint(api, tokens)
    response = await refused(api, tokens, case_id, "auditor", "first-feedback",
                             {"note": "已受理"}, 403)
    assert response.json()["code"] == "NotPermitted"
    assert "auditor may not report steps" in response.json()["detail"]
    response = await refused(api, tokens, case_id, "engineer", "form-team",
                             {"members": [{"name": "张伟", "role": "engineer"}]}, 403)
    assert response.json()["code"] == "NotPermitted"
    assert "engineer may not form-team" in response.json()["detail"]

    await walk(api, tokens, case_id, "root-cause")
    plan = walk_steps()[WALK_ACTIONS.index("plan")][3]()
    response = await refused(api, tokens, case_id, "hotline", "plan", plan, 403)
    assert response.json()["code"] == "NotPermitted"
    assert "hotline may not plan" in response.json()["detail"]
    response = await refused(api, tokens, case_id, "auditor", "plan", plan, 403)
    assert "auditor may not report steps" in response.json()["detail"]


async def test_an_engineer_completing_an_action_owned_by_someone_else_is_403(api, tokens):
    case_id = await open_complaint(api, tokens)
    await walk(api, tokens, case_id, "answer")
    payload = {"action_id": "A1", "result": "我来完成"}
    response = await refused(api, tokens, case_id, "engineer2", "complete-action", payload, 403)
    assert response.json()["code"] == "NotAssignee"
    assert "owned by 张伟" in response.json()["detail"]
    assert (await view_of(api, tokens, case_id))["actions"][0]["done_at"] is None
    ok = await act(api, tokens, case_id, "engineer", "complete-action", payload)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "awaiting_callback"


async def test_a_plan_with_a_bad_corrective_action_is_422_naming_the_field(api, tokens):
    case_id = await open_complaint(api, tokens)
    await walk(api, tokens, case_id, "root-cause")

    def plan(*actions: Json) -> Json:
        return {"summary": "调整派工规则", "actions": list(actions)}

    good = {"description": "派工系统增加负荷上限", "owner_id": "EN-01", "due_at": due_in(days=3)}
    cases: list[tuple[Json, list[str]]] = [
        (plan(good | {"owner_id": "EN-99"}), ["body", "actions", "0", "owner_id"]),
        (plan(good, good | {"owner_id": "XX-77"}), ["body", "actions", "1", "owner_id"]),
        (plan(good | {"due_at": "2030-01-01T09:00:00"}), ["body", "actions", "0", "due_at"]),
        (plan(good | {"due_at": due_in(days=-1)}), ["body", "actions", "0", "due_at"]),
        (plan(), ["body", "actions"]),
    ]
    for payload, loc in cases:
        response = await refused(api, tokens, case_id, "supervisor", "plan", payload, 422)
        assert locs(response) == [loc], (payload, response.text)
    response = await refused(api, tokens, case_id, "supervisor", "plan",
                             plan(good | {"owner_id": "EN-99"}), 422)
    assert "EN-99" in response.json()["detail"][0]["msg"]
    ok = await act(api, tokens, case_id, "supervisor", "plan", plan(good))
    assert ok.status_code == 200 and ok.json()["status"] == "planned", ok.text


async def test_a_corrective_action_owned_by_a_read_only_auditor_is_refused(api, tokens):
    """Only someone who may report an action done (COMPLAINT_ACTIONS: ANYONE_OWNING, i.e. the
    hotline, an engineer or staff) can own it; an auditor is read-only and could never do so."""
    case_id = await open_complaint(api, tokens)
    await walk(api, tokens, case_id, "root-cause")
    for owner in ("AU-01", "AD-01"):
        payload = {"summary": "调整派工规则", "actions": [
            {"description": "派工系统增加负荷上限", "owner_id": owner, "due_at": due_in(days=3)}]}
        response = await refused(api, tokens, case_id, "supervisor", "plan", payload, 422)
        assert locs(response) == [["body", "actions", "0", "owner_id"]], response.text


async def test_other_bad_complaint_payloads_are_422_naming_the_field(api, tokens):
    case_id = await open_complaint(api, tokens)
    cases: list[tuple[str, str, Json, list[str]]] = [
        ("hotline", "first-feedback", {}, ["body", "note"]),
        ("supervisor", "form-team", {"members": []}, ["body", "members"]),
        ("supervisor", "form-team", {"members": [{"name": "李强", "role": "janitor"}]},
         ["body", "members", "0", "role"]),
        ("supervisor", "classify", {"category": "rudeness"}, ["body", "category"]),
        ("supervisor", "classify", {"category": "service_attitude"}, ["body", "category"]),
        ("supervisor", "assign", {"handler_id": "EN-01"}, ["body", "handler_id"]),
        ("hotline", "withdraw", {"reason": "x", "extra": 1}, ["body", "extra"]),
    ]
    for role, action, payload, loc in cases:
        response = await refused(api, tokens, case_id, role, action, payload, 422)
        assert locs(response) == [loc], (action, payload, response.text)


async def test_a_repair_action_on_a_complaint_is_422_naming_the_action(api, tokens):
    case_id = await open_complaint(api, tokens)
    for action in ("arrive", "resolve", "teleport"):
        response = await refused(api, tokens, case_id, "supervisor", action, {}, 422)
        assert locs(response) == [["path", "action"]], (action, response.text)
        message = response.json()["detail"][0]["msg"]
        assert f"unknown action {action!r} for a complaint" in message
        assert "first-feedback" in message


async def test_a_complaint_action_on_an_unknown_case_is_404(api, tokens):
    response = await act(api, tokens, UNKNOWN_CASE, "hotline", "first-feedback",
                         {"note": "已受理"})
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "UnknownCase"
    for path in (f"/v1/cases/{UNKNOWN_CASE}", f"/v1/cases/{UNKNOWN_CASE}/timeline"):
        read = await api.get(path, headers=headers(tokens, "auditor"))
        assert read.status_code == 404, (path, read.text)


# One well-formed payload per complaint action (what an allowed person could send in time).
VALID_PAYLOADS: dict[str, Callable[[], Json]] = {
    "classify": lambda: {"category": "process_management", "reason": "复核"},
    "assign": lambda: {"handler_id": "SV-01"},
    "first-feedback": lambda: {"note": "已受理"},
    "form-team": lambda: {"members": [{"name": "李强", "role": "technician"}]},
    "record-findings": lambda: {"facts": "排队过多"},
    "root-cause": lambda: {"root_cause": "派工规则"},
    "plan": lambda: {"summary": "整改", "actions": [
        {"description": "培训", "owner_id": "EN-01", "due_at": due_in(days=3)}]},
    "brief": lambda: {"summary": "通报"},
    "answer": lambda: {"answer": "已整改"},
    "add-action": lambda: {"description": "复查", "owner_id": "EN-02", "due_at": due_in(days=2)},
    "complete-action": lambda: {"action_id": "A1", "result": "完成"},
    "callback": lambda: {"satisfied": True, "satisfaction": 5},
    "close": lambda: {"lessons_learned": "总结"},
    "withdraw": lambda: {"reason": "投诉人撤回"},
}


async def test_every_action_on_a_withdrawn_complaint_is_409(api, tokens, sessions, dev_env):
    assert set(VALID_PAYLOADS) == set(COMPLAINT_ACTIONS)
    case_id = await open_complaint(api, tokens)
    await walk(api, tokens, case_id, "plan")
    withdrawn = await act(api, tokens, case_id, "hotline", "withdraw",
                          {"reason": "投诉人表示谅解,撤回投诉"})
    assert withdrawn.status_code == 200, withdrawn.text
    view = withdrawn.json()
    assert view["status"] == "withdrawn" and view["outcome"] == "withdrawn"
    assert view["withdrawn_reason"] == "投诉人表示谅解,撤回投诉"
    assert view["closed_at"] is not None and view["allowed_actions"] == []
    states = {c["key"]: c["state"] for c in view["commitments"]}
    assert states == {"first_feedback": "met", "team": "met", "plan": "met",
                      "answer": "waived", "action-A1": "waived"}

    # Right after the step (the workflow may still be finishing) and once it has ended.
    early = await refused(api, tokens, case_id, "supervisor", "brief",
                          VALID_PAYLOADS["brief"](), 409)
    assert early.json()["code"] == "InvalidTransition"
    await dev_env.client.get_workflow_handle(case_id).result()
    for action, rule in COMPLAINT_ACTIONS.items():
        role = next(r for r in (Role.supervisor, Role.hotline, Role.engineer) if r in rule.roles)
        response = await refused(api, tokens, case_id, role.value, action,
                                 VALID_PAYLOADS[action](), 409)
        assert response.json()["code"] == "InvalidTransition"
        assert "closed" in response.json()["detail"], (action, response.text)
    row = row_of(sessions, case_id)
    assert row.status == "withdrawn" and row.closed_at is not None
    timeline = await timeline_of(api, tokens, case_id)
    assert timeline[-1]["event"] == "withdraw"
    assert "投诉人表示谅解,撤回投诉" in timeline[-1]["summary"]


# ----- Chinese text ---------------------------------------------------------------------------------

async def test_chinese_text_round_trips_through_intake_timeline_and_database(
        api, tokens, sessions):
    chinese: Json = {
        "complainant_name": "欧阳𠮷子 女士",
        "matter": "「CT 二号机」维修拖延三天 · 工程师态度冷淡;患者吉田𠮷多次改约,影响检查(急诊)",
        "staff_involved": ["张伟", "𠮷野 工程师", "李强(主管)"],
        "request": "希望书面说明原因、赔礼道歉,并承诺整改措施——越快越好!",
    }
    key = new_key()
    created = await record(api, tokens, complaint_body(**chinese), key=key)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]

    view = await view_of(api, tokens, case_id)
    for field, value in chinese.items():
        assert view["intake"][field] == value, field

    opened = (await timeline_of(api, tokens, case_id, at_least=1))[0]
    assert opened["event"] == "opened"
    assert chinese["complainant_name"] in opened["summary"]
    assert chinese["matter"] in opened["summary"]
    for field, value in chinese.items():
        assert opened["data"]["intake"][field] == value, field

    assert row_of(sessions, case_id).title == chinese["matter"]
    summaries = (await api.get("/v1/cases", params={"kind": "complaint", "limit": 200},
                               headers=headers(tokens, "manager"))).json()["items"]
    assert next(s for s in summaries if s["case_id"] == case_id)["title"] == chinese["matter"]

    again = await record(api, tokens, complaint_body(**chinese), key=key)
    assert again.status_code == 200 and again.json()["case_id"] == case_id, again.text


async def test_chinese_lessons_learned_appear_verbatim_in_the_timeline(api, tokens):
    lessons = "派工前须核对工程师当日负荷;超过3单须主管审批「𠮷」——全员培训。"
    case_id = await open_complaint(api, tokens)
    closed = await walk(api, tokens, case_id, "close", lessons=lessons)
    assert closed["lessons_learned"] == lessons
    last = (await timeline_of(api, tokens, case_id, at_least=2 + len(WALK_ACTIONS)))[-1]
    assert last["event"] == "close"
    assert lessons in last["summary"]
    assert last["data"] == {"lessons_learned": lessons}
    assert last["actor"] == {"id": "MG-01", "name": "赵敏", "role": "manager"}


async def test_a_callback_whose_score_contradicts_satisfied_is_422(api, tokens):
    from pydantic import ValidationError

    from caseflow.domain.complaint import Callback

    for satisfied, score in ((True, 1), (True, 2), (False, 4), (False, 5)):
        try:
            Callback(satisfied=satisfied, satisfaction=score)
        except ValidationError as error:
            assert error.errors()[0]["loc"] == ("satisfaction",)
        else:
            raise AssertionError(f"satisfied={satisfied} with {score} was accepted")
    assert Callback(satisfied=True, satisfaction=3).satisfaction == 3
    assert Callback(satisfied=False, satisfaction=3).satisfaction == 3
