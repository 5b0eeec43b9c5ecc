"""The web console in headless Chromium against the real API over HTTP (PostgreSQL, the Temporal
dev server and a worker): a repair opened from the hotline's form, assigned by a supervisor,
acknowledged by the engineer from "my cases", seen on the manager's board and read by an
auditor, in Chinese, with times in Asia/Shanghai; and the English switch."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.store.models import Person
from caseflow.store.people import issue_token, set_password
from tests.console_driver import browser, context, served, signed_in
from tests.postgres import free_port
from tests.test_reports import new_hospital_unit

PASSWORD = "Hotline-2026-console"


@pytest.fixture(scope="module")
async def console(database_url, dev_env, dev_worker) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test")
    async with served(create_app(settings, temporal=dev_env.client), free_port()) as base:
        yield base


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def people(sessions) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A hospital and unit of this test's own, with a hotline operator who signs in with a
    password and an engineer (so "my cases" holds only this test's case), both serving that
    hospital only, so no other test's notices reach them."""
    hospital_id, serial = new_hospital_unit(sessions)
    suffix = uuid.uuid4().hex[:6]
    with sessions.begin() as session:
        operator = Person(id=f"HL-C{suffix}", name="接线员 钱芳", role="hotline",
                          hospital_id=hospital_id, username=f"qianfang{suffix}",
                          channels=["log"])
        set_password(operator, PASSWORD)
        engineer = Person(id=f"EN-C{suffix}", name="工程师 孙涛", role="engineer",
                          hospital_id=hospital_id, channels=["log"])
        session.add_all([operator, engineer])
        session.flush()
        return {"hospital_id": hospital_id, "serial": serial,
                "username": operator.username or "", "engineer_id": engineer.id,
                "engineer": issue_token(session, engineer.id, "console test")[0]}


