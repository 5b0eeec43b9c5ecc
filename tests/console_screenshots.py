"""Screenshots of every page of the console for docs/console/*.png (`make screenshots`, or
`python -m tests.console_screenshots [FOLDER]`): a throwaway PostgreSQL, the Temporal dev server,
a worker and the API over HTTP, a few demo cases opened and walked through the API, then each
page in headless Chromium at 1280x800 (and two at phone width), in zh-CN and one in English."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml
from playwright.async_api import Page
from temporalio.testing import WorkflowEnvironment

from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.store.db import make_engine, make_sessions, migrate
from caseflow.store.demo_history import import_demo_history
from caseflow.store.people import issue_token
from caseflow.store.seed import TOKEN_HOLDERS, demo_rosters, load_reference_data
from caseflow.temporal import DATA_CONVERTER, binary, ensure_search_attributes
from tests.conftest import running_worker
from tests.console_driver import PHONE, browser, context, served, signed_in
from tests.postgres import free_port, postgres_cluster
from tests.repair_driver import PASSING_VERIFICATION, intake

DOCS = Path(__file__).parent.parent / "docs" / "console"
POLICY = Path(__file__).parent.parent / "caseflow" / "policy" / "default.yaml"


class Demo:
    """The API as the demo's people call it."""

    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    async def call(self, role: str, method: str, path: str, body: Any = None,
                   **params: Any) -> Any:
        response = await self.client.request(method, path, json=body, params=params, headers={
            "Authorization": f"Bearer {self.tokens[role]}", "Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code < 300, (path, response.text)
        return response.json()

    async def repair(self, serial: str, hospital: str, **extra: Any) -> str:
        body = intake(serial=serial, hospital=hospital, **extra).model_dump(mode="json")
        return (await self.call("hotline", "POST", "/v1/repairs", body))["case_id"]

    async def steps(self, case_id: str, *steps: tuple[str, str, dict[str, Any]]) -> None:
        for role, action, payload in steps:
            await self.call(role, "POST", f"/v1/cases/{case_id}/actions/{action}", payload)


async def seed(demo: Demo) -> dict[str, str]:
    """Cases in several states; returns the ones the pictures show."""
    now = datetime.now(timezone.utc)
    observed = (now - timedelta(minutes=40)).isoformat()
    done = await demo.repair("CT-DH-0001", "H-DH", severity="severe", observed_at=observed)
    await demo.steps(done, ("supervisor", "assign", {"engineer_id": "EN-01"}),
                     ("engineer", "acknowledge", {}), ("hotline", "confirm-handover", {}),
                     ("engineer", "arrive", {"mode": "on_site"}),
                     ("engineer", "report-site", {"condition": "机房温湿度正常,电源稳定"}),
                     ("supervisor", "approve-start", {}),
                     ("engineer", "diagnose", {"findings": "球管灯丝老化", "fault_category": "xray_tube"}),
                     ("engineer", "resolve", {"summary": "更换球管,测试正常",
                                              "verification": PASSING_VERIFICATION}),
                     ("hotline", "confirm", {"confirmed_by": "李医生"}))
    working = await demo.repair("MR-DH-0002", "H-DH", severity="general", observed_at=observed,
                                symptom="磁体室空调报警,图像伪影增多", department="磁共振室")
    await demo.steps(working, ("supervisor", "assign", {"engineer_id": "EN-01"}),
                     ("engineer", "acknowledge", {}), ("engineer", "arrive", {"mode": "remote"}))
    fresh = await demo.repair("CT-DH-0001", "H-DH", severity="severe", observed_at=observed,
                              symptom="检查床无法升降", alarm_codes=["T-220"])
    await demo.steps(fresh, ("supervisor", "assign", {"engineer_id": "EN-01"}))
    await demo.repair("CT-JB-0003", "H-JB", severity="minor", observed_at=observed,
                      symptom="操作台指示灯不亮", department="影像科")
    unclassified = await demo.repair("MR-JB-0004", "H-JB", observed_at=observed,
                                     symptom="开机自检报错", department="影像科")
    await demo.call("hotline", "POST", "/v1/complaints", {
        "complainant_name": "王主任", "complainant_contact": "0571-88880000",
        "channel": "hotline", "hospital_id": "H-DH", "matter": "工程师两次上门均未带齐备件",
        "category": "process_management", "related_case_id": working})
    for days, event_type, serial, hospital, description in (
            (16, "serious_injury", "CT-DH-0001", "H-DH", "检查床下降时夹伤患者手指"),
            (2, "death", "MR-DH-0002", "H-DH", "扫描中患者心脏骤停,正在调查与设备的关系"),
            (0.2, "malfunction", "CT-JB-0003", "H-JB", "曝光控制失效,可能导致过量照射")):
        await demo.call("regulatory", "POST", "/v1/adverse-events", {
            "hospital_id": hospital, "equipment_serial": serial, "event_type": event_type,
            "description": description,
            "aware_at": (now - timedelta(days=days)).isoformat()})
    return {"callback": done, "working": working, "fresh": fresh, "unclassified": unclassified}


def renegotiated_policy() -> str:
    """The demo policy with a slower restore of general faults on the RJ contract (72 h, not
    48 h): what a manager would preview before moving the open repairs to it."""
    raw = yaml.safe_load(POLICY.read_text("utf-8"))
    raw["version"] = "2027-renegotiated"
    raw["contracts"]["HT-2025-RJ-001"]["repair"]["restore"]["general"]["within"] = "72h"
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


async def shoot(page: Page, name: str, folder: Path) -> None:
    await page.wait_for_selector("main .page h1, #username")  # a page is shown once drawn
    await page.wait_for_timeout(300)  # (the live feed keeps a request open: never "idle")
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    print(f"  {folder / name}.png")


async def pictures(base: str, tokens: dict[str, str], cases: dict[str, str], folder: Path) -> None:
    async with browser() as chromium:
        made = await context(chromium)
        first = await made.new_page()
        await first.goto(f"{base}/console/")
        await first.wait_for_selector("#username")
        await shoot(first, "sign-in", folder)

        hotline = await signed_in(made, base, tokens["hotline"])
        await hotline.wait_for_selector("button[data-action=callback]")
        await shoot(hotline, "hotline", folder)
        await hotline.click("button[data-action=callback]")
        await hotline.wait_for_selector("dialog[open] .script")
        await hotline.check("dialog[open] input[name=satisfaction][value='5']")
        await hotline.fill("dialog[open] [name=comment]", "响应及时,非常满意")
        await shoot(hotline, "hotline-callback", folder)
        await hotline.click("dialog[open] button.secondary")
        await hotline.goto(f"{base}/console/#/intake/repair")
        await hotline.fill("#lookup-q", "DH")
        await hotline.click("form.lookup button[type=submit]")
        await hotline.click("button.use[data-serial='CT-DH-0001']")
        await hotline.fill("[name=reporter_name]", "李医生")
        await hotline.fill("[name=reporter_phone]", "0571-88886666")
        await hotline.fill("[name=symptom]", "扫描时球管报警,无法出图")
        await shoot(hotline, "hotline-repair-form", folder)

        await hotline.close()  # each page holds a live feed: a browser opens 6 per host (HTTP/1.1)
        engineer = await signed_in(made, base, tokens["engineer"])
        await engineer.wait_for_selector(".case-card button.action")
        await shoot(engineer, "engineer-my-cases", folder)
        await engineer.click(f".case-card[data-case='{cases['working']}'] button[data-action=report-site]")
        await engineer.fill("dialog[open] [name=condition]", "远程接入正常,磁体室温度 26°C 偏高")
        await shoot(engineer, "engineer-step-form", folder)

        await engineer.close()
        supervisor = await signed_in(made, base, tokens["supervisor"])
        await supervisor.goto(f"{base}/console/#/case/{cases['unclassified']}")
        await supervisor.click("button.action[data-action=classify]")
        await supervisor.select_option("dialog[open] [name=severity]", "general")
        await shoot(supervisor, "supervisor-classify", folder)

        await supervisor.close()
        manager = await signed_in(made, base, tokens["manager"])
        await manager.wait_for_selector("#board")
        await shoot(manager, "manager-board", folder)
        await manager.goto(f"{base}/console/#/rosters")
        await manager.wait_for_selector("#roster-form")
        await shoot(manager, "manager-rosters", folder)
        year = datetime.now(timezone.utc).year
        await manager.goto(f"{base}/console/#/reliability/H-JB/{year}/unit")
        await manager.click("#rel-make")
        await manager.wait_for_selector(".rel-job[data-status=done]", timeout=60_000)
        await shoot(manager, "manager-reliability", folder)
        await manager.goto(f"{base}/console/#/sla")
        await manager.wait_for_selector(".sla-group svg.chart")
        await shoot(manager, "manager-sla", folder)
        await manager.goto(f"{base}/console/#/equipment/CT-DH-0001")
        await manager.wait_for_selector(".page-equipment h1")
        await shoot(manager, "manager-equipment", folder)
        await manager.goto(f"{base}/console/#/migrations")
        await manager.fill("#migration-policy", renegotiated_policy())
        await manager.check("input[name=kind][value=repair]")
        await manager.click("#migration-preview")
        await manager.wait_for_selector("#migration-apply")
        await shoot(manager, "manager-migration", folder)
        await manager.goto(f"{base}/console/#/board")
        await manager.click("#lang")
        await manager.wait_for_selector("h1:text('Board')")
        await shoot(manager, "manager-board-en", folder)
        await manager.click("#lang")

        await manager.close()
        auditor = await signed_in(made, base, tokens["auditor"])
        await auditor.wait_for_selector(".results table")
        await shoot(auditor, "auditor-search", folder)
        await auditor.goto(f"{base}/console/#/case/{cases['callback']}")
        await auditor.wait_for_selector(".timeline li")
        await auditor.click("#replay")
        await auditor.wait_for_selector(".replay-result .message")
        await shoot(auditor, "auditor-case", folder)

        await auditor.close()
        regulatory = await signed_in(made, base, tokens["regulatory"])
        await regulatory.wait_for_selector("#regulatory-board li.card")
        await shoot(regulatory, "regulatory-board", folder)

        await regulatory.close()
        admin = await signed_in(made, base, tokens["admin"])
        await admin.wait_for_selector(".page-people table")
        await shoot(admin, "admin-people", folder)
        await admin.goto(f"{base}/console/#/person/EN-01")
        await admin.fill("#token-form [name=label]", "巡检脚本")
        await admin.click("#token-form button[type=submit]")
        await admin.wait_for_selector("#issued-token")
        await shoot(admin, "admin-person", folder)
        await made.close()

        phone = await context(chromium, viewport=PHONE)
        engineer = await signed_in(phone, base, tokens["engineer"])
        await engineer.wait_for_selector(".case-card button.action")
        await shoot(engineer, "phone-engineer-my-cases", folder)
        manager = await signed_in(phone, base, tokens["manager"])
        await manager.wait_for_selector("#board")
        await shoot(manager, "phone-manager-board", folder)
        await phone.close()


async def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with postgres_cluster() as url:
        migrate(url)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        load_reference_data(sessions)
        demo_rosters(sessions, datetime.now(timezone.utc))
        import_demo_history(sessions)
        with sessions.begin() as session:
            tokens = {role: issue_token(session, person, "screenshots")[0]
                      for role, person in TOKEN_HOLDERS.items()}
        env = await WorkflowEnvironment.start_local(
            data_converter=DATA_CONVERTER, dev_server_existing_path=binary("temporal"),
            dev_server_log_level="error")
        try:
            await ensure_search_attributes(env.client)
            async with running_worker(env, sessions, "shots") as worker:
                settings = Settings(database_url=url, task_queue=worker.task_queue,
                                    environment="test")
                async with served(create_app(settings, temporal=env.client), free_port()) as base:
                    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                        cases = await seed(Demo(client, tokens))
                    await pictures(base, tokens, cases, folder)
        finally:
            await env.shutdown()
            engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS))
