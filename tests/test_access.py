"""The authorization matrix, cell by cell: every route for every role (allowed: the request gets
through; refused: 403), every step of every kind for every role, at the API and inside the
workflow's validator; what an engineer may read; fields clients may never set."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from temporalio.client import WorkflowUpdateFailedError

import caseflow
from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.domain.access import MATRIX, Capability
from caseflow.domain.cases import CaseAction
from caseflow.domain.enums import Role
from caseflow.domain.kinds import KINDS
from caseflow.domain.records import Actor
from caseflow.store.models import Case, CaseEventRow, Hospital, Person
from caseflow.store.people import issue_token
from tests.postgres import fresh_database
from tests.test_api import headers, intake_body, new_key, open_case
from tests.test_complaint_api import complaint_body
from tests.waiting import until

ROLES = list(Role)
HOLDER = {Role.hotline: "HL-01", Role.supervisor: "SV-01", Role.engineer: "EN-01",
          Role.manager: "MG-01", Role.director: "DR-01", Role.auditor: "AU-01",
          Role.admin: "AD-01", Role.monitoring: "MO-01", Role.regulatory: "RA-01"}
OPEN_ROUTES = {("GET", "/healthz"), ("GET", "/livez"), ("GET", "/metrics"),
               ("POST", "/v1/auth/sign-in")}
NOT_A_FIELD = {"not_a_field": 1}  # every payload refuses it: a step that passed the gate is 422


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute of the app, through the routers it includes."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.165)
            found += api_routes(route.original_router.routes)
    return found


def capability_of(route: APIRoute) -> list[Capability]:
    """The capabilities the route's dependencies check (auth.allowed marks its check)."""
    found = []
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        mark = getattr(dependency.call, "capability", None)
        if mark is not None:
            found.append(mark)
        stack.extend(dependency.dependencies)
    return found


@pytest.fixture(scope="module")
def app(database_url, dev_env, dev_worker):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test", rate_create_per_minute=0,
                        rate_actions_per_minute=0)
    return create_app(settings, temporal=dev_env.client)


@pytest.fixture(scope="module")
async def client(app):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://caseflow.test", timeout=30) as api:
        yield api


def test_every_route_declares_exactly_one_capability(app):
    routes = api_routes(app.routes)
    assert len(routes) > 30
    for route in routes:
        for method in route.methods:
            found = capability_of(route)
            if (method, route.path) in OPEN_ROUTES:
                assert found == [], (method, route.path)
            else:
                assert len(found) == 1, (method, route.path, found)


def test_every_capability_is_used_and_documented(app):
    used = {c for r in api_routes(app.routes) for c in capability_of(r)}
    assert used == set(Capability)
    security = (Path(caseflow.__file__).parent.parent / "docs" / "security.md").read_text()
    for capability, roles in MATRIX.items():
        row = next((line for line in security.splitlines()
                    if line.startswith(f"| `{capability.value}` |")), None)
        assert row is not None, f"{capability} is missing from docs/security.md"
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        marks = {role: cells[2 + index] for index, role in enumerate(ROLES)}
        assert {r for r, mark in marks.items() if mark == "yes"} == set(roles), capability


# ----- every route, every role --------------------------------------------------------------------

@dataclass
class World:
    """What the route examples act on, made once."""

    case_id: str
    event_id: int
    hospital_id: str
    person_id: str
    subscription_id: int
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def world(client, tokens, sessions) -> World:  # type: ignore[no-untyped-def]
    case_id = await open_case(client, tokens, severity="general")
    hospital_id, person_id = f"H-A{uuid.uuid4().hex[:8]}", f"P-{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Hospital(id=hospital_id, name="权限测试医院"))
        session.flush()
        # Of that hospital only, so no other test's hotline notices reach them.
        session.add(Person(id=person_id, name="测试人员", role="hotline", hospital_id=hospital_id))
    with sessions() as session:
        event_id = session.scalar(select(CaseEventRow.id).where(CaseEventRow.case_id == case_id)
                                  .limit(1))
    created = await client.post("/v1/subscriptions", headers=headers(tokens, "admin"), json={
        "name": "权限测试", "url": "http://127.0.0.1:9/hook", "secret": "s" * 20,
        "events": ["assign"]})
    assert created.status_code == 201, created.text
    return World(case_id, event_id, hospital_id, person_id, created.json()["id"])