async def test_a_repair_from_the_hotline_form_to_the_auditors_timeline(
        console, chromium, people, tokens):
    hospital_id, serial = people["hospital_id"], people["serial"]
    # The browser's own zone is UTC: every time shown must still be Shanghai's.
    made = await context(chromium, timezone="UTC")

    # Hotline: sign in with user name and password, open a repair from the form.
    hotline = await made.new_page()
    await hotline.goto(f"{console}/console/")
    await hotline.fill("#username", people["username"])
    await hotline.fill("#password", PASSWORD)
    await hotline.click("#signin-form button[type=submit]")
    await hotline.wait_for_selector("h1:text('接线台')")
    await hotline.click("a.button.repair")
    await hotline.fill("#lookup-q", serial)
    await hotline.click("form.lookup button[type=submit]")
    await hotline.click(f"button.use[data-serial='{serial}']")
    assert await hotline.input_value("[name=hospital_id]") == hospital_id
    assert await hotline.input_value("[name=department]") == "放射科"
    await hotline.fill("[name=reporter_name]", "李医生")
    await hotline.fill("[name=reporter_phone]", "0571-88886666")
    await hotline.fill("[name=location]", "门诊楼2层 CT室")
    await hotline.fill("[name=symptom]", "扫描时球管报警,无法出图")
    await hotline.fill("[name=observed_at]", "2026-11-22T09:30")
    await hotline.select_option("[name=severity]", "severe")
    await hotline.click("#intake-form button[type=submit]")
    await hotline.wait_for_url(re.compile(r"#/case/RP-"))
    case_id = hotline.url.rsplit("/", 1)[-1]
    await hotline.wait_for_selector(f"h1:text('工单 {case_id}')")
    summary = await hotline.inner_text(".summary-box")
    assert "扫描时球管报警,无法出图" in summary and "门诊楼2层 CT室" in summary
    assert "2026/11/22 09:30" in summary, "09:30 Shanghai, as typed, though the browser is UTC"

    # Supervisor: assign the engineer from the case page.
    supervisor = await signed_in(made, console, tokens["supervisor"])
    await supervisor.goto(f"{console}/console/#/case/{case_id}")
    await supervisor.click("button.action[data-action=assign]")
    await supervisor.select_option("dialog[open] [name=engineer_id]", people["engineer_id"])
    await supervisor.click("dialog[open] button[type=submit]")
    await supervisor.wait_for_selector("text=已记录:分派工程师")

    # Engineer: "my cases" shows it with a live countdown; acknowledge in two clicks.
    engineer = await signed_in(made, console, people["engineer"])
    card = f".case-card[data-case='{case_id}']"
    await engineer.wait_for_selector(card)
    assert await engineer.locator(".case-card").count() == 1
    first = await engineer.inner_text(f"{card} time.countdown")
    await engineer.wait_for_function(
        "([sel, first]) => document.querySelector(sel).textContent !== first",
        arg=[f"{card} time.countdown", first], timeout=5000)
    assert re.match(r"剩 \d+分\d+秒", await engineer.inner_text(f"{card} time.countdown"))
    buttons = await engineer.locator(f"{card} button.action").evaluate_all(
        "nodes => nodes.map(n => n.dataset.action)")
    assert buttons == ["acknowledge", "progress"], "only what the workflow allows now"
    await engineer.click(f"{card} button[data-action=acknowledge]")
    await engineer.click("dialog[open] button[type=submit]")
    await engineer.wait_for_selector("text=已记录:确认接单")
    await engineer.wait_for_selector(f"{card} .badge:text('已接单')")
    assert await engineer.locator(f"{card} button[data-action=arrive]").count() == 1

    # Manager: the case on the board of its hospital, in the severe column.
    manager = await signed_in(made, console, tokens["manager"])
    await manager.goto(f"{console}/console/#/board/{hospital_id}")
    await manager.wait_for_selector(f".column.severity-severe [data-case='{case_id}']")
    assert await manager.locator("svg.chart").count() == 1
    assert await manager.locator("details tbody tr").count() == 12, "12 weeks, from the report"

    # Auditor: find the case, read its timeline, replay it.
    auditor = await signed_in(made, console, tokens["auditor"])
    await auditor.fill("#case-id", case_id)
    await auditor.click("#open-case button[type=submit]")
    await auditor.wait_for_selector(".timeline li")
    events = await auditor.locator(".timeline li.source-case .event").all_inner_texts()
    assert events[:4] == ["开单", "分级", "分派工程师", "确认接单"]
    assert "扫描时球管报警,无法出图" in await auditor.inner_text(".timeline")
    assert await auditor.locator("section:has(h2:text('可执行的操作'))").count() == 0
    await auditor.click("#replay")
    await auditor.wait_for_selector(".replay-result .message.ok")
    assert "Temporal" in await auditor.inner_text("a.temporal")

    for page in (supervisor, engineer, manager, auditor):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await made.close()


async def test_english_is_one_click_away_and_remembered(console, chromium, tokens):
    made = await context(chromium)
    page = await signed_in(made, console, tokens["manager"])
    await page.wait_for_selector("h1:text('看板')")
    assert await page.get_attribute("html", "lang") == "zh-CN"
    await page.click("#lang")
    await page.wait_for_selector("h1:text('Board')")
    assert await page.get_attribute("html", "lang") == "en"
    await page.reload()
    await page.wait_for_selector("h1:text('Board')")
    assert await page.inner_text("#lang") == "中文"
    await page.click("#lang")
    await page.wait_for_selector("h1:text('看板')")
    await made.close()


async def test_a_wrong_password_is_refused_on_the_sign_in_page(console, chromium, people):
    made = await context(chromium)
    page = await made.new_page()
    await page.goto(f"{console}/console/")
    await page.fill("#username", people["username"])
    await page.fill("#password", "Not-the-password-1")
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("[role=alert]:text('用户名或密码错误')")
    assert await page.evaluate("sessionStorage.getItem('caseflow.token')") is None
    await made.close()
