"""Installations, equipment records and maintenance plans over the HTTP API (PostgreSQL, the
Temporal dev server, a worker)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from caseflow.domain.maintenance import plan_id
from tests.installation_driver import IN_SPEC, TRAINING, site
from tests.test_api import act, headers, locs, new_key, refused, timeline_of

Json = dict[str, Any]


def body(**extra: Any) -> Json:
    return {"hospital_id": "H-DH", "serial": f"CT-A{uuid.uuid4().hex[:8]}", "modality": "CT",
            "brand": "联影 United Imaging", "model": "uCT 960+", "department": "放射科",
            "location": "医技楼1层", "contract_code": "HT-2025-RJ-001",
            "delivery_due_at": (datetime.now().astimezone() + timedelta(days=7)).isoformat(),
            "contact_name": "设备科 吴工", "contact_phone": "0571-88880000", **extra}


async def order(api: httpx.AsyncClient, tokens: dict[str, str], payload: Json,
                role: str = "supervisor", key: str | None = None) -> httpx.Response:
    return await api.post("/v1/installations", json=payload,
                          headers=headers(tokens, role, key or new_key()))


async def equipment(api: httpx.AsyncClient, tokens: dict[str, str], serial: str,
                    role: str = "auditor") -> httpx.Response:
    return await api.get(f"/v1/equipment/{serial}", headers=headers(tokens, role))


async def test_an_order_registers_the_unit_as_installing_and_is_idempotent(api, tokens):
    payload, key = body(), new_key()
    first = await order(api, tokens, payload, key=key)
    again = await order(api, tokens, payload, key=key)
    assert (first.status_code, again.status_code) == (201, 200), first.text
    case_id = first.json()["case_id"]
    assert case_id.startswith("IN-") and again.json()["case_id"] == case_id
    other = await order(api, tokens, body(serial=payload["serial"]), key=key)
    assert other.status_code == 422 and locs(other) == [["header", "Idempotency-Key"]]
    record = (await equipment(api, tokens, payload["serial"])).json()
    assert record["status"] == "installing" and record["plan"] is None
    assert record["in_warranty"] is False and record["model"] == "uCT 960+"
    assert [c["case_id"] for c in record["cases"]] == [case_id]
    view = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))).json()
    assert view["kind"] == "installation" and view["status"] == "ordered"
    assert {c["key"] for c in view["commitments"]} == {"site_assessment", "delivery"}


async def test_bad_orders_name_the_field_and_write_nothing(api, tokens):
    cases = [
        (body(serial="CT-DH-0001"), ["body", "serial"]),  # registered already
        (body(hospital_id="H-NOPE"), ["body", "hospital_id"]),
        (body(contract_code="HT-2024-JB-007"), ["body", "contract_code"]),  # another hospital's
        (body(delivery_due_at="2027-01-04T09:00:00"), ["body", "delivery_due_at"]),
        (body(modality="PET"), ["body", "modality"]),
        (body(serial="CT-" + "9" * 120), ["body", "serial"]),
        (body(brand="联" * 101), ["body", "brand"]),
        (body(delivery_due_at="2020-01-04T09:00:00+08:00"), ["body", "delivery_due_at"]),
        (body(colour="red"), ["body", "colour"]),
    ]
    for payload, loc in cases:
        response = await order(api, tokens, payload)
        assert response.status_code == 422, (payload, response.text)
        assert locs(response) == [loc], response.text
        if payload["serial"] != "CT-DH-0001" and len(payload["serial"]) <= 100:
            assert (await equipment(api, tokens, payload["serial"])).status_code == 404
    for role in ("hotline", "engineer", "auditor"):
        assert (await order(api, tokens, body(), role=role)).status_code == 403


async def test_an_installation_walks_to_acceptance_and_the_plan_can_be_paused(api, tokens,
                                                                              dev_env):
    payload = body()
    serial = payload["serial"]
    case_id = (await order(api, tokens, payload)).json()["case_id"]
    for _ in range(100):  # the order is on the timeline
        if await timeline_of(api, tokens, case_id):
            break
        await asyncio.sleep(0.05)
    await refused(api, tokens, case_id, "engineer", "assess-site", site(), 403)  # not the lead
    await refused(api, tokens, case_id, "supervisor", "deliver", {}, 409)
    await refused(api, tokens, case_id, "supervisor", "assign", {"engineer_id": "HL-01"}, 422)
    steps: list[tuple[str, str, Json, str]] = [
        ("supervisor", "assign", {"engineer_id": "EN-01"}, "ordered"),
        ("engineer", "assess-site", site(), "site_ready"),
        ("engineer", "deliver", {}, "delivered"),
        ("engineer", "install", {}, "installed"),
        ("engineer", "commission", {}, "commissioned"),
        ("engineer", "verify", {"parameters": IN_SPEC}, "verified"),
        ("engineer", "train", TRAINING, "trained"),
        ("manager", "sign", {"party": "vendor", "signer_name": "赵敏", "signature_ref": "v.pdf"},
         "trained"),
        ("hotline", "sign", {"party": "hospital", "signer_name": "吴工",
                             "signature_ref": "h.pdf"}, "accepted"),
    ]
    for role, action, step, status in steps:
        response = await act(api, tokens, case_id, role, action, step)
        assert response.status_code == 200, (action, response.text)
        assert response.json()["status"] == status, action
    for _ in range(100):
        record = (await equipment(api, tokens, serial)).json()
        if record["plan"] is not None:
            break
        await asyncio.sleep(0.1)
    assert record["status"] == "in_service" and record["in_warranty"] is True
    assert record["warranty_start"] == record["in_service_on"]
    assert record["warranty_end"] > record["warranty_start"]
    plan = record["plan"]
    assert plan["status"] == "active" and plan["interval_days"] == 90
    assert len(plan["upcoming"]) == 4 and plan["origin_case_id"] == case_id

    path = f"/v1/equipment/{serial}/plan"
    paused = await api.post(f"{path}/pause", json={"reason": "球管更换停机"},
                            headers=headers(tokens, "manager"))
    assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
    again = await api.post(f"{path}/pause", json={"reason": "再次"},
                           headers=headers(tokens, "manager"))
    assert again.status_code == 409 and "resume" in again.json()["detail"]
    assert (await api.post(f"{path}/resume", json={"reason": "x"},
                           headers=headers(tokens, "engineer"))).status_code == 403
    empty = await api.post(f"{path}/resume", json={"reason": ""},
                           headers=headers(tokens, "manager"))
    assert empty.status_code == 422 and locs(empty) == [["body", "reason"]]
    assert (await api.post(f"{path}/stop", json={"reason": "x"},
                           headers=headers(tokens, "manager"))).status_code == 422
    record = (await equipment(api, tokens, serial)).json()
    assert record["status"] == "out_of_service" and "球管更换停机" in record["status_reason"]
    ended = await api.post(f"{path}/end", json={"reason": "测试结束"},
                           headers=headers(tokens, "manager"))
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    await dev_env.client.get_workflow_handle(plan_id(serial)).result()  # the plan has ended
    after = await api.post(f"{path}/resume", json={"reason": "x"},
                           headers=headers(tokens, "manager"))
    assert after.status_code == 409, after.text


async def test_equipment_reads(api, tokens):
    record = await equipment(api, tokens, "CT-DH-0001", role="engineer")
    assert record.status_code == 200
    found = record.json()
    assert found["hospital_name"].startswith("东湖县人民医院") and found["plan"] is None
    assert found["warranty_end"] == "2027-03-14"
    assert found["contract_code"] == "HT-2025-RJ-001"
    contract = found["contract"]
    assert (contract["code"], contract["starts_on"], contract["ends_on"]) == (
        "HT-2025-RJ-001", "2025-01-01", "2027-12-31")
    assert (contract["warranty_months"], contract["maintenance_interval_days"]) == (24, 90)
    assert contract["in_force"] is (date.today() <= date(2027, 12, 31))
    assert (await equipment(api, tokens, "CT-NOPE-0000")).status_code == 404
    assert (await api.get("/v1/equipment/CT-DH-0001")).status_code == 401
    missing = await api.post("/v1/equipment/CT-DH-0001/plan/pause", json={"reason": "停机"},
                             headers=headers(tokens, "manager"))
    assert missing.status_code == 404 and missing.json()["code"] == "UnknownRecord"


async def test_a_cancelled_or_never_started_order_frees_its_serial(api, tokens, sessions):
    payload = body()
    serial = payload["serial"]
    case_id = (await order(api, tokens, payload)).json()["case_id"]
    again = await order(api, tokens, body(serial=serial))  # a live order holds the serial
    assert again.status_code == 422 and locs(again) == [["body", "serial"]]
    for _ in range(100):
        if await timeline_of(api, tokens, case_id):
            break
        await asyncio.sleep(0.05)
    cancelled = await act(api, tokens, case_id, "manager", "cancel", {"reason": "医院取消订单"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    for _ in range(100):
        record = (await equipment(api, tokens, serial)).json()
        if record["status"] == "cancelled":
            break
        await asyncio.sleep(0.1)
    assert record["status"] == "cancelled" and "医院取消订单" in record["status_reason"]
    reordered = await order(api, tokens, body(serial=serial))
    assert reordered.status_code == 201, reordered.text
    assert (await equipment(api, tokens, serial)).json()["status"] == "installing"

    # A unit left `installing` by an order whose workflow never started (its case row was
    # freed) can be ordered again too.
    from caseflow.store.models import Equipment

    orphan = f"CT-O{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Equipment(serial=orphan, hospital_id="H-DH", modality="CT", brand="GE",
                              model="x", department="放射科", status="installing"))
    assert (await order(api, tokens, body(serial=orphan))).status_code == 201