@dataclass(frozen=True)
class Example:
    method: str
    path: str
    body: Callable[[World], Any] | None = None
    ok: frozenset[int] = frozenset({200})
    params: dict[str, str] = field(default_factory=dict)


def _roster(w: World) -> dict[str, Any]:
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(days=1)).isoformat(),
            "allow_gaps": True, "shifts": []}


def _installation(w: World) -> dict[str, Any]:
    return {"hospital_id": "H-DH", "serial": f"CT-X{uuid.uuid4().hex[:8]}", "modality": "CT",
            "brand": "GE", "model": "Revolution Apex", "department": "放射科",
            "location": "医技楼1层", "contract_code": "HT-2025-RJ-001",
            "delivery_due_at": (datetime.now().astimezone() + timedelta(days=7)).isoformat(),
            "contact_name": "设备科 吴工", "contact_phone": "0571-88880000"}


def _emergency(w: World) -> dict[str, Any]:
    return {"hospital_id": "H-DH", "equipment_serial": "CT-DH-0001", "trigger": "patient_safety",
            "impact": "检查床无法退出", "department": "放射科", "location": "门诊楼1层",
            "reporter_name": "刘护士", "reporter_phone": "13811112222"}


def _adverse_event() -> dict[str, Any]:
    return {"hospital_id": "H-DH", "equipment_serial": "CT-DH-0001",
            "event_type": "malfunction", "description": "检查床失控下降,未伤及患者"}


