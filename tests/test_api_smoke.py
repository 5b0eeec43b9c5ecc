"""The API opens a repair on PostgreSQL + the dev server and answers its state."""

from __future__ import annotations

from tests.repair_driver import intake


async def test_hotline_opens_a_repair_and_reads_it_back(api, tokens):
    body = intake(severity="general").model_dump(mode="json")
    auth = {"Authorization": f"Bearer {tokens['hotline']}", "Idempotency-Key": "smoke-000001"}
    created = await api.post("/v1/repairs", json=body, headers=auth)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    state = await api.get(f"/v1/cases/{case_id}", headers=auth)
    assert state.status_code == 200, state.text
    assert state.json()["severity"] == "general"
    assert state.json()["intake"]["symptom"] == body["symptom"]
