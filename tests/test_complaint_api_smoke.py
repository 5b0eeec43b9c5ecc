"""A complaint recorded over the API reads back, and takes its first steps over the API."""

from __future__ import annotations

import uuid

from tests.complaint_driver import complaint_intake


async def test_front_desk_records_a_complaint_and_reads_it_back(api, tokens):
    body = complaint_intake(related_case_id=None, equipment_serial="CT-DH-0001")
    auth = {"Authorization": f"Bearer {tokens['hotline']}"}
    created = await api.post("/v1/complaints", json=body.model_dump(mode="json"),
                             headers=auth | {"Idempotency-Key": f"cp-{uuid.uuid4()}"})
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    assert case_id.startswith("CP-")
    state = await api.get(f"/v1/cases/{case_id}", headers=auth)
    assert state.status_code == 200, state.text
    assert state.json()["kind"] == "complaint"
    assert state.json()["intake"]["matter"] == body.matter
    step = await api.post(f"/v1/cases/{case_id}/actions/first-feedback", headers=auth | {
        "Idempotency-Key": f"cp-{uuid.uuid4()}"}, json={"note": "已受理,10日内答复"})
    assert step.status_code == 200, step.text
    assert {c["key"]: c["state"] for c in step.json()["commitments"]}["first_feedback"] == "met"
