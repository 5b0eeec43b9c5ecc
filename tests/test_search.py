"""Finding cases (PostgreSQL, the dev server): the list's filters and pages, the "due soon"
view ordered by the next due time, each case's link to the Temporal Web UI."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from caseflow.store.models import Equipment
from tests.test_api import headers, locs, open_case


def new_unit(sessions) -> str:  # type: ignore[no-untyped-def]
    serial = f"CT-S{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Equipment(serial=serial, hospital_id="H-DH", contract_code="HT-2025-RJ-001",
                              modality="CT", brand="GE", model="Revolution CT",
                              department="放射科", status="in_service"))
    return serial


async def listed(api, tokens, **params: Any) -> list[str]:  # type: ignore[no-untyped-def]
    response = await api.get("/v1/cases", params=params, headers=headers(tokens, "manager"))
    assert response.status_code == 200, response.text
    return [item["case_id"] for item in response.json()["items"]]


async def test_filters_pages_and_the_due_soon_view(api, tokens, sessions):
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    urgent_unit, slow_unit = new_unit(sessions), new_unit(sessions)
    # Severe: on site within 30 minutes. Minor: within 24 hours (business time on H-DH's
    # contract), so it is not due within the next hour.
    urgent = await open_case(api, tokens, serial=urgent_unit, severity="severe")
    slow = await open_case(api, tokens, serial=slow_unit, severity="minor")

    assert await listed(api, tokens, equipment_serial=urgent_unit) == [urgent]
    mine = await listed(api, tokens, opened_from=started.isoformat(), hospital_id="H-DH",
                        kind="repair")
    assert urgent in mine and slow in mine
    assert urgent not in await listed(api, tokens, opened_to=started.isoformat())
    within_hour = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    due = await listed(api, tokens, due_before=within_hour, hospital_id="H-DH")
    assert urgent in due and slow not in due

    first = await api.get("/v1/cases", params={"opened_from": started.isoformat(), "limit": 1,
                                               "kind": "repair"},
                          headers=headers(tokens, "auditor"))
    page = first.json()
    assert len(page["items"]) == 1 and page["next_before"] is not None
    rest = await listed(api, tokens, opened_from=started.isoformat(), kind="repair",
                        before=page["next_before"])
    assert page["items"][0]["case_id"] not in rest

    soon = await api.get("/v1/cases/due", params={"within_hours": 1, "hospital_id": "H-DH"},
                         headers=headers(tokens, "supervisor"))
    assert soon.status_code == 200, soon.text
    items = soon.json()["items"]
    found = next(item for item in items if item["case_id"] == urgent)
    assert slow not in [item["case_id"] for item in items]
    dues = [item["next_due_at"] for item in items]
    assert dues == sorted(dues), "ordered by the next due time"
    assert found["next_due_key"] == "arrival"
    assert found["web_ui"].endswith(f"/namespaces/default/workflows/{urgent}")
    arrival = next(c for c in found["commitments"] if c["key"] == "arrival")
    state = (await api.get(f"/v1/cases/{urgent}", headers=headers(tokens, "manager"))).json()
    assert arrival["due_at"] == next(c for c in state["commitments"]
                                     if c["key"] == "arrival")["due_at"], "as the case page"


async def test_bad_search_parameters_name_the_parameter(api, tokens):
    for params, loc in (({"opened_from": "2026-11-22T08:00:00"}, ["query", "opened_from"]),
                        ({"due_before": "yesterday"}, ["query", "due_before"]),
                        ({"limit": 0}, ["query", "limit"])):
        response = await api.get("/v1/cases", params=params, headers=headers(tokens, "manager"))
        assert response.status_code == 422 and locs(response) == [loc], response.text
    response = await api.get("/v1/cases/due", params={"within_hours": 0},
                             headers=headers(tokens, "manager"))
    assert response.status_code == 422 and locs(response) == [["query", "within_hours"]]
