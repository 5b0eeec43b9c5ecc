"""Finding cases (PostgreSQL, the dev server): every filter, sort and cursor page over a set of
cases of several kinds in several states, from the database and from Temporal visibility; the
"due soon" view; each case's link to the Temporal Web UI."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import caseflow
from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.store.models import Contract, Equipment, Hospital
from tests.test_api import (
    act,
    headers,
    intake_body,
    listed,
    locs,
    new_key,
    timeline_of,
    walk_to,
)
from tests.test_complaint_api import complaint_body
from tests.waiting import until

CONTRACT = "HT-SEARCH-001"
LAST_RUNG = 3  # the default policy's ladder: the director, at 2.5 times the duration


@dataclass
class Scene:
    """Six cases at a hospital of their own, and the three reportability reviews they open;
    `late` breaches its 2-second arrival, and so does `unclassified`: a repair not classified
    yet runs its arrival on the contract's strictest clock ("no case without a clock"), here
    the same 2 seconds."""

    hospital_id: str
    units: list[str]
    late: str  # repair, severe, awaiting assignment, breached
    assigned: str  # repair, general, assigned to EN-01
    unclassified: str  # repair with no severity yet, breached (the strictest arrival)
    closed: str  # repair walked to closed
    complaint: str
    emergency: str
    split: datetime  # between the first three and the last three openings
    # the reviews of `closed` (screened by the rules: decided at once), `complaint` and
    # `emergency` (patient safety), each opened before the next case
    reviews: list[str]

    @property
    def all(self) -> list[str]:
        """In the order they opened."""
        closed_review, complaint_review, emergency_review = self.reviews
        return [self.late, self.assigned, self.unclassified, self.closed, closed_review,
                self.complaint, complaint_review, self.emergency, emergency_review]


def fast_policy(tmp_path: Path) -> Path:
    """The default policy, with an on-site deadline of 2 s for severe repairs on CONTRACT."""
    raw = yaml.safe_load((Path(caseflow.__file__).parent / "policy" / "default.yaml")
                         .read_text("utf-8"))
    raw.setdefault("contracts", {})
    raw["contracts"] = {**(raw["contracts"] or {}),
                        CONTRACT: {"repair": {"arrival": {"severe": {"within": "2s"}}}}}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def new_site(sessions) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    hospital_id = f"H-S{uuid.uuid4().hex[:8]}"
    units = [f"CT-S{uuid.uuid4().hex[:8]}" for _ in range(3)]
    with sessions.begin() as session:
        session.add(Hospital(id=hospital_id, name="检索测试医院 search test hospital"))
        session.flush()
        if session.get(Contract, CONTRACT) is None:
            session.add(Contract(code=CONTRACT, hospital_id=hospital_id,
                                 starts_on=date(2025, 1, 1), ends_on=date(2030, 12, 31)))
            session.flush()
        for serial in units:
            session.add(Equipment(serial=serial, hospital_id=hospital_id, contract_code=CONTRACT,
                                  modality="CT", brand="GE", model="Revolution CT",
                                  department="放射科", warranty_start=date(2025, 1, 1),
                                  warranty_end=date(2030, 12, 31)))
    return hospital_id, units


@pytest.fixture(scope="module")
async def client(database_url, dev_env, dev_worker, tmp_path_factory) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The API with the fast policy, on the shared dev server and worker."""
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test",
                        policy_file=fast_policy(tmp_path_factory.mktemp("search")))
    app = create_app(settings, temporal=dev_env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://caseflow.test", timeout=30) as api:
        yield api


async def repair(api, tokens, hospital_id: str, serial: str, **extra: Any) -> str:  # type: ignore[no-untyped-def]
    created = await api.post("/v1/repairs",
                             json=intake_body(serial=serial, hospital=hospital_id, **extra),
                             headers=headers(tokens, "hotline", new_key()))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    await timeline_of(api, tokens, case_id, at_least=2 if extra.get("severity") else 1)
    return case_id


async def review_of(api, tokens, case_id: str) -> str:  # type: ignore[no-untyped-def]
    """The reportability review `case_id` opened (it opens it on its own, soon after)."""
    async def linked() -> str | None:
        view = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "manager"))).json()
        return next((link["case_id"] for link in view.get("linked_cases", [])
                     if link["kind"] == "review"), None)

    return await until(linked, f"{case_id} opens its reportability review")


