"""The console's SLA report, a unit's page and the board following a breach, in headless
Chromium against the API over HTTP (PostgreSQL, the shared Temporal dev server and worker).
Severe repairs on this module's contract must be on site within 12 s, warned at a quarter of
it, so a deadline runs out while the browser watches: the board moves the case from at risk to
breached by itself; the SLA report shows it met, breached and escalated by kind, severity,
hospital and commitment, with its CSV; a unit's page shows its contract, plan, visits and
cases, linked both ways with the case page; each in zh-CN and in English, one at a time."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.async_api import Page

import caseflow
from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.domain.enums import Role
from caseflow.domain.maintenance import PlanChangeRecord, PlannedVisit, PlanStart, plan_id
from caseflow.domain.records import SYSTEM, Actor
from caseflow.store.models import Contract, Equipment, Hospital
from caseflow.workflows.maintenance_plan import MaintenancePlanWorkflow
from tests.console_driver import context, served, signed_in
from tests.postgres import free_port
from tests.test_api import headers, intake_body, new_key, timeline_of, walk_to
from tests.test_console import OWN_TEXT, foreign_words

CONTRACT = "HT-CONSOLE-FAST"
ARRIVAL_SECONDS = 12
# A hang guard for what the workflows do on their own: the breach comes ARRIVAL_SECONDS after
# intake; this only bounds how long a broken build waits for it.
WAIT_MS = 60_000
MANAGER = Actor(id="MG-01", name="服务经理 陈静", role=Role.manager)


def fast_policy(folder: Path) -> Path:
    """The default policy, with CONTRACT's severe repairs due on site in 12 s, warned at 25%."""
    raw = yaml.safe_load((Path(caseflow.__file__).parent / "policy" / "default.yaml")
                         .read_text("utf-8"))
    raw["contracts"] = {**(raw.get("contracts") or {}), CONTRACT: {
        "ladder": {"warning_at": 0.25},
        "repair": {"arrival": {"severe": {"within": f"{ARRIVAL_SECONDS}s"}}}}}
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def new_site(sessions, name: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A hospital of its own with one CT under CONTRACT: (hospital id, serial)."""
    hospital_id, serial = f"H-K{uuid.uuid4().hex[:8]}", f"CT-K{uuid.uuid4().hex[:8]}"
    today = datetime.now(timezone.utc).date()
    with sessions.begin() as session:
        session.add(Hospital(id=hospital_id, name=name))
        session.flush()
        if session.get(Contract, CONTRACT) is None:
            session.add(Contract(code=CONTRACT, hospital_id=hospital_id, starts_on=date(2025, 1, 1),
                                 ends_on=date(2035, 12, 31), warranty_months=18,
                                 maintenance_interval_days=60))
            session.flush()
        session.add(Equipment(serial=serial, hospital_id=hospital_id, contract_code=CONTRACT,
                              modality="CT", brand="GE", model="Revolution CT", department="放射科",
                              install_date=today - timedelta(days=200),
                              warranty_start=today - timedelta(days=200),
                              warranty_end=today + timedelta(days=340)))
    return hospital_id, serial


@pytest.fixture(scope="module")
async def console(database_url, dev_env, dev_worker, tmp_path_factory) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test",
                        policy_file=fast_policy(tmp_path_factory.mktemp("console-reports")))
    async with served(create_app(settings, temporal=dev_env.client), free_port()) as base:
        yield base



async def open_repair(base: str, tokens: dict[str, str], hospital_id: str, serial: str,
                      severity: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        created = await client.post("/v1/repairs", headers=headers(tokens, "hotline", new_key()),
                                    json=intake_body(serial=serial, hospital=hospital_id,
                                                     severity=severity))
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        await timeline_of(client, tokens, case_id, at_least=2)
        return case_id


async def breached(base: str, tokens: dict[str, str], case_id: str) -> dict[str, Any]:
    """The case once its arrival is breached (the workflow's timer, ARRIVAL_SECONDS after
    intake), polled; the level-1 escalation recorded with it."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(WAIT_MS // 250):
            view = (await client.get(f"/v1/cases/{case_id}",
                                     headers=headers(tokens, "auditor"))).json()
            arrival = next(c for c in view["commitments"] if c["key"] == "arrival")
            if arrival["state"] == "breached" and arrival["escalation_level"] >= 1:
                return view
            await asyncio.sleep(0.25)
    raise AssertionError(f"{case_id}: no breach in {WAIT_MS} ms")


@pytest.fixture(scope="module")
async def site(console, tokens, sessions, dev_env, dev_worker) -> AsyncIterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A hospital whose unit has a closed general repair (every deadline kept), a severe repair
    left unassigned (its 12-second arrival breaches), and a maintenance plan carrying a visit
    not opened (worded as plans before the codes wrote it) and a pause."""
    hospital_id, serial = new_site(sessions, "报表控制台医院")
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        kept = await open_repair(console, tokens, hospital_id, serial, "general")
        await walk_to(client, tokens, kept, "closed")
    late = await open_repair(console, tokens, hospital_id, serial, "severe")
    today = datetime.now(timezone(timedelta(hours=8))).date()
    paused_at = datetime.now(timezone.utc) - timedelta(days=70)
    plan = await dev_env.client.start_workflow(
        MaintenancePlanWorkflow.run, PlanStart(
            serial=serial, hospital_id=hospital_id, interval_days=60,
            first_due=today - timedelta(days=60), next_due=today + timedelta(days=30),
            opened_by=SYSTEM,
            visits=[PlannedVisit.model_validate({"due_on": today - timedelta(days=60),
                                                 "case_id": None, "note": "计划暂停,未开立"})],
            changes=[PlanChangeRecord(change="pause", reason="球管更换停机", by=MANAGER,
                                      at=paused_at),
                     PlanChangeRecord(change="resume", reason="恢复使用", by=MANAGER,
                                      at=paused_at + timedelta(days=20))]),
        id=plan_id(serial), task_queue=dev_worker.task_queue)
    yield {"hospital": hospital_id, "serial": serial, "kept": kept, "late": late}
    await plan.terminate("the test is over")


async def watching(made, base: str, token: str, where: str) -> Page:  # type: ignore[no-untyped-def]
    page = await signed_in(made, base, token)
    await page.goto(f"{base}/console/{where}")
    await page.wait_for_selector("main .page h1")
    await page.wait_for_selector("#live-state.live")
    return page


async def test_the_board_moves_a_case_from_at_risk_to_breached_by_itself(
        console, chromium, tokens, sessions):
    """The manager's board of a hospital is open; a severe repair is opened through the API:
    it turns up at risk when its warning fires, then breached with the counters changed, by
    the live feed alone (the page is never reloaded)."""
    hospital_id, serial = new_site(sessions, "看板超时测试医院")
    made = await context(chromium)
    page = await watching(made, console, tokens["manager"], f"#/board/{hospital_id}")
    await page.evaluate("window.notReloaded = true")
    at_risk = "section:has(h2:text-is('即将超时的承诺'))"
    overdue = "section:has(h2:text-is('已超时的承诺'))"
    assert await page.inner_text(".counter.breached .value") == "0"

    case_id = await open_repair(console, tokens, hospital_id, serial, "severe")
    link = f"a.case-id[href='#/case/{case_id}']"
    await page.wait_for_selector(f"{at_risk} {link}", timeout=WAIT_MS)
    assert await page.inner_text(".counter.risk .value") == "1"
    assert await page.locator(f"{overdue} {link}").count() == 0
    assert "到场/远程接入" in await page.inner_text(f"{at_risk} tr:has({link})")

    await page.wait_for_selector(f"{overdue} {link}", timeout=WAIT_MS)
    await page.wait_for_selector(f"{at_risk} {link}", state="detached")
    await page.wait_for_function(
        "document.querySelector('.counter.breached .value').textContent === '1'")
    assert await page.inner_text(".counter.risk .value") == "0"
    assert await page.inner_text(f".card.breached[data-case='{case_id}'] a.case-id") == case_id
    assert await page.evaluate("window.notReloaded === true"), "the page was never reloaded"
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await made.close()


def met_percent(rows: list[dict[str, Any]]) -> str:
    """Met on time of decided over rows, as the page sums them."""
    met = sum(r["met"] for r in rows)
    decided = sum(r["met"] + r["met_late"] + r["breached_open"] for r in rows)
    return f"{round(1000 * met / decided) / 10:g}%" if decided else "–"


async def test_the_sla_report_by_kind_severity_hospital_and_commitment_with_its_csv(
        console, chromium, tokens, site):
    await breached(console, tokens, site["late"])
    hospital_id = site["hospital"]
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        report = (await client.get("/v1/reports/sla", params={"hospital_id": hospital_id},
                                   headers=headers(tokens, "manager"))).json()
    made = await context(chromium, timezone="UTC")
    page = await signed_in(made, console, tokens["manager"])
    await page.click("nav a[href='#/sla']")
    await page.wait_for_selector("h1:text('SLA 达成报表')")
    await page.wait_for_selector("#sla-counters")
    await page.evaluate("document.querySelector('#sla-counters').dataset.before = 'all hospitals'")
    await page.select_option("#sla-hospital", hospital_id)
    await page.click("#sla-form button[type=submit]")
    await page.wait_for_selector("#sla-counters:not([data-before])")
    assert f"/{hospital_id}/" in page.url

    def cell(group: str, key: str) -> str:
        return f".sla-group[data-group={group}] .met-percent[data-key='{key}']"

    await page.wait_for_selector(cell("hospital", hospital_id))
    assert await page.inner_text("#sla-counters .counter.open .value") == "2"  # cases opened
    assert await page.inner_text(cell("commitment", "repair/arrival")) == "50%"  # kept, breached
    assert await page.inner_text(cell("severity", "severe")) == "0%"
    assert await page.inner_text(cell("hospital", hospital_id)) == met_percent(report["rows"])
    assert await page.inner_text(cell("kind", "repair")) == met_percent(report["rows"])
    level_one = ".sla-group[data-group=levels] .level-count[data-level='1']"
    assert await page.inner_text(level_one) == "1"  # the supervisor, once
    mttr = await page.inner_text(".sla-group[data-group=mttr] .mttr[data-severity=general]")
    assert float(mttr) == report["mean_hours_to_restore"]["general"]
    assert await page.locator(".sla-group svg.chart").count() == 6
    hospital_label = page.locator(".sla-group[data-group=hospital] svg text[translate=no]")
    assert await hospital_label.first.text_content() == "报表控制台医院"
    await page.click("#sla-details summary")
    assert "到场/远程接入" in await page.inner_text("#sla-details")

    async with page.expect_download() as downloading:
        await page.click("#sla-csv")
    download = await downloading.value
    raw = open(await download.path(), "rb").read()  # type: ignore[arg-type]
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["hospital_id"] for r in rows} == {hospital_id}
    arrival = [r for r in rows if r["commitment"] == "arrival"]
    assert sorted((r["severity"], r["met"], r["breached_open"]) for r in arrival) == [
        ("general", "1", "0"), ("severe", "0", "1")]

    await page.click("#lang")
    await page.wait_for_selector("h1:text('SLA report')")
    await page.wait_for_selector(cell("hospital", hospital_id))
    assert await page.inner_text(cell("commitment", "repair/arrival")) == "50%"
    text = await page.inner_text("main")
    assert "By severity" in text and "Escalations by level" in text and "on site or connected" in text
    assert foreign_words(await page.evaluate(OWN_TEXT), "en") == []
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await made.close()


async def test_a_bad_period_is_said_on_the_page_and_asks_nothing(console, chromium, tokens):
    made = await context(chromium)
    page = await signed_in(made, console, tokens["supervisor"])
    await page.goto(f"{console}/console/#/sla/2026-11-30/2026-11-01//")
    await page.wait_for_selector("[role=alert]:text('开始日期不能晚于结束日期')")
    assert await page.locator(".sla-group").count() == 0
    await page.goto(f"{console}/console/#/sla/2026-11-01/2026-11-30/H-NO-SUCH/")
    await page.wait_for_selector("[role=alert]:has-text('未找到')")
    await made.close()


async def test_a_units_page_from_the_case_page_and_back(console, chromium, tokens, site):
    """From a case, its serial opens the unit's page: where it is, its warranty and contract,
    its plan with the visit not opened and the pause, every case of it; a case there opens
    its page. The same in English, and for an engineer."""
    serial = site["serial"]
    made = await context(chromium)
    page = await signed_in(made, console, tokens["manager"])
    await page.goto(f"{console}/console/#/case/{site['kept']}")
    await page.click(f".summary-box a.serial[data-serial='{serial}']")
    await page.wait_for_selector(f"h1:has-text('{serial}')")
    assert "设备" in await page.inner_text("h1")
    assert await page.inner_text("h1 .unit-status") == "在用"
    assert await page.inner_text("h1 .warranty") == "在保"
    facts = await page.inner_text("main")
    assert "报表控制台医院" in facts and "CT GE Revolution CT" in facts
    assert await page.inner_text("#contract-code") == CONTRACT
    contract = await page.inner_text("section:has(h2:text-is('服务合同'))")
    assert "2025-01-01 – 2035-12-31" in contract and "执行中" in contract and "18" in contract
    plan = await page.inner_text(".plan")
    assert "执行中" in plan and "未开单" in plan and "计划暂停,未开立" in plan
    assert "暂停计划" in plan and "球管更换停机" in plan and "恢复计划" in plan
    cases = page.locator("section:has(h2:text-is('该设备的全部工单'))")
    for case_id in (site["kept"], site["late"]):
        assert await cases.locator(f"a.case-id[href='#/case/{case_id}']").count() == 1
    assert "已结案" in await cases.locator(f"tr:has(a[href='#/case/{site['kept']}'])").inner_text()
    reliability = page.locator("#unit-reliability")
    assert (await reliability.get_attribute("href") or "").startswith(
        f"#/reliability/{site['hospital']}/")
    await cases.locator(f"a.case-id[href='#/case/{site['late']}']").click()
    await page.wait_for_selector(f"h1:has-text('{site['late']}')")
    # its arrival (12 s) breaches: the state is worded, in Chinese (the page follows it live)
    await page.wait_for_selector(".badge.state-breached:text('已超时')", timeout=30_000)
    assert foreign_words(await page.evaluate(OWN_TEXT), "zh-CN") == []

    await page.goto(f"{console}/console/#/equipment/{serial}")
    await page.click("#lang")
    await page.wait_for_selector("h1:text('Unit')")
    text = await page.inner_text("main")
    assert "Service contract" in text and "Every case of the unit" in text and "in warranty" in text
    assert "the plan was paused: not opened" in text, "the plan's own note in English"
    assert foreign_words(await page.evaluate(OWN_TEXT), "en") == []
    await page.click("#lang")
    await page.wait_for_selector("h1:has-text('设备')")
    await page.goto(f"{console}/console/#/equipment/CT-NO-SUCH")
    await page.wait_for_selector("h1:text('出错了')")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]

    engineer = await signed_in(made, console, tokens["engineer"])
    await engineer.goto(f"{console}/console/#/equipment/{serial}")
    await engineer.wait_for_selector(f"h1:has-text('{serial}')")
    assert await engineer.locator("#unit-reliability").count() == 0, "no reports for an engineer"
    assert foreign_words(await engineer.evaluate(OWN_TEXT), "zh-CN") == []
    await made.close()


async def test_a_manager_pauses_and_resumes_the_units_plan_from_its_page(
        console, chromium, tokens, site):
    """The plan's buttons offer what its status allows; pausing asks a reason, the plan shows
    it paused with the reason, and resuming brings it back. An engineer sees no buttons."""
    serial = site["serial"]
    made = await context(chromium)
    page = await signed_in(made, console, tokens["manager"])
    await page.goto(f"{console}/console/#/equipment/{serial}")
    await page.wait_for_selector(".plan[data-status='active']")
    buttons = page.locator(".plan-actions button")
    assert await buttons.evaluate_all("b => b.map(x => x.dataset.change)") == ["pause", "end"]
    await page.click(".plan-actions button[data-change='pause']")
    await page.click("dialog.plan-dialog button[type='submit']")  # no reason: the form stops it
    assert await page.locator("dialog.plan-dialog").count() == 1
    await page.fill("#plan-reason", "探测器更换,停机两周")
    await page.click("dialog.plan-dialog button[type='submit']")
    await page.wait_for_selector(".plan[data-status='paused']")
    plan = await page.inner_text(".plan")
    assert "探测器更换,停机两周" in plan
    assert await buttons.evaluate_all("b => b.map(x => x.dataset.change)") == ["resume", "end"]
    assert foreign_words(await page.evaluate(OWN_TEXT), "zh-CN") == []
    await page.click(".plan-actions button[data-change='resume']")
    await page.fill("#plan-reason", "已恢复使用")
    await page.click("dialog.plan-dialog button[type='submit']")
    await page.wait_for_selector(".plan[data-status='active']")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]

    engineer = await signed_in(made, console, tokens["engineer"])
    await engineer.goto(f"{console}/console/#/equipment/{serial}")
    await engineer.wait_for_selector(".plan")
    assert await engineer.locator(".plan-actions").count() == 0
    await made.close()


async def test_a_manager_previews_and_applies_a_policy_migration_on_its_page(
        console, chromium, tokens, sessions, tmp_path):
    hospital_id, serial = new_site(sessions, "迁移控制台医院")
    case_id = await open_repair(console, tokens, hospital_id, serial, "general")
    raw = yaml.safe_load(fast_policy(tmp_path).read_text("utf-8"))
    raw["version"] = "console-migration"
    raw["contracts"][CONTRACT]["repair"]["restore"] = {"general": {"within": "96h"}}
    made = await context(chromium)
    page = await signed_in(made, console, tokens["manager"])
    await page.click("nav a[href='#/migrations']")
    await page.wait_for_selector("h1:text('政策迁移')")
    await page.fill("#migration-policy", yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    await page.fill("#migration-cases", case_id)
    await page.click("#migration-preview")
    await page.wait_for_selector("#migration-apply")
    assert "#/migrations/PM-" in page.url
    row = page.locator("tbody tr", has_text=case_id)
    assert "修复" in await row.inner_text() and "待迁移" in await row.inner_text()
    assert foreign_words(await page.evaluate(OWN_TEXT), "zh-CN") == []
    await page.fill("#migration-reason", "合同续签:一般故障96小时修复")
    await page.click("#migration-apply button[type=submit]")
    await page.wait_for_selector("#migration-state:has-text('已完成')", timeout=WAIT_MS)
    assert "已迁移 1" in await page.inner_text("#migration-state")
    assert page.errors == []  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        events = [e for e in await timeline_of(client, tokens, case_id)
                  if e["event"] == "policy_migrated"]
    assert [e["data"]["reason"] for e in events] == ["合同续签:一般故障96小时修复"]
    await made.close()
