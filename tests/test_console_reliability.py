"""The console's reliability page in headless Chromium against the real API over HTTP: a
manager reads a hospital's guarantee, uptime chart and figures, regroups them by model, makes
the annual report (its progress, then its recommendations), downloads the PDF (its text has the
hospital's Chinese name), and reads the page in English, one language at a time."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from caseflow.store.models import Equipment
from tests.console_driver import context, signed_in
from tests.reliability_fixture import ENGINEER, new_site, open_repair, resolve

SH = ZoneInfo("Asia/Shanghai")
NAME = "江北市第一医院 控制台测试"



@pytest.fixture(scope="module")
def site(sessions) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A unit with two X-ray tube repairs in 2025, and one under the demo contract that
    guarantees 95% a quarter."""
    hospital_id, (plain, guaranteed) = new_site(sessions, units=2, name=NAME)
    with sessions.begin() as session:
        unit = session.get(Equipment, guaranteed)
        assert unit is not None
        unit.contract_code = "HT-2024-JB-007"
    for month in (3, 9):
        observed = datetime(2025, month, 2, 8, tzinfo=SH)
        repair = open_repair(sessions, hospital_id, plain, observed, "severe")
        repair.event("diagnose", observed + timedelta(hours=1), {"fault_category": "xray_tube"},
                     ENGINEER)
        resolve(repair, observed + timedelta(hours=10))
    return {"hospital": hospital_id, "plain": plain, "guaranteed": guaranteed}


async def test_a_manager_reads_reliability_and_makes_the_annual_report(console, chromium,
                                                                      site, tokens):
    made = await context(chromium, timezone="UTC")
    page = await signed_in(made, console, tokens["manager"])
    await page.goto(f"{console}/console/#/reliability/{site['hospital']}/2025/unit")
    await page.wait_for_selector("h1:text('设备可靠性')")
    assert await page.locator("nav a[href='#/reliability']").count() == 1
    guarantee = page.locator("table", has_text=site["guaranteed"]).first
    assert "95%" in await guarantee.inner_text() and "正常" in await guarantee.inner_text()
    chart = page.locator(f".rel-unit[data-serial='{site['plain']}'] svg.chart")
    assert await chart.count() == 1
    figures = await page.inner_text("section:has(h2:text('可靠性指标'))")
    # 2 x 8760 h covered, 20 h down: (17520 - 20) / 17520 = 99.89%.
    assert "99.89%" in figures and "合计" in figures

    await page.click("button[data-group=model]")
    await page.wait_for_selector("button[data-group=model][aria-pressed=true]")
    assert "GE Revolution CT" in await page.inner_text("section:has(h2:text('可靠性指标'))")

    await page.click("#rel-make")
    await page.wait_for_selector(".rel-job[data-status=done]", timeout=60_000)
    recurring = await page.inner_text("li[data-code=recurring_fault]")
    assert site["plain"] in recurring and "X 射线球管" in recurring and "2 次" in recurring
    async with page.expect_download() as downloading:
        await page.click("button.download[data-kind=pdf]")
    download = await downloading.value
    text = "\n".join(p.extract_text() for p in
                     PdfReader(io.BytesIO(open(await download.path(), "rb").read())).pages)
    assert NAME in text and "99.89%" in text

    await page.click("#lang")
    await page.wait_for_selector("h1:text('Equipment reliability')")
    await page.wait_for_selector(".rel-job[data-status=done]")
    body = await page.inner_text("main")
    assert "Uptime guarantees" in body and "on track" in body
    assert "设备可靠性" not in body and "可靠性指标" not in body, "one language at a time"
    assert "X-ray tube faults this year" in await page.inner_text(
        "li[data-code=recurring_fault]")