@pytest.fixture(scope="module")
async def scene(client, tokens, sessions) -> Scene:  # type: ignore[no-untyped-def]
    hospital_id, units = new_site(sessions)
    api = client
    late = await repair(api, tokens, hospital_id, units[0], severity="severe")
    assigned = await repair(api, tokens, hospital_id, units[1], severity="general")
    assert (await act(api, tokens, assigned, "supervisor", "assign",
                      {"engineer_id": "EN-01"})).status_code == 200
    unclassified = await repair(api, tokens, hospital_id, units[2])
    await asyncio.sleep(0.01)
    split = datetime.now(timezone.utc)
    closed = await repair(api, tokens, hospital_id, units[2], severity="general")
    await walk_to(api, tokens, closed, "closed")
    reviews = [await review_of(api, tokens, closed)]
    created = await api.post("/v1/complaints", json=complaint_body(
        hospital_id=hospital_id, equipment_serial=units[0], matter="检索测试:回访不及时"),
        headers=headers(tokens, "hotline", new_key()))
    assert created.status_code == 201, created.text
    complaint = created.json()["case_id"]
    reviews.append(await review_of(api, tokens, complaint))
    declared = await api.post("/v1/emergencies", json={
        "hospital_id": hospital_id, "equipment_serial": units[1], "trigger": "patient_safety",
        "impact": "检查床无法退出", "department": "放射科", "location": "门诊楼1层",
        "reporter_name": "刘护士", "reporter_phone": "13811112222"},
        headers=headers(tokens, "hotline", new_key()))
    assert declared.status_code == 201, declared.text
    emergency = declared.json()["case_id"]
    reviews.append(await review_of(api, tokens, emergency))
    found = Scene(hospital_id, units, late, assigned, unclassified, closed, complaint, emergency,
                  split, reviews)
    # Every case recorded, and `late` and `unclassified` breached (their 2 s ran out while the
    # others opened) up to the ladder's last rung (level 3, 2.5 times the 2 s): the filters and
    # the sorts below then find what is settled, not a clock still running (a later rung
    # recorded between two listings moved `updated_at` and failed a fresh clone's run).
    async def top_rung(case_id: str) -> bool:
        view = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "manager"))).json()
        return any(e["commitment"] == "arrival" and e["level"] == LAST_RUNG
                   for e in view.get("escalations", []))

    for _ in range(300):
        rows = await listed(api, tokens, hospital_id=hospital_id)
        breached = await listed(api, tokens, hospital_id=hospital_id, breached=True)
        if sorted(rows) == sorted(found.all) and set(breached) == {late, unclassified} and \
                await top_rung(late) and await top_rung(unclassified):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the scene did not settle: {rows}, breached {breached}")