POLICY = (Path(caseflow.__file__).parent / "policy" / "default.yaml").read_text("utf-8")
EXAMPLES: dict[tuple[str, str], Example] = {(e.method, e.path): e for e in [
    Example("POST", "/v1/repairs", lambda w: intake_body(severity="minor"), frozenset({201})),
    Example("POST", "/v1/complaints", lambda w: complaint_body(), frozenset({201})),
    Example("POST", "/v1/emergencies", _emergency, frozenset({201})),
    Example("POST", "/v1/installations", _installation, frozenset({201})),
    Example("POST", "/v1/adverse-events", lambda w: _adverse_event(), frozenset({201})),
    Example("GET", "/v1/cases"),
    Example("GET", "/v1/cases/due"),
    Example("GET", "/v1/kinds"),
    Example("GET", "/v1/cases/{case_id}"),
    Example("POST", "/v1/cases/{case_id}/actions/{action}", lambda w: NOT_A_FIELD,
            frozenset({422})),
    Example("GET", "/v1/cases/{case_id}/timeline"),
    Example("GET", "/v1/cases/{case_id}/history"),
    Example("GET", "/v1/cases/{case_id}/export"),
    Example("GET", "/v1/exports/cases.csv", params={"limit": "5"}),
    Example("GET", "/v1/equipment/{serial}"),
    Example("POST", "/v1/equipment/{serial}/plan/{change}", lambda w: {"reason": "停机检修"},
            frozenset({404})),  # CT-DH-0001 has no plan: the gate let it through
    Example("GET", "/v1/rosters/{hospital_id}/{modality}"),
    Example("PUT", "/v1/rosters/{hospital_id}/{modality}", _roster),
    Example("POST", "/v1/subscriptions", lambda w: {
        "name": "工具", "url": "http://127.0.0.1:9/x", "secret": "t" * 20, "events": ["*"]},
        frozenset({201})),
    Example("GET", "/v1/subscriptions"),
    Example("GET", "/v1/subscriptions/{subscription_id}"),
    Example("DELETE", "/v1/subscriptions/{subscription_id}"),
    Example("GET", "/v1/subscriptions/{subscription_id}/deliveries"),
    Example("POST", "/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
            ok=frozenset({404})),
    Example("GET", "/v1/events/{event_id}"),
    Example("POST", "/v1/audit/replay", lambda w: {"case_id": w.case_id}),
    Example("GET", "/v1/reports/sla"),
    Example("GET", "/v1/reports/sla.csv", params={"hospital_id": "H-DH"}),
    Example("GET", "/v1/me"),
    Example("POST", "/v1/auth/sign-out", ok=frozenset({204})),
    Example("GET", "/v1/people"),
    Example("POST", "/v1/people", lambda w: {"id": f"P-{uuid.uuid4().hex[:8]}",
                                             "name": "新同事", "role": "engineer",
                                             "hospital_id": w.hospital_id},
            frozenset({201})),
    Example("PATCH", "/v1/people/{person_id}", lambda w: {"phone": "13900001111"}),
    Example("POST", "/v1/people/{person_id}/tokens", lambda w: {"label": "测试工具"},
            frozenset({201})),
    Example("GET", "/v1/tokens"),
    Example("DELETE", "/v1/tokens/{token_id}"),
    Example("GET", "/v1/policy"),
    Example("GET", "/v1/policy/history"),
    # The policy in force again: refused as no change (409), so the shared database keeps it.
    Example("PUT", "/v1/policy", lambda w: {"policy_yaml": POLICY}, frozenset({409})),
    Example("POST", "/v1/policy/check", lambda w: {"policy_yaml": POLICY}),
    Example("POST", "/v1/policy/migrations",
            lambda w: {"selection": {"case_ids": ["RP-NONE"]}}, frozenset({201})),
    Example("POST", "/v1/policy/migrations/{migration_id}/apply",
            lambda w: {"reason": "合同续签"}, frozenset({404})),
    Example("GET", "/v1/policy/migrations"),
    Example("GET", "/v1/policy/migrations/{migration_id}", ok=frozenset({404})),
    Example("GET", "/v1/cases/{case_id}/actions"),
    Example("GET", "/v1/hospitals"),
    Example("GET", "/v1/equipment", params={"q": "CT"}),
    Example("GET", "/v1/staff", params={"role": "engineer"}),
    Example("GET", "/v1/reports/sla/weekly", params={"weeks": "4"}),
    Example("GET", "/v1/reliability/figures", params={"hospital_id": "H-DH"}),
    Example("GET", "/v1/reliability/uptime", params={"serial": "CT-DH-0001"}),
    Example("GET", "/v1/reliability/units/{serial}"),
    Example("GET", "/v1/reliability/guarantees", params={"hospital_id": "H-JB"}),
    Example("GET", "/v1/reliability/patterns", params={"hospital_id": "H-DH"}),
    Example("GET", "/v1/reliability/monitoring", params={"hospital_id": "H-DH"}),
    # A file with no records: refused (422) once past the gate, so nothing is written.
    Example("POST", "/v1/reliability/history", lambda w: {
        "filename": "empty.csv", "format": "csv", "content": "kind,reference,serial\n"},
        frozenset({422})),
    # The world's hospital has no unit: a quick, empty report.
    Example("POST", "/v1/reports/annual/{hospital_id}/{year}", ok=frozenset({202})),
    Example("GET", "/v1/reports/annual/{hospital_id}/{year}", ok=frozenset({200, 404})),
    Example("POST", "/v1/reports/visits/{case_id}", ok=frozenset({404})),  # a repair, not a visit
    Example("GET", "/v1/reports/visits/{case_id}", ok=frozenset({404})),
    Example("GET", "/v1/reports/jobs/{job_id}", ok=frozenset({404})),
    Example("GET", "/v1/reports/jobs/{job_id}/report.{fmt}", ok=frozenset({404})),
    Example("GET", "/v1/live", params={"follow": "false"}),
    Example("GET", "/v1/notices"),
    Example("GET", "/v1/queues/{name}"),
    # A JSON body is no photo: the gate let it through to the type check.
    Example("POST", "/v1/cases/{case_id}/attachments", lambda w: {"photo": 1},
            frozenset({415}), params={"name": "现场.jpg"}),
    Example("GET", "/v1/cases/{case_id}/attachments"),
    Example("GET", "/v1/cases/{case_id}/report.pdf"),
    Example("GET", "/v1/cases/{case_id}/attachments/{attachment_id}", ok=frozenset({404})),
    Example("POST", "/v1/notices/read", lambda w: {"up_to": 1}),
    # A reading of a record-only code: kept on the unit, no case.
    Example("POST", "/v1/alarms", lambda w: {"alarms": [{
        "alarm_id": f"A-{uuid.uuid4().hex}", "serial": "CT-DH-0001", "code": "CT-STATUS",
        "raised_at": datetime.now(timezone.utc).isoformat()}]}),
    Example("GET", "/v1/equipment/{serial}/alarms"),
    # The world's case is a repair: through the gate, then no adverse event (404).
    Example("GET", "/v1/adverse-events/{case_id}/report-file", ok=frozenset({404})),
    Example("GET", "/v1/regulatory/board"),
]}


# Each kind's actions as operations of their own: a body no payload takes passes the gate of
# roles (report_steps) and is refused by its typed schema.
EXAMPLES |= {("POST", path): Example("POST", path, lambda w: NOT_A_FIELD, frozenset({422}))
             for kind, found in KINDS.items() for action in found.rules
             for path in [f"/v1/{found.collection}/{{case_id}}/actions/{action}"]}


