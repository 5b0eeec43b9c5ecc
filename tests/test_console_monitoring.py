"""The unit's alarm stream and remote monitoring's figures in the console, in headless Chromium
against the API over HTTP (PostgreSQL, the shared dev server and worker): alarms posted by the
monitoring integration show on the unit's page with the repair they opened, the repair's
timeline says it came from an alarm, and the reliability page counts it; zh-CN and English,
one language at a time."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from caseflow.store.models import Equipment, Hospital
from tests.console_driver import context, signed_in
from tests.test_api import headers, timeline_of
from tests.test_console import OWN_TEXT, foreign_words


@pytest.fixture(scope="module")
async def monitored(console, tokens, sessions) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A hospital of its own with one MR whose compressor sent a storm of 12 alarms (one
    repair), and 3 helium readings far from their limit."""
    hospital_id, serial = f"H-M{uuid.uuid4().hex[:8]}", f"MR-M{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Hospital(id=hospital_id, name="监测控制台医院"))
        session.flush()
        session.add(Equipment(serial=serial, hospital_id=hospital_id, modality="MR",
                              brand="联影", model="uMR 790", department="磁共振室",
                              install_date=date(2025, 1, 1)))
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    alarms = [{"alarm_id": f"C-{uuid.uuid4().hex}", "serial": serial, "code": "MR-COMPRESSOR",
               "raised_at": (start + timedelta(seconds=10 * i)).isoformat(),
               "message": "氦压缩机压力低",
               "values": [{"name": "compressor_pressure", "value": 1.2, "unit": "MPa",
                           "low": 1.5}]} for i in range(12)]
    alarms += [{"alarm_id": f"R-{uuid.uuid4().hex}", "serial": serial, "code": "MR-STATUS",
                "severity": "info", "raised_at": (start + timedelta(minutes=m)).isoformat(),
                "values": [{"name": "helium_level", "value": 88, "unit": "%", "low": 60}]}
               for m in (5, 15, 25)]
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        posted = await client.post("/v1/alarms", json={"alarms": alarms},
                                   headers=headers(tokens, "monitoring"))
        assert posted.status_code == 200, posted.text
        (case_id,) = posted.json()["cases_opened"]
        await timeline_of(client, tokens, case_id, at_least=2)
    return {"hospital": hospital_id, "serial": serial, "case": case_id}


async def test_a_units_alarm_stream_leads_to_the_repair_it_opened(console, chromium, tokens,
                                                                   monitored):
    serial, case_id = monitored["serial"], monitored["case"]
    made = await context(chromium)
    page = await signed_in(made, console, tokens["manager"])
    await page.goto(f"{console}/console/#/equipment/{serial}")
    stream = page.locator("section:has(h2:text-is('远程监测告警'))")
    await stream.locator(".alarm-stream").wait_for()
    episodes = await stream.locator("table").first.inner_text()
    assert "MR-COMPRESSOR" in episodes and "报修" in episodes and "12" in episodes
    latest = await stream.locator("table").nth(1).inner_text()
    assert latest.count("MR-STATUS") == 3 and "helium_level 88%" in latest
    assert "已登记" in latest and "同一故障,已合并" in latest
    await stream.locator(f"a.case-id[href='#/case/{case_id}']").first.click()
    await page.wait_for_selector(f"h1:has-text('{case_id}')")
    timeline = await page.inner_text("main")
    assert "远程监测告警" in timeline and "compressor_pressure 1.2MPa" in timeline

    await page.goto(f"{console}/console/#/equipment/{serial}")
    await page.locator(".alarm-stream").wait_for()
    await page.click("#lang")
    await page.wait_for_selector("h2:text-is('Remote monitoring alarms')")
    assert foreign_words(await page.evaluate(OWN_TEXT), "en") == []
    await page.click("#lang")
    await page.wait_for_selector("h2:text-is('远程监测告警')")
    assert foreign_words(await page.evaluate(OWN_TEXT), "zh-CN") == []
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await made.close()


async def test_the_reliability_page_counts_what_monitoring_caught(console, chromium, tokens,
                                                                  monitored):
    year = datetime.now(timezone(timedelta(hours=8))).year
    made = await context(chromium)
    page = await signed_in(made, console, tokens["manager"])
    await page.goto(f"{console}/console/#/reliability/{monitored['hospital']}/{year}/unit")
    await page.wait_for_selector("#mon-figures")
    assert await page.inner_text("#mon-alarms") == "15"
    assert await page.inner_text("#mon-by-monitoring") == "1"
    assert await page.inner_text("#mon-by-phone") == "0"
    assert await page.inner_text("#mon-caught-first") == "1"
    assert monitored["serial"] in await page.inner_text("#mon-figures table")
    await page.click("#lang")
    await page.wait_for_selector("h2:text-is('Remote monitoring')")
    # The section's own words (the page's hospital picker shows hospitals' names as written).
    section = await page.inner_text("section:has(#mon-figures)")
    assert "Caught before the hospital called" in section
    assert re.search(r"[\u4e00-\u9fff]", section) is None, section
    await page.click("#lang")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await made.close()