async def page(api, tokens, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await api.get("/v1/cases", params=params, headers=headers(tokens, "manager"))
    assert response.status_code == 200, response.text
    return response.json()


async def every_page(api, tokens, **params: Any) -> list[str]:  # type: ignore[no-untyped-def]
    """All pages of a list, following next_cursor."""
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        found = await page(api, tokens, **params, **({"cursor": cursor} if cursor else {}))
        seen += [item["case_id"] for item in found["items"]]
        cursor = found["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


async def test_each_filter_finds_exactly_its_cases(client, tokens, scene: Scene):
    api, here = client, {"hospital_id": scene.hospital_id}
    expected: list[tuple[dict[str, Any], set[str]]] = [
        ({"kind": "repair"}, {scene.late, scene.assigned, scene.unclassified, scene.closed}),
        ({"kind": "complaint"}, {scene.complaint}),
        ({"kind": "emergency"}, {scene.emergency}),
        ({"kind": "review"}, set(scene.reviews)),
        ({"kind": "review", "status": "decided"}, {scene.reviews[0]}),
        ({"status": "closed"}, {scene.closed}),
        ({"status": "awaiting_classification"}, {scene.unclassified}),
        ({"severity": "severe"}, {scene.late}),
        ({"severity": "critical"}, {scene.emergency}),
        ({"equipment_serial": scene.units[2]}, {scene.unclassified, scene.closed,
                                                 scene.reviews[0]}),
        ({"assignee_id": "EN-01", "kind": "repair"}, {scene.assigned, scene.closed}),
        ({"breached": True}, {scene.late, scene.unclassified}),
        ({"breached": False}, set(scene.all) - {scene.late, scene.unclassified}),
        ({"opened_to": scene.split.isoformat()}, {scene.late, scene.assigned,
                                                   scene.unclassified}),
        ({"opened_from": scene.split.isoformat()}, {scene.closed, scene.complaint,
                                                     scene.emergency, *scene.reviews}),
        ({"kind": "repair", "status": "assigned", "severity": "general"}, {scene.assigned}),
        ({"kind": "complaint", "status": "closed"}, set()),
    ]
    for params, cases in expected:
        assert set(await listed(api, tokens, **here, **params)) == cases, params
    # Due before a minute from now: the repairs and the emergency waiting on 30-minute or
    # shorter steps, never a closed case.
    due = set(await listed(api, tokens, **here, due_before=(
        datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()))
    assert scene.late in due and scene.closed not in due


async def test_sorts_and_cursor_pages_give_every_case_once_in_order(client, tokens,
                                                                    scene: Scene):
    api, here = client, {"hospital_id": scene.hospital_id}
    newest = await listed(api, tokens, **here)
    assert newest == list(reversed(scene.all)), "newest first by default"
    assert await listed(api, tokens, **here, sort="opened_at") == scene.all
    for sort in ("-opened_at", "opened_at", "next_due_at", "-next_due_at", "-updated_at",
                 "updated_at"):
        whole = await listed(api, tokens, **here, sort=sort)
        assert sorted(whole) == sorted(scene.all), sort
        assert await every_page(api, tokens, **here, sort=sort, limit=2) == whole, sort
    by_due = (await page(api, tokens, **here, sort="next_due_at"))["items"]
    dues = [item["next_due_at"] for item in by_due]
    known = [datetime.fromisoformat(d) for d in dues if d is not None]
    assert known == sorted(known) and dues[len(known):] == [None] * (len(dues) - len(known)), \
        "by due time, cases with nothing due last"
    assert by_due[-1]["case_id"] == scene.closed or by_due[-1]["next_due_at"] is None


async def test_temporal_visibility_finds_the_same_cases(client, tokens, scene: Scene):
    api, here = client, {"hospital_id": scene.hospital_id}
    for params in ({}, {"kind": "repair"}, {"status": "closed"}, {"severity": "critical"},
                   {"equipment_serial": scene.units[2]}, {"assignee_id": "EN-01"},
                   {"breached": True}, {"opened_from": scene.split.isoformat()}):
        wanted = sorted(await listed(api, tokens, **here, **params))
        for _ in range(100):  # visibility is eventually consistent
            found = await page(api, tokens, **here, **params, source="temporal")
            if sorted(item["case_id"] for item in found["items"]) == wanted:
                break
            await asyncio.sleep(0.1)
        assert sorted(item["case_id"] for item in found["items"]) == wanted, params
        assert found["source"] == "temporal"
    everything = (await page(api, tokens, **here, source="temporal"))["items"]
    status = {item["case_id"]: item["workflow_status"] for item in everything}
    assert status[scene.closed] == "COMPLETED" and status[scene.late] == "RUNNING"
    finished = [item["workflow_status"] == "COMPLETED" for item in everything]
    assert finished == sorted(finished), "Temporal's order: running cases first"
    assert {item["case_id"] for item in everything if item["workflow_status"] == "COMPLETED"} \
        == {scene.closed, scene.reviews[0]}, "the closed repair and its screened review ended"
    late = next(item for item in everything if item["case_id"] == scene.late)
    assert late["breached"] and late["title"], "the search attributes, with the database's fields"
    assert await every_page(api, tokens, **here, source="temporal", limit=4) == \
        [item["case_id"] for item in everything]


def crafted(parts: list[Any]) -> str:
    """A cursor made by hand, not by a list (as a client could)."""
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


async def test_refused_search_parameters_name_the_parameter(client, tokens, scene: Scene):
    api = client
    other_sort = (await page(api, tokens, hospital_id=scene.hospital_id, limit=1))["next_cursor"]
    cases = (
        ({"opened_from": "2026-11-22T08:00:00"}, ["query", "opened_from"]),
        ({"due_before": "yesterday"}, ["query", "due_before"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 1000}, ["query", "limit"]),
        ({"kind": "invoice"}, ["query", "kind"]),
        ({"severity": "catastrophic"}, ["query", "severity"]),
        ({"sort": "title"}, ["query", "sort"]),
        ({"hospital_id": "H-DH' OR '1'='1"}, ["query", "hospital_id"]),
        ({"opened_from": "2026-11-22T08:00:00+08:00", "opened_to": "2026-11-21T08:00:00+08:00"},
         ["query", "opened_to"]),
        ({"cursor": "not-a-cursor"}, ["query", "cursor"]),
        ({"cursor": crafted(["-opened_at", "2026-01-01T00:00:00", 1])}, ["query", "cursor"]),
        ({"cursor": crafted(["-opened_at", None, 10**30])}, ["query", "cursor"]),
        ({"cursor": other_sort, "sort": "opened_at"}, ["query", "cursor"]),
        ({"source": "temporal", "due_before": "2026-11-22T08:00:00+08:00"},
         ["query", "due_before"]),
        ({"source": "temporal", "sort": "next_due_at"}, ["query", "sort"]),
        ({"source": "elsewhere"}, ["query", "source"]),
    )
    for params, loc in cases:
        response = await api.get("/v1/cases", params=params, headers=headers(tokens, "manager"))
        assert response.status_code == 422 and locs(response) == [loc], (params, response.text)
    response = await api.get("/v1/cases/due", params={"within_hours": 0},
                             headers=headers(tokens, "manager"))
    assert response.status_code == 422 and locs(response) == [["query", "within_hours"]]


async def test_filters_of_closed_vocabularies_refuse_a_value_outside_them(client, tokens,
                                                                         scene: Scene):
    """A misspelt status (or one another kind has) is a 422 naming it, as `kind` is, in every
    list that takes the filters, and in the reports; never an empty answer."""
    api = client
    for path in ("/v1/cases", "/v1/cases/due", "/v1/exports/cases.csv"):
        for params in ({"status": "closd"}, {"kind": "repair", "status": "withdrawn"},
                       {"status": "CLOSED"}):
            response = await api.get(path, params=params, headers=headers(tokens, "manager"))
            assert response.status_code == 422 and locs(response) == [["query", "status"]], \
                (path, params, response.text)
    for path in ("/v1/reports/sla", "/v1/reports/sla/weekly"):
        response = await api.get(path, params={"kind": "repiar"},
                                 headers=headers(tokens, "manager"))
        assert response.status_code == 422 and locs(response) == [["query", "kind"]], \
            (path, response.text)
    for params in ({"status": "closed"}, {"kind": "complaint", "status": "recorded"}):
        assert (await api.get("/v1/cases", params=params,
                              headers=headers(tokens, "manager"))).status_code == 200


async def test_a_temporal_cursor_is_checked_before_temporal_is_asked(client, tokens,
                                                                     scene: Scene):
    """Text no list gave, a database cursor, or a cursor of other filters: 422 naming `cursor`
    with source=temporal too (not a 503 after Temporal retried a bad token, not page one)."""
    api, here = client, {"hospital_id": scene.hospital_id}
    first = await page(api, tokens, **here, source="temporal", limit=2)
    assert first["next_cursor"], first
    database_cursor = (await page(api, tokens, **here, limit=2))["next_cursor"]
    for cursor, params in (("abc", here), ("%", here), ("%%%%", here), (database_cursor, here),
                           (first["next_cursor"], {"kind": "repair"}),
                           (crafted(["temporal", "0" * 16, "bm90IGEgdG9rZW4="]), here)):
        response = await api.get("/v1/cases", params={"cursor": cursor, **params,
                                                      "source": "temporal"},
                                 headers=headers(tokens, "manager"))
        assert response.status_code == 422 and locs(response) == [["query", "cursor"]], \
            (cursor, params, response.text)
    following = await page(api, tokens, **here, source="temporal", limit=2,
                           cursor=first["next_cursor"])
    assert not {i["case_id"] for i in following["items"]} & {i["case_id"] for i in first["items"]}


async def test_due_soon_lists_open_commitments_by_due_time_with_links(client, tokens,
                                                                       scene: Scene):
    api = client
    soon = await api.get("/v1/cases/due", params={"within_hours": 1,
                                                  "hospital_id": scene.hospital_id},
                         headers=headers(tokens, "supervisor"))
    assert soon.status_code == 200, soon.text
    items = soon.json()["items"]
    ids = [item["case_id"] for item in items]
    assert scene.late in ids and scene.closed not in ids
    assert scene.complaint not in ids, "its first feedback is due in 24 hours"
    dues = [datetime.fromisoformat(item["next_due_at"]) for item in items]
    assert dues == sorted(dues), "ordered by the next due time, the overdue first"
    late = next(item for item in items if item["case_id"] == scene.late)
    assert late["next_due_key"] == "arrival" and late["breached"]
    assert late["web_ui"].endswith(f"/namespaces/default/workflows/{scene.late}")
    arrival = next(c for c in late["commitments"] if c["key"] == "arrival")
    state = (await api.get(f"/v1/cases/{scene.late}", headers=headers(tokens, "manager"))).json()
    shown = next(c for c in state["commitments"] if c["key"] == "arrival")
    assert arrival["due_at"] == shown["due_at"] and shown["state"] == "breached", \
        "as the case page shows it"
    assert state["web_ui"] == late["web_ui"], "the case page links to the Web UI too"