def test_every_guarded_route_has_an_example(app):
    guarded = {(m, r.path) for r in api_routes(app.routes) for m in r.methods
               if (m, r.path) not in OPEN_ROUTES}
    assert guarded == set(EXAMPLES)


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
@pytest.mark.parametrize("route", list(EXAMPLES), ids=[f"{m} {p}" for m, p in EXAMPLES])
async def test_route_cell(app, client, world, sessions, route, role):
    example = EXAMPLES[route]
    capability = next(c for r in api_routes(app.routes) if r.path == route[1]
                      and route[0] in r.methods for c in capability_of(r))
    with sessions.begin() as session:  # a token of its own: sign-out revokes it
        token, _ = issue_token(session, HOLDER[role], "matrix cell")
        spare, spare_row = issue_token(session, world.person_id, "to revoke")
    path = example.path.format(
        case_id=world.case_id, action="progress" if role is Role.engineer else "pause",
        serial="CT-DH-0001", change="pause",
        hospital_id=world.hospital_id, modality="CT", subscription_id=world.subscription_id,
        delivery_id=2**31 - 1, event_id=world.event_id, person_id=world.person_id,
        token_id=spare_row.id, year=2025, job_id="RJ-none", fmt="pdf", name="handover",
        attachment_id=2**31 - 1, migration_id="PM-0000000000000000")
    response = await client.request(
        example.method, path, params=example.params,
        json=example.body(world) if example.body else None,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": new_key()})
    if role is Role.regulatory and route[1] == "/v1/cases/{case_id}/actions/{action}":
        # Through the gate (they report steps), then refused by the repair's own rule.
        assert response.status_code == 403 and "may not pause" in response.text
    elif role in MATRIX[capability]:
        assert response.status_code in example.ok, (role, route, response.text)
    else:
        assert response.status_code == 403, (role, route, response.text)
        assert response.json()["code"] == "NotPermitted"
        assert f"role {role.value} may not" in response.json()["detail"]


# ----- every step of every kind, every role: at the API ------------------------------------------

STEPS = [(kind, action) for kind, found in KINDS.items() for action in found.rules]


@dataclass
class Gate:
    """An API on a database of its own holding a case row of each kind (no workflow behind
    them: the gate refuses or passes a step before the workflow is asked)."""

    client: httpx.AsyncClient
    cases: dict[str, str]
    tokens: dict[Role, str]


@pytest.fixture(scope="module")
async def gate(database_url, dev_env) -> Any:  # type: ignore[no-untyped-def]
    with fresh_database(database_url, "gate") as (url, sessions):
        now = datetime.now(timezone.utc)
        with sessions.begin() as session:
            cases = {}
            for kind in KINDS:
                case_id = f"GATE-{KINDS[kind].prefix}-1"  # prefixes are unique
                session.add(Case(case_id=case_id, kind=kind, status="open", hospital_id="H-DH",
                                 opened_at=now, updated_at=now, created_by="test",
                                 commitments=[]))
                cases[kind] = case_id
            tokens = {role: issue_token(session, holder, "gate")[0]
                      for role, holder in HOLDER.items()}
        app = create_app(Settings(database_url=url, environment="test",
                                  rate_actions_per_minute=0), temporal=dev_env.client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://caseflow.test", timeout=30) as client:
            yield Gate(client, cases, tokens)


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
@pytest.mark.parametrize("step", STEPS, ids=[f"{k}:{a}" for k, a in STEPS])
async def test_step_cell_at_the_api(gate, step, role):
    kind, action = step
    rule = KINDS[kind].rules[action]
    response = await gate.client.post(f"/v1/cases/{gate.cases[kind]}/actions/{action}",
                                      json=NOT_A_FIELD, headers={
                                          "Authorization": f"Bearer {gate.tokens[role]}",
                                          "Idempotency-Key": new_key()})
    if role not in MATRIX[Capability.report_steps]:
        assert response.status_code == 403 and "may not report steps" in response.text
    elif role not in rule.roles:
        assert response.status_code == 403 and f"may not {action}" in response.text
    else:  # through the gate: the payload is what is wrong (the first bad field is named)
        assert response.status_code == 422, response.text


# ----- ... and inside the workflow's validator ---------------------------------------------------

@pytest.fixture(scope="module")
async def live_cases(client, tokens) -> dict[str, str]:
    """A running case of each kind opened through the API (visits are opened by plans: their
    validator is the same CaseWorkflow one)."""
    opened = {"repair": await open_case(client, tokens, severity="general")}
    for kind, path, body, role in (
            ("complaint", "/v1/complaints", complaint_body(), "hotline"),
            ("emergency", "/v1/emergencies", _emergency(None), "hotline"),  # type: ignore[arg-type]
            ("installation", "/v1/installations", _installation(None), "supervisor"),  # type: ignore[arg-type]
            ("adverse_event", "/v1/adverse-events", _adverse_event(), "regulatory")):
        created = await client.post(path, json=body, headers=headers(tokens, role, new_key()))
        assert created.status_code == 201, created.text
        opened[kind] = created.json()["case_id"]

    async def review() -> str | None:  # a complaint opens its reportability review
        view = (await client.get(f"/v1/cases/{opened['complaint']}",
                                 headers=headers(tokens, "auditor"))).json()
        return next((link["case_id"] for link in view["linked_cases"]
                     if link["kind"] == "review"), None)

    opened["review"] = await until(review, "the complaint opens its review")
    return opened


VALIDATED = [(k, a, r) for k, a in STEPS if k != "maintenance"
             for r in ROLES if r not in KINDS[k].rules[a].roles]


@pytest.mark.parametrize("cell", VALIDATED, ids=[f"{k}:{a}:{r.value}" for k, a, r in VALIDATED])
async def test_step_cell_in_the_validator(dev_env, live_cases, cell):
    """Sent straight to the workflow, past the API: the validator refuses the role too."""
    kind, action, role = cell
    request = CaseAction(action=action, actor=Actor(id=HOLDER[role], name="直连", role=role),
                         payload={}, idempotency_key=new_key())
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await dev_env.client.get_workflow_handle(live_cases[kind]).execute_update(
            "act", request, result_type=dict)
    assert refused.value.cause.type == "NotPermitted", refused.value.cause


# ----- what an engineer may read ------------------------------------------------------------------

@pytest.fixture(scope="module")
def jb_engineer(sessions) -> str:
    """A token of 刘洋 (EN-03), the engineer serving H-JB only."""
    with sessions.begin() as session:
        return issue_token(session, "EN-03", "scope test")[0]


async def test_an_engineer_reads_their_hospital_their_assignments_and_their_pages(
        client, tokens, jb_engineer):
    mine = {"Authorization": f"Bearer {jb_engineer}"}
    elsewhere = await open_case(client, tokens, severity="general")  # at H-DH
    at_home = await open_case(client, tokens, serial="CT-JB-0003", hospital="H-JB")
    assert (await client.get(f"/v1/cases/{elsewhere}", headers=mine)).status_code == 403
    for path in ("timeline", "history", "export"):
        response = await client.get(f"/v1/cases/{elsewhere}/{path}", headers=mine)
        assert response.status_code == 403, path
    assert (await client.get(f"/v1/cases/{at_home}", headers=mine)).status_code == 200
    listed = [c["case_id"] for c in (await client.get(
        "/v1/cases", params={"limit": 200}, headers=mine)).json()["items"]]
    assert at_home in listed and elsewhere not in listed
    assert all(c["hospital_id"] == "H-JB" for c in (await client.get(
        "/v1/cases", params={"limit": 200, "kind": "repair"}, headers=mine)).json()["items"])
    assert (await client.get("/v1/equipment/CT-DH-0001", headers=mine)).status_code == 403
    assert (await client.get("/v1/equipment/CT-JB-0003", headers=mine)).status_code == 200
    due = [c["case_id"] for c in (await client.get(
        "/v1/cases/due", params={"within_hours": 24 * 90}, headers=mine)).json()["items"]]
    assert elsewhere not in due
    csv_text = (await client.get("/v1/exports/cases.csv", headers=mine)).text
    assert elsewhere not in csv_text and at_home in csv_text
    for _ in range(100):  # Temporal visibility catches up with the new cases
        found = [c["case_id"] for c in (await client.get(
            "/v1/cases", params={"source": "temporal", "limit": 200}, headers=mine)
        ).json()["items"]]
        if at_home in found:
            break
        await asyncio.sleep(0.1)
    assert at_home in found and elsewhere not in found

    assigned = await client.post(f"/v1/cases/{elsewhere}/actions/assign",
                                 json={"engineer_id": "EN-03"},
                                 headers=headers(tokens, "supervisor", new_key()))
    assert assigned.status_code == 200, assigned.text
    assert (await client.get(f"/v1/cases/{elsewhere}", headers=mine)).status_code == 200
    acknowledged = await client.post(f"/v1/cases/{elsewhere}/actions/acknowledge", json={},
                                     headers={**mine, "Idempotency-Key": new_key()})
    assert acknowledged.status_code == 200, acknowledged.text
    # Handed to someone else: still readable, since EN-03 was notified about it.
    moved = await client.post(f"/v1/cases/{elsewhere}/actions/assign",
                              json={"engineer_id": "EN-02"},
                              headers=headers(tokens, "supervisor", new_key()))
    assert moved.status_code == 200 and moved.json()["assignee"]["id"] == "EN-02"
    assert (await client.get(f"/v1/cases/{elsewhere}", headers=mine)).status_code == 200
    other = await open_case(client, tokens, severity="general")
    refused = await client.post(f"/v1/cases/{other}/actions/assign", json={
        "engineer_id": "EN-03"}, headers={**mine, "Idempotency-Key": new_key()})
    assert refused.status_code == 403


# ----- fields only the server sets ----------------------------------------------------------------

async def test_server_owned_fields_cannot_be_sent(client, tokens, sessions, world):
    def cases() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(Case))

    before = cases()
    for name, value in (("status", "closed"), ("breached", True), ("case_id", "RP-X"),
                        ("escalation_level", 3), ("opened_at", "2026-01-01T00:00:00+08:00"),
                        ("policy", {}), ("commitments", []), ("assignee_id", "EN-01")):
        response = await client.post("/v1/repairs", json={**intake_body(), name: value},
                                     headers=headers(tokens, "hotline", new_key()))
        assert response.status_code == 422, (name, response.text)
        assert ["body", name] in [e["loc"] for e in response.json()["detail"]], name
    assert cases() == before, "nothing was opened"
    step = await client.post(f"/v1/cases/{world.case_id}/actions/progress",
                             json={"note": "进展", "status": "closed"},
                             headers=headers(tokens, "engineer", new_key()))
    assert step.status_code == 422 and step.json()["detail"][0]["loc"] == ["body", "status"]
    for body in ({"password_hash": "x"}, {"token_hash": "x"}, {"id": "OTHER"}):
        response = await client.patch(f"/v1/people/{world.person_id}", json=body,
                                      headers=headers(tokens, "admin"))
        assert response.status_code == 422, (body, response.text)
    response = await client.post("/v1/subscriptions", headers=headers(tokens, "admin"), json={
        "name": "x", "url": "http://127.0.0.1:9/x", "secret": "t" * 20, "events": ["*"],
        "active": False, "created_by": "someone"})
    assert response.status_code == 422


def documented_roles(who: str) -> frozenset[Role] | None:
    """The roles an api.md "who" cell names (None: open, or decided per action)."""
    if who.startswith("open") or who == "by action (below)":
        return None
    if who == "any role":
        return frozenset(Role)
    for every in ("every role but ", "any role but "):
        if who.startswith(every):
            return frozenset(Role) - {Role(name.strip())
                                      for name in who.removeprefix(every).split(",")}
    return frozenset(Role(name.strip()) for name in who.split(","))


def test_the_who_column_of_api_md_agrees_with_the_matrix(app):
    text = (Path(caseflow.__file__).parent.parent / "docs" / "api.md").read_text("utf-8")
    routes = {(m, re.sub(r"\{[^}]*\}", "{}", r.path)): r for r in api_routes(app.routes)
              for m in r.methods}
    checked = 0
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        operations = re.findall(r"`([A-Z]+) (/[^`]*)`", cells[0])
        if not line.startswith("| `") or len(cells) < 3 or not operations:
            continue  # not a row of an endpoint table (the actions tables name steps)
        roles = documented_roles(cells[1])
        for method, path in operations:
            if path.startswith("/console"):
                continue  # static files, not an API route
            route = routes.get((method, re.sub(r"\{[^}]*\}", "{}", path)))
            assert route is not None, f"api.md documents {method} {path}, which is no route"
            found = capability_of(route)
            if roles is None:
                assert not cells[1].startswith("open") or not found, f"{method} {path} is open?"
                continue
            assert set(MATRIX[found[0]]) == set(roles), (method, path, cells[1])
            checked += 1
    assert checked > 30
