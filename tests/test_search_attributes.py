"""Search attributes make a case findable in Temporal (and its Web UI) and follow its state."""

from __future__ import annotations

import asyncio
import uuid

from tests.repair_driver import intake
from tests.waiting import until


async def find(client, query: str, *, expected: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Workflow ids matching a visibility query, polled (visibility lags a moment)."""
    for _ in range(50):
        ids = [w.id async for w in client.list_workflows(query)]
        if len(ids) == expected:
            return ids
        await asyncio.sleep(0.1)
    return ids


async def test_search_attributes_follow_the_case(api, tokens, dev_env):
    auth = {"Authorization": f"Bearer {tokens['hotline']}"}
    body = intake(serial="MR-DH-0002", severity="severe").model_dump(mode="json")
    created = await api.post("/v1/repairs", json=body,
                             headers=auth | {"Idempotency-Key": f"sa-{uuid.uuid4()}"})
    case_id = created.json()["case_id"]
    me = f'WorkflowId = "{case_id}"'
    opened = ('CaseKind = "repair" AND HospitalId = "H-DH" AND EquipmentSerial = "MR-DH-0002" '
              'AND Severity = "severe" AND CaseStatus = "awaiting_assignment" AND '
              'SlaBreached = false')
    assert await find(dev_env.client, f"{me} AND {opened}", expected=1) == [case_id]

    supervisor = {"Authorization": f"Bearer {tokens['supervisor']}"}
    assigned = await api.post(f"/v1/cases/{case_id}/actions/assign",
                              headers=supervisor | {"Idempotency-Key": f"sa-{uuid.uuid4()}"},
                              json={"engineer_id": "EN-02"})
    assert assigned.status_code == 200, assigned.text
    now = f'{me} AND AssigneeId = "EN-02" AND CaseStatus = "assigned"'
    assert await find(dev_env.client, now, expected=1) == [case_id]
    assert await find(dev_env.client, f'{me} AND CaseStatus = "awaiting_assignment"',
                      expected=0) == []


async def test_a_case_starts_with_its_first_state_and_its_intake_upserts_nothing(
        api, tokens, dev_env):
    """The API starts a repair opened without a severity with the status it really opens in
    (awaiting classification), so the workflow's intake has no case attribute to upsert; and
    it is opened by today's code (its input's version), so the workflow asks about no patch:
    no patch marker, no TemporalChangeVersion upsert. Its history holds nothing but the
    intake's record (its marker) and its timers around the workflow task."""
    auth = {"Authorization": f"Bearer {tokens['hotline']}"}
    body = intake(serial="MR-DH-0002").model_dump(mode="json") | {"severity": None}
    created = await api.post("/v1/repairs", json=body,
                             headers=auth | {"Idempotency-Key": f"sa-{uuid.uuid4()}"})
    assert created.status_code == 201, created.text
    handle = dev_env.client.get_workflow_handle(created.json()["case_id"])
    async def recorded() -> list:  # the intake's local activity leaves its marker
        events = [e async for e in handle.fetch_history_events()]
        return events if any(e.HasField("marker_recorded_event_attributes")
                             for e in events) else []

    events = await until(recorded, "the intake is recorded")
    started = (await handle.describe()).typed_search_attributes
    first = {key.name: value for key, value in
             ((pair.key, pair.value) for pair in started.search_attributes)}
    assert first["CaseStatus"] == "awaiting_classification" and first["Severity"] == ""
    assert first["CaseKind"] == "repair" and first["EquipmentSerial"] == "MR-DH-0002"
    upserted = [set(e.upsert_workflow_search_attributes_event_attributes
                    .search_attributes.indexed_fields)
                for e in events if e.HasField("upsert_workflow_search_attributes_event_attributes")]
    assert upserted == []
    markers = [e.marker_recorded_event_attributes.marker_name for e in events
               if e.HasField("marker_recorded_event_attributes")]
    assert markers == ["core_local_activity"]  # the intake's record, and no core_patch
