"""An adverse event's report file, the regulatory board and the SLA report's regulatory section,
over the API on PostgreSQL and the Temporal dev server (a database and namespace of this
module's own: its sealer and outbox drain touch no other test's cases).

An event from a complaint, learned of 16 days ago on a unit registered in CN (20 days) and the
EU (15 days), is classified, investigated, reported to China on time and to the EU a day late,
and closed; once sealed, its report file carries every field 21 CFR 820.198(e) asks for, the
deliberations with their authors, both submissions (on time, late), and the seal it verifies
against, as JSON and as a PDF in Chinese and in English."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from caseflow.api.app import create_app
from caseflow.audit import seal_once, verify_file
from caseflow.config import Settings
from caseflow.store.people import issue_token
from tests.conftest import namespace_of_its_own, running_worker
from tests.postgres import fresh_database
from tests.test_api import headers, new_key, open_case, timeline_of
from tests.test_audit import Stack
from tests.test_complaint_api import complaint_body
from tests.waiting import until

Json = dict[str, Any]
HOLDERS = {"hotline": "HL-01", "supervisor": "SV-01", "engineer": "EN-01", "manager": "MG-01",
           "director": "DR-01", "auditor": "AU-01", "regulatory": "RA-01"}


@pytest.fixture(scope="module")
async def stack(database_url, dev_env) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    client = await namespace_of_its_own(dev_env, "aefile")
    with fresh_database(database_url, "aefile") as (url, sessions):
        with sessions.begin() as session:
            tokens = {role: issue_token(session, holder, "report file")[0]
                      for role, holder in HOLDERS.items()}
        async with running_worker(client, sessions, "aefile") as worker:
            app = create_app(Settings(database_url=url, task_queue=worker.task_queue,
                                      environment="test"), temporal=client)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://caseflow.test", timeout=60) as api:
                yield Stack(api, sessions, url, tokens, client)


async def step(stack: Stack, case_id: str, action: str, payload: Json) -> Json:
    done = await stack.api.post(f"/v1/cases/{case_id}/actions/{action}", json=payload,
                                headers=headers(stack.tokens, "regulatory", new_key()))
    assert done.status_code == 200, (action, done.text)
    return done.json()


async def complaint(stack: Stack) -> str:
    recorded = await stack.api.post("/v1/complaints", json=complaint_body(
        complainant_name="放射科 赵主任", complainant_contact="0571-87776666",
        equipment_serial="CT-DH-0001", category="equipment_failure",
        matter="检查床下降时夹伤患者手指"), headers=headers(stack.tokens, "hotline", new_key()))
    assert recorded.status_code == 201, recorded.text
    case_id = recorded.json()["case_id"]
    await timeline_of(stack.api, stack.tokens, case_id, at_least=1)
    return case_id


async def event(stack: Stack, aware_days_ago: float, **extra: Any) -> str:
    aware = datetime.now(timezone.utc) - timedelta(days=aware_days_ago)
    created = await stack.api.post("/v1/adverse-events", json={
        "hospital_id": "H-DH", "equipment_serial": "CT-DH-0001",
        "event_type": "serious_injury", "description": "检查床下降时夹伤患者手指",
        "patient_harm": "右手食指骨折", "aware_at": aware.isoformat(), **extra},
        headers=headers(stack.tokens, "regulatory", new_key()))
    assert created.status_code == 201, created.text
    return created.json()["case_id"]


async def view(stack: Stack, case_id: str) -> Json:
    found = await stack.api.get(f"/v1/cases/{case_id}", headers=headers(stack.tokens, "auditor"))
    assert found.status_code == 200, found.text
    return found.json()


async def report_file(stack: Stack, case_id: str, role: str = "auditor", **params: str):  # type: ignore[no-untyped-def]
    return await stack.api.get(f"/v1/adverse-events/{case_id}/report-file", params=params,
                               headers=headers(stack.tokens, role))


def pdf_text(content: bytes) -> tuple[str, set[str]]:
    pdf = PdfReader(io.BytesIO(content))
    fonts = {str(font.get("/BaseFont")) for page in pdf.pages
             for font in page["/Resources"]["/Font"].values()}
    # a table cell's text may be broken over lines: read it as one
    return "".join(page.extract_text() for page in pdf.pages).replace("\n", ""), fonts


async def test_a_closed_events_report_file_holds_the_complaint_file_and_verifies_against_its_seal(
        stack, tmp_path: Path):
    origin = await complaint(stack)
    occurred = (datetime.now(timezone.utc) - timedelta(days=17)).replace(microsecond=0)
    case_id = await event(stack, 16, related_case_id=origin, occurred_at=occurred.isoformat())
    opened = await view(stack, case_id)
    aware_at = datetime.fromisoformat(opened["aware_at"])
    due = {r["jurisdiction"]: datetime.fromisoformat(r["due_at"]) for r in opened["reports"]}
    assert due == {"CN": aware_at + timedelta(days=20), "EU": aware_at + timedelta(days=15)}

    unsealed = await report_file(stack, case_id)
    assert unsealed.status_code == 200, unsealed.text
    record = unsealed.json()["record"]
    assert record["sealed"] is False and record["seal"] is None
    assert record["waits_for"] == "sealed once the case is closed"
    states = {r["jurisdiction"]: r["state"] for r in unsealed.json()["reports"]}
    assert states == {"CN": "due", "EU": "overdue"}

    async def eu_breached() -> bool:  # the watcher's timer for a rung already past fires first
        return any(c["key"] == "report:EU" and c["state"] == "breached"
                   for c in (await view(stack, case_id))["commitments"])

    await until(eu_breached, "the EU report's breach recorded before anything is submitted")

    await step(stack, case_id, "classify", {"event_type": "malfunction",
                                            "reason": "复核:器械故障可能导致严重伤害"})
    await step(stack, case_id, "investigate", {
        "findings": "升降电机制动器磨损,床面下降失控", "root_cause": "制动片寿命不足",
        "corrective_action": "更换制动器;同型号全部排查"})
    now = datetime.now(timezone.utc).replace(microsecond=0)
    await step(stack, case_id, "submit", {
        "jurisdiction": "CN", "submitted_at": now.isoformat(),
        "channel": "国家医疗器械不良事件监测信息系统", "reference": "国械监-2026-0042"})
    await step(stack, case_id, "submit", {
        "jurisdiction": "EU", "submitted_at": now.isoformat(), "channel": "NCA MIR form",
        "reference": "MIR-2026-0007"})
    await step(stack, case_id, "close", {"evaluation": "器械相关,已纠正,不再发生",
                                         "reply": "已书面答复赵主任调查结果与整改措施"})
    await stack.client.get_workflow_handle(case_id).result()
    stack.drain()
    assert await seal_once(stack.client, stack.sessions) >= 1

    response = await report_file(stack, case_id)
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["format"] == "caseflow.adverse-event-report-file/1"
    assert found["device"] == {
        "modality": "CT", "brand": found["device"]["brand"], "model": found["device"]["model"],
        "serial": "CT-DH-0001", "udi": "(01)00840682103411(21)CT-DH-0001", "hospital_id": "H-DH",
        "hospital_name": found["device"]["hospital_name"], "jurisdictions": ["CN", "EU"]}
    assert found["device"]["model"] and found["device"]["brand"]
    dates = found["dates"]
    assert datetime.fromisoformat(dates["aware_at"]) == aware_at
    assert datetime.fromisoformat(dates["occurred_at"]) == occurred
    assert [datetime.fromisoformat(d) for d in dates["submissions"]] == [now, now]
    assert dates["closed_at"] is not None
    assert found["complainant"] == {
        "name": "放射科 赵主任", "contact": "0571-87776666", "hospital_id": "H-DH",
        "hospital_name": found["complainant"]["hospital_name"], "department": None,
        "source": "complaint", "source_case_id": origin}
    assert found["nature"] == {"event_type": "malfunction",
                               "description": "检查床下降时夹伤患者手指",
                               "patient_harm": "右手食指骨折"}
    (investigation,) = found["investigations"]
    assert investigation["findings"] == "升降电机制动器磨损,床面下降失控"
    assert investigation["by"]["id"] == "RA-01"
    assert found["corrective_actions"] == ["更换制动器;同型号全部排查"]
    assert found["evaluation"] == "器械相关,已纠正,不再发生"
    assert found["reply"] == "已书面答复赵主任调查结果与整改措施"
    reports = {r["jurisdiction"]: r for r in found["reports"]}
    assert reports["CN"]["state"] == "on_time" and reports["CN"]["late_hours"] is None
    assert reports["CN"]["reference"] == "国械监-2026-0042"
    assert reports["EU"]["state"] == "late" and reports["EU"]["channel"] == "NCA MIR form"
    assert 23 < reports["EU"]["late_hours"] < 25  # due 15 days after an awareness 16 days ago
    assert reports["EU"]["submitted_by"]["id"] == "RA-01"
    steps = [(d["step"], d["by"]["id"]) for d in found["deliberations"]]
    assert steps == [("opened", "RA-01"), ("classify", "RA-01"), ("investigate", "RA-01"),
                     ("submit", "RA-01"), ("submit", "RA-01"), ("close", "RA-01")]
    classified = found["deliberations"][1]
    assert classified["why"] == "复核:器械故障可能导致严重伤害"
    assert classified["data"]["before"] == "serious_injury"
    assert {(e["commitment"], e["level"]) for e in found["escalations"]} >= {("report:EU", 1)}
    record = found["record"]
    assert record["sealed"] is True and record["matches_seal"] is True
    seal = record["seal"]
    assert seal["case_id"] == case_id
    assert (record["state_sha256"], record["timeline_sha256"]) == (
        seal["parts"]["state"], seal["parts"]["timeline"])

    # The file verifies against the seal the database keeps; an altered file does not.
    def written(data: Json, name: str) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        return path

    ok, message = verify_file(written(found, "file.json"), stack.sessions)
    assert ok and case_id in message and "sealed record" in message, message
    reference = json.loads(json.dumps(found))
    reference["reports"][1]["reference"] = "MIR-2026-0008"
    ok, message = verify_file(written(reference, "reference.json"), stack.sessions)
    assert not ok and "its reports differs" in message, message
    source = json.loads(json.dumps(found))
    source["source"]["state"]["evaluation"] = "器械无关"
    ok, message = verify_file(written(source, "source.json"), stack.sessions)
    assert not ok and "its source's state differs" in message, message

    # Printable, in one language at a time, Chinese drawn in the CJK font.
    chinese = await report_file(stack, case_id, format="pdf", lang="zh-CN")
    assert chinese.status_code == 200 and chinese.headers["content-type"] == "application/pdf"
    text, fonts = pdf_text(chinese.content)
    for words in ("不良事件报告档案", case_id, "(01)00840682103411(21)CT-DH-0001", "获知时间",
                  "放射科 赵主任", "检查床下降时夹伤患者手指", "升降电机制动器磨损", "纠正措施",
                  "国械监-2026-0042", "逾期提交", "按时", "复核:器械故障可能导致严重伤害",
                  "吴婷", "已书面答复赵主任", "已封存"):
        assert words in text, words
    assert any("WenQuanYi" in name for name in fonts), fonts
    english = await report_file(stack, case_id, format="pdf", lang="en")
    text, _ = pdf_text(english.content)
    for words in ("Adverse event report file", "Aware at", "submitted late", "on time",
                  "MIR-2026-0007", "Deliberations", "sealed, link"):
        assert words in text, words
    for ours in ("不良事件报告档案", "获知时间", "逾期提交", "决策记录"):
        assert ours not in text, ours


async def test_who_reads_a_report_file_and_of_which_case(stack):
    case_id = await event(stack, 1)
    for role in ("regulatory", "auditor", "manager", "director"):
        assert (await report_file(stack, case_id, role)).status_code == 200, role
    for role in ("hotline", "engineer", "supervisor"):
        refused = await report_file(stack, case_id, role)
        assert refused.status_code == 403, role
    repair = await open_case(stack.api, stack.tokens, severity="general")
    assert (await report_file(stack, repair)).status_code == 404
    assert (await report_file(stack, "AE-19990101-000001")).status_code == 404
    bad = await report_file(stack, case_id, format="docx")
    assert bad.status_code == 422 and "format" in bad.text


async def test_the_board_lists_reports_due_per_jurisdiction_overdue_first(stack):
    overdue = await event(stack, 16)  # EU due a day ago, CN in 4 days
    fresh = await event(stack, 0.5, event_type="death")  # CN in 6.5 days, EU in 9.5

    async def both_listed() -> httpx.Response | None:
        found = await stack.api.get("/v1/regulatory/board",
                                    headers=headers(stack.tokens, "regulatory"))
        assert found.status_code == 200, found.text
        listed = {i["case_id"] for c in found.json()["columns"] for i in c["items"]}
        return found if {overdue, fresh} <= listed else None

    # the API answers the opening before the workflow recorded its commitments
    board = await until(both_listed, "both events' reports on the board")
    columns = {c["jurisdiction"]: c for c in board.json()["columns"]}
    assert list(columns) == ["CN", "US", "EU"]  # the policy's order
    eu = [i for i in columns["EU"]["items"] if i["case_id"] in (overdue, fresh)]
    assert [(i["case_id"], i["overdue"]) for i in eu] == [(overdue, True), (fresh, False)]
    assert eu[0]["remaining_seconds"] < -23 * 3600 and eu[1]["remaining_seconds"] > 9 * 86400
    assert eu[1]["event_type"] == "death" and eu[0]["report"] == "initial"
    cn = [i for i in columns["CN"]["items"] if i["case_id"] in (overdue, fresh)]
    assert [i["case_id"] for i in cn] == [overdue, fresh]  # 4 days left, then 6.5
    assert not any(i["overdue"] for i in cn)
    everything = [i for c in board.json()["columns"] for i in c["items"]]
    for column in board.json()["columns"]:
        flags = [i["overdue"] for i in column["items"]]
        assert flags == sorted(flags, reverse=True), column["jurisdiction"]  # overdue first
        assert column["overdue"] == sum(flags) and column["due"] == len(flags)
    assert all(i["commitment"].startswith(("report:", "follow_up:")) for i in everything)

    # Reported to the EU: gone from its column, still due in China's.
    await step(stack, overdue, "submit", {
        "jurisdiction": "EU", "submitted_at": datetime.now(timezone.utc).isoformat(),
        "channel": "EUDAMED", "reference": "MIR-77"})
    board = (await stack.api.get("/v1/regulatory/board",
                                 headers=headers(stack.tokens, "manager"))).json()
    columns = {c["jurisdiction"]: c for c in board["columns"]}
    assert overdue not in {i["case_id"] for i in columns["EU"]["items"]}
    assert overdue in {i["case_id"] for i in columns["CN"]["items"]}
    for role in ("hotline", "engineer"):
        refused = await stack.api.get("/v1/regulatory/board", headers=headers(stack.tokens, role))
        assert refused.status_code == 403, role


async def test_the_sla_report_counts_reports_on_time_late_and_open_overdue(stack):
    late = await event(stack, 16)  # EU overdue
    await step(stack, late, "submit", {
        "jurisdiction": "CN", "submitted_at": datetime.now(timezone.utc).isoformat(),
        "channel": "国家医疗器械不良事件监测信息系统", "reference": "国械监-1"})
    await step(stack, late, "submit", {
        "jurisdiction": "EU", "submitted_at": datetime.now(timezone.utc).isoformat(),
        "channel": "EUDAMED", "reference": "MIR-1"})
    overdue = await event(stack, 16, event_type="malfunction")

    async def recorded_breach() -> bool:
        found = await view(stack, overdue)
        return any(c["key"] == "report:EU" and c["state"] == "breached"
                   for c in found["commitments"])

    await until(recorded_breach, "the EU report of the second event recorded as breached")

    async def report() -> Json:
        found = await stack.api.get("/v1/reports/sla", params={"kind": "adverse_event"},
                                    headers=headers(stack.tokens, "regulatory"))
        assert found.status_code == 200, found.text
        return found.json()

    async def projected() -> bool:
        rows = (await report())["regulatory"]
        return any(r["jurisdiction"] == "EU" and r["event_type"] == "malfunction"
                   and r["breached_open"] for r in rows)

    await until(projected, "the breach in the case rows the report reads")
    rows = {(r["jurisdiction"], r["event_type"], r["report"]): r
            for r in (await report())["regulatory"]}
    serious = rows[("EU", "serious_injury", "initial")]
    assert serious["met_late"] >= 1 and serious["reports"] == serious["events"]
    assert rows[("CN", "serious_injury", "initial")]["met"] >= 1
    malfunction = rows[("EU", "malfunction", "initial")]
    assert malfunction["breached_open"] >= 1
    for row in rows.values():
        decided = row["met"] + row["met_late"] + row["breached_open"]
        assert row["reports"] == decided + row["open"]
        assert row["met_percent"] == (round(100 * row["met"] / decided, 1) if decided else None)

    download = await stack.api.get("/v1/reports/sla.csv", params={
        "kind": "adverse_event", "section": "regulatory"},
        headers=headers(stack.tokens, "auditor"))
    assert download.status_code == 200, download.text
    lines = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert {(r["jurisdiction"], r["event_type"], r["report"]) for r in lines} == set(rows)
    assert "sla-regulatory-" in download.headers["content-disposition"]
    unknown = await stack.api.get("/v1/reports/sla.csv", params={"section": "x"},
                                  headers=headers(stack.tokens, "auditor"))
    assert unknown.status_code == 422

    printed = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "sla", "--kind",
                              "adverse_event"], capture_output=True, text=True,
                             env=stack.env() | {"COLUMNS": "100"}, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert "reports to regulators" in printed.stdout
    line = next(x for x in printed.stdout.splitlines()
                if x.split()[:3] == ["EU", "malfunction", "initial"])
    assert line.split()[-2] == str(malfunction["breached_open"]), line
