"""The reliability API on PostgreSQL: the figures of a small fleet written as the workflows write
their timelines (repairs that overlap, a pause, a repair across a month boundary, a
working-hours contract over the National Day holidays) equal the ones worked out by hand; a
real repair walked through its workflow is read back with its facts; unknown units and
hospitals are 404, an empty period says so, bad input is 422, and the history import refuses a
bad file whole."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.reliability_fixture import (
    ENGINEER,
    HOTLINE,
    CaseWriter,
    commitment,
    new_site,
    open_repair,
    resolve,
)
from tests.test_api import act, headers, open_case, timeline_of, walk_to

SH = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SH)


def visit(sessions, hospital_id: str, serial: str, due: date, window_ends: datetime,  # type: ignore[no-untyped-def]
          done: datetime | None = None, cancelled: bool = False) -> None:
    opened = datetime(due.year, due.month, due.day, 8, tzinfo=SH)
    writer = CaseWriter(sessions, "maintenance", hospital_id, serial, opened,
                        title="预防性维护")
    writer.commitments = [commitment("visit", opened, window_ends)]
    writer.event("opened", opened, {"due_on": due.isoformat()})
    if done:
        writer.event("report", done, {"cleaning": {"done": True}}, ENGINEER)
    if cancelled:
        writer.event("cancel", opened + timedelta(hours=1), {"reason": "设备停用"}, HOTLINE)


@pytest.fixture(scope="module")
def fleet(sessions) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """November 2025 of a 7x24 unit U (no contract: the defaults) and a unit W on the
    working-hours contract HT-2025-RJ-001, at a hospital of their own."""
    hospital_id, (u,) = new_site(sessions, name="东湖县人民医院 可靠性测试")
    _, (w,) = new_site(sessions, contract="HT-2025-RJ-001")
    with sessions.begin() as session:
        from caseflow.store.models import Equipment

        unit = session.get(Equipment, w)
        assert unit is not None
        unit.hospital_id = hospital_id  # both at one hospital
    repair = open_repair(sessions, hospital_id, u, at(10, 30, 20), "severe")
    repair.event("order-parts", at(10, 31, 9), {"parts": [
        {"part_no": "TUBE-MX", "name": "球管", "quantity": 2}]}, ENGINEER)
    resolve(repair, at(11, 1, 8))
    repair = open_repair(sessions, hospital_id, u, at(11, 10, 9), "general")
    resolve(repair, at(11, 10, 19))
    repair.event("dispute", at(11, 10, 20), {"reason": "图像仍有伪影"}, HOTLINE)
    resolve(repair, at(11, 10, 21))
    repair = open_repair(sessions, hospital_id, u, at(11, 10, 15), "severe")
    repair.event("diagnose", at(11, 10, 16), {"fault_category": "xray_tube"}, ENGINEER)
    resolve(repair, at(11, 10, 18)).event("callback", at(11, 10, 20), {"satisfaction": 5},
                                          HOTLINE)
    repair = open_repair(sessions, hospital_id, u, at(11, 20, 10), "general")
    repair.event("pause", at(11, 20, 12), {"reason": "customer_postponed"}, HOTLINE)
    repair.event("resume", at(11, 21, 12), {}, HOTLINE)
    resolve(repair, at(11, 21, 16)).event("callback", at(11, 21, 18), {"satisfaction": 4},
                                          HOTLINE)
    resolve(open_repair(sessions, hospital_id, u, at(11, 25, 10), "minor"), at(11, 26, 10))
    repair = open_repair(sessions, hospital_id, u, at(11, 28, 9), "severe")
    repair.event("diagnose", at(11, 28, 10), {"fault_category": "xray_tube"}, ENGINEER)
    resolve(repair, at(11, 28, 11)).event("callback", at(11, 28, 12), {"satisfaction": 2},
                                          HOTLINE)
    visit(sessions, hospital_id, u, date(2025, 11, 2), at(11, 16, 8), done=at(11, 5, 10))
    visit(sessions, hospital_id, u, date(2025, 11, 1), at(11, 15, 8), done=at(11, 16, 12))
    visit(sessions, hospital_id, u, date(2025, 11, 9), at(11, 23, 8), cancelled=True)
    visit(sessions, hospital_id, u, date(2025, 11, 25), at(12, 9, 8))  # never done
    # W: severe from Tuesday 30 September 16:00 over the National Day week to 9 October 10:00.
    resolve(open_repair(sessions, hospital_id, w, at(9, 30, 16), "severe"), at(10, 9, 10))
    return {"hospital": hospital_id, "u": u, "w": w}


async def get(api, tokens, path: str, role: str = "manager", **params: Any):  # type: ignore[no-untyped-def]
    response = await api.get(path, params=params, headers=headers(tokens, role))
    return response


async def test_november_figures_equal_the_hand_worked_ones(api, tokens, fleet):
    response = await get(api, tokens, "/v1/reliability/figures", serial=fleet["u"],
                         **{"from": "2025-11-01", "to": "2025-12-01"})
    assert response.status_code == 200, response.text
    report = response.json()
    total = report["total"]
    assert report["empty"] is False and report["note"] is None
    # 720 h less the two visits' 4 h of planned downtime; R1 8 + R2/R3 7.5 + R4 3 + R6 2.
    assert (total["covered_hours"], total["downtime_hours"]) == (712.0, 20.5)
    assert (total["uptime_percent"], total["failures"], total["mtbf_hours"]) == (97.12, 5, 138.3)
    assert (total["restored"], total["mttr_hours"], total["first_time_fix_percent"]) == (
        6, 13.83, 50.0)
    assert (total["repeat_repairs"], total["parts_replaced"]) == (1, 2)
    assert (total["satisfaction"], total["satisfaction_answers"]) == (3.67, 3)
    # Due in November: V1 on time, V2 late, V4 never done (V3 cancelled is not counted).
    assert (total["pm_planned"], total["pm_done"], total["pm_on_time"],
            total["pm_compliance_percent"]) == (3, 2, 1, 33.3)
    assert [g["key"] for g in report["groups"]] == [fleet["u"]]


async def test_uptime_by_month_and_the_working_hours_contract(api, tokens, fleet):
    response = await get(api, tokens, "/v1/reliability/uptime", hospital_id=fleet["hospital"],
                         **{"from": "2025-10-01", "to": "2025-12-01"})
    assert response.status_code == 200, response.text
    by_unit = {u["serial"]: u["points"] for u in response.json()["units"]}
    october, november = by_unit[fleet["u"]]
    assert (october["period"], october["covered_hours"], october["downtime_hours"],
            october["uptime_percent"]) == ("2025-10", 744.0, 28.0, 96.24)
    assert november["uptime_percent"] == 97.12
    # W on Mon-Fri 08:00-17:30 with the holidays: October 2025 has 23 weekdays, 6 of them
    # National Day holidays, and Saturday the 11th worked: 18 x 9.5 = 171 h; down 9 October
    # 08:00-10:00. November: 20 weekdays, 190 h, nothing down.
    w_october, w_november = by_unit[fleet["w"]]
    assert (w_october["covered_hours"], w_october["downtime_hours"],
            w_october["uptime_percent"]) == (171.0, 2.0, 98.83)
    assert (w_november["covered_hours"], w_november["uptime_percent"]) == (190.0, 100.0)
    figures = (await get(api, tokens, "/v1/reliability/figures", serial=fleet["w"],
                         **{"from": "2025-10-01", "to": "2025-11-01"})).json()["total"]
    assert figures["mttr_hours"] == 3.5  # 30 September 16:00-17:30, 9 October 08:00-10:00
    # One model at one hospital: the sums of both units, (691.5 + 190) / (712 + 190).
    (model,) = (await get(api, tokens, "/v1/reliability/figures", hospital_id=fleet["hospital"],
                          by="model", **{"from": "2025-11-01", "to": "2025-12-01"})
                ).json()["groups"]
    assert (model["key"], model["figures"]["units"], model["figures"]["uptime_percent"]) == (
        "GE Revolution CT", 2, 97.73)


async def test_a_unit_page_lists_its_repairs_and_engineers_their_own(api, tokens, fleet):
    response = await get(api, tokens, f"/v1/reliability/units/{fleet['u']}", role="engineer",
                         **{"from": "2025-11-01", "to": "2025-12-01"})
    assert response.status_code == 200, response.text
    unit = response.json()
    assert unit["hospital_name"] == "东湖县人民医院 可靠性测试"
    assert unit["figures"]["uptime_percent"] == 97.12
    assert [p["period"] for p in unit["uptime"]] == ["2025-11"]
    assert len(unit["repairs"]) == 6 and {r["source"] for r in unit["repairs"]} == {"caseflow"}
    assert unit["guarantee"] is None  # no contract, no guarantee
    engineers = (await get(api, tokens, "/v1/reliability/figures", serial=fleet["u"],
                           by="engineer", **{"from": "2025-11-01", "to": "2025-12-01"})).json()
    groups = {g["key"]: g for g in engineers["groups"]}
    zhang, nobody = groups["EN-01"], groups[""]  # V4 was never assigned nor done
    assert (zhang["label"], zhang["figures"]["restored"], zhang["figures"]["pm_done"]) == (
        "张伟", 6, 2)
    assert (nobody["label"], nobody["figures"]["pm_planned"]) == ("—", 1)


async def test_a_walked_repair_is_read_back_from_its_timeline(api, tokens, sessions):
    hospital_id, (serial,) = new_site(sessions)
    observed = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    case_id = await open_case(api, tokens, serial=serial, hospital=hospital_id,
                              severity="severe", observed_at=observed.isoformat())
    for role, action, payload in (("hotline", "pause", {"reason": "customer_postponed"}),
                                  ("hotline", "resume", {})):
        response = await act(api, tokens, case_id, role, action, payload)
        assert response.status_code == 200, response.text
    await walk_to(api, tokens, case_id, "repairing")
    response = await act(api, tokens, case_id, "engineer", "order-parts",
                         {"parts": [{"part_no": "TUBE-MX", "name": "球管", "quantity": 1}]})
    assert response.status_code == 200, response.text
    assert (await act(api, tokens, case_id, "engineer", "parts-arrived", {})).status_code == 200
    await walk_to(api, tokens, case_id, "closed")
    events = {e["event"]: datetime.fromisoformat(e["at"])
              for e in await timeline_of(api, tokens, case_id)}
    down = (events["resolve"] - observed) - (events["resume"] - events["pause"])
    day = datetime.now(SH).date()
    unit = (await get(api, tokens, f"/v1/reliability/units/{serial}",
                      **{"from": (day - timedelta(days=1)).isoformat(),
                         "to": (day + timedelta(days=1)).isoformat()})).json()
    (repair,) = unit["repairs"]
    assert (repair["ref"], repair["source"], repair["severity"], repair["fault_category"],
            repair["open"]) == (case_id, "caseflow", "severe", "xray_tube", False)
    assert datetime.fromisoformat(repair["observed_at"]) == observed
    figures = unit["figures"]
    assert (figures["failures"], figures["restored"], figures["parts_replaced"],
            figures["satisfaction"], figures["first_time_fix_percent"]) == (1, 1, 1, 5.0, 0.0)
    assert figures["downtime_hours"] == round(down.total_seconds() / 3600, 2)
    assert figures["mttr_hours"] == round(down.total_seconds() / 3600, 2)


async def test_unknown_units_and_hospitals_are_404_and_an_empty_period_says_so(api, tokens,
                                                                                fleet):
    for path, params in (("/v1/reliability/figures", {"hospital_id": "H-NOPE"}),
                         ("/v1/reliability/uptime", {"serial": "CT-NOPE"}),
                         ("/v1/reliability/units/CT-NOPE", {}),
                         ("/v1/reliability/guarantees", {"hospital_id": "H-NOPE"}),
                         ("/v1/reliability/patterns", {"hospital_id": "H-NOPE"})):
        response = await get(api, tokens, path, **params)
        assert response.status_code == 404, (path, response.text)
    quiet = (await get(api, tokens, "/v1/reliability/figures", serial=fleet["u"],
                       **{"from": "2025-01-01", "to": "2025-02-01"})).json()
    assert quiet["empty"] is True and quiet["note"] == "no_records"
    assert quiet["total"]["uptime_percent"] == 100.0
    future = (await get(api, tokens, "/v1/reliability/uptime", serial=fleet["u"],
                        **{"from": "2031-01-01", "to": "2031-02-01"})).json()
    assert future["empty"] is True and future["note"] == "no_covered_hours"
    assert future["units"][0]["points"][0]["uptime_percent"] is None
    for params in ({"from": "2025-12-01", "to": "2025-11-01"}, {"by": "colour"},
                   {"from": "2020-01-01", "to": "2025-01-01"}, {"from": "yesterday"}):
        response = await get(api, tokens, "/v1/reliability/figures", **params)
        assert response.status_code == 422, (params, response.text)
    assert (await get(api, tokens, "/v1/reliability/figures", role="hotline")).status_code == 403


async def test_the_history_import_api_refuses_a_bad_file_whole(api, tokens, fleet, sessions):
    from sqlalchemy import func, select

    from caseflow.store.models import ImportedRecord

    tag = f"API{uuid.uuid4().hex[:6]}"
    header = "kind,reference,serial,observed_at,restored_at,severity,fault_category,fault"
    good = f"repair,{tag}-1,{fleet['u']},2024-05-01T09:00:00+08:00,2024-05-01T12:00:00+08:00," \
           "severe,other,主机无法启动"
    bad = f"repair,{tag}-2,{fleet['u']},2024-05-02T09:00:00+08:00,,severe,other,"
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(ImportedRecord))
    body = {"filename": "旧系统.csv", "format": "csv", "content": "\n".join([header, good, bad])}
    response = await api.post("/v1/reliability/history", json=body,
                              headers=headers(tokens, "manager"))
    assert response.status_code == 422, response.text
    assert [{key: item[key] for key in ("loc", "msg", "type")}
            for item in response.json()["detail"]] == [
        {"loc": ["body", "content", 3, "restored_at"], "msg": "line 3: required for a repair",
         "type": "value_error"}]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ImportedRecord)) == before
    body["content"] = "\n".join([header, good])
    response = await api.post("/v1/reliability/history", json=body,
                              headers=headers(tokens, "manager"))
    assert response.status_code == 201, response.text
    assert (response.json()["repairs"], response.json()["visits"]) == (1, 0)
    unit = (await get(api, tokens, f"/v1/reliability/units/{fleet['u']}",
                      **{"from": "2024-05-01", "to": "2024-06-01"})).json()
    (imported,) = unit["repairs"]
    assert (imported["ref"], imported["source"], imported["fault"]) == (
        f"{tag}-1", "imported", "主机无法启动")
    assert unit["figures"]["downtime_hours"] == 3.0
    denied = await api.post("/v1/reliability/history", json=body,
                            headers=headers(tokens, "auditor"))
    assert denied.status_code == 403


async def test_the_cli_reports_the_same_figures_as_the_api(api, tokens, fleet, sessions):
    import json
    import os
    import subprocess
    import sys

    params = {"from": "2025-11-01", "to": "2025-12-01"}
    answer = (await get(api, tokens, "/v1/reliability/figures", hospital_id=fleet["hospital"],
                        by="model", **params)).json()
    env = {**os.environ, "CASEFLOW_LOG_LEVEL": "WARNING",
           "DATABASE_URL": sessions.kw["bind"].url.render_as_string(hide_password=False)}
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "reliability",
                           "--json", "--hospital", fleet["hospital"], "--by", "model",
                           "--from", "2025-11-01", "--to", "2025-12-01"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["groups"] == answer["groups"] and printed["total"] == answer["total"]
