"""The regulatory board and the SLA report's regulatory section in headless Chromium, against
the API over HTTP (PostgreSQL, the shared Temporal dev server and worker): regulatory affairs
land on the board, where an overdue report to the EU comes before one still in time, each
linking to its event; a new event turns up and a report sent leaves its column by the live feed
alone; in zh-CN and in English, one language at a time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tests.console_driver import context, signed_in
from tests.test_console import OWN_TEXT, foreign_words

WAIT_MS = 30_000  # a hang guard for what the live feed brings



def auth(tokens: dict[str, str], role: str = "regulatory") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}", "Idempotency-Key": uuid.uuid4().hex}


async def open_event(console: str, tokens: dict[str, str], aware_days_ago: float,
                     **extra: Any) -> str:
    aware = datetime.now(timezone.utc) - timedelta(days=aware_days_ago)
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        created = await client.post("/v1/adverse-events", headers=auth(tokens), json={
            "hospital_id": "H-DH", "equipment_serial": "CT-DH-0001",
            "event_type": "serious_injury", "description": "检查床下降时夹伤患者手指",
            "aware_at": aware.isoformat(), **extra})
    assert created.status_code == 201, created.text
    return created.json()["case_id"]


async def test_regulatory_affairs_watch_their_reports_due_overdue_first_live(
        console, chromium, tokens):
    overdue = await open_event(console, tokens, 16)  # EU due a day ago, CN in 4 days
    in_time = await open_event(console, tokens, 1, event_type="death")  # EU in 9 days
    made = await context(chromium)
    page = await signed_in(made, console, tokens["regulatory"])
    await page.wait_for_selector("h1:text-is('法规事务看板')")  # their home page
    assert page.url.endswith("#/regulatory")
    eu = "#regulatory-board section[data-jurisdiction=EU]"
    card = f"{eu} li.card[data-case='{{}}']"
    await page.wait_for_selector(card.format(in_time))
    order = await page.eval_on_selector_all(f"{eu} li.card", "cards => cards.map(c => c.dataset.case)")
    assert order.index(overdue) < order.index(in_time)
    flags = await page.eval_on_selector_all(
        f"{eu} li.card", "cards => cards.map(c => c.classList.contains('breached'))")
    assert flags == sorted(flags, reverse=True)  # every overdue one first
    assert "breached" in (await page.get_attribute(card.format(overdue), "class") or "")
    assert "超时" in await page.inner_text(f"{card.format(overdue)} time.countdown.overdue")
    assert "向欧盟监管机构报告" in await page.inner_text(card.format(overdue))
    assert "死亡" in await page.inner_text(card.format(in_time))
    assert await page.inner_text(f"{eu} h3") != ""
    assert foreign_words(await page.evaluate(OWN_TEXT), "zh-CN") == []

    # Live: a new event turns up, a report sent leaves its column; the page is never reloaded.
    await page.evaluate("window.notReloaded = true")
    newer = await open_event(console, tokens, 0.1, event_type="malfunction")
    await page.wait_for_selector(card.format(newer), timeout=WAIT_MS)
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        sent = await client.post(f"/v1/cases/{overdue}/actions/submit", headers=auth(tokens), json={
            "jurisdiction": "EU", "submitted_at": datetime.now(timezone.utc).isoformat(),
            "channel": "EUDAMED", "reference": "MIR-2026-0100"})
        assert sent.status_code == 200, sent.text
    await page.wait_for_selector(card.format(overdue), state="detached", timeout=WAIT_MS)
    cn = f"#regulatory-board section[data-jurisdiction=CN] li.card[data-case='{overdue}']"
    assert await page.locator(cn).count() == 1  # still due in China
    assert await page.evaluate("window.notReloaded === true"), "the page was never reloaded"

    await page.click(f"{card.format(in_time)} a.case-id")
    await page.wait_for_selector(f"h1:has-text('{in_time}')")
    async with page.expect_download() as downloading:  # its report file, in Chinese
        await page.click("#report-file-pdf")
    download = await downloading.value
    assert download.suggested_filename == f"{in_time}.report-file.pdf"
    assert open(await download.path(), "rb").read(5) == b"%PDF-"  # type: ignore[arg-type]

    await page.click("#lang")
    await page.goto(f"{console}/console/#/regulatory")
    await page.wait_for_selector("h1:text-is('Regulatory board')")
    await page.wait_for_selector(card.format(in_time))
    assert "report to the EU's regulator" in await page.inner_text(card.format(in_time))
    assert foreign_words(await page.evaluate(OWN_TEXT), "en") == []
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await page.evaluate("localStorage.setItem('caseflow.lang', 'zh-CN')")
    await made.close()


async def test_the_sla_page_shows_reports_on_time_late_and_overdue_by_jurisdiction(
        console, chromium, tokens):
    late = await open_event(console, tokens, 16)
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        for jurisdiction, reference in (("CN", "国械监-2026-0200"), ("EU", "MIR-2026-0200")):
            sent = await client.post(f"/v1/cases/{late}/actions/submit", headers=auth(tokens),
                                     json={"jurisdiction": jurisdiction, "reference": reference,
                                           "submitted_at": datetime.now(timezone.utc).isoformat(),
                                           "channel": "系统"})
            assert sent.status_code == 200, sent.text
        report = (await client.get("/v1/reports/sla", params={"kind": "adverse_event"},
                                   headers=auth(tokens, "manager"))).json()
    rows = {f"{r['jurisdiction']}/{r['event_type']}/{r['report']}": r
            for r in report["regulatory"]}
    eu = rows["EU/serious_injury/initial"]
    assert eu["met_late"] >= 1
    made = await context(chromium)
    page = await signed_in(made, console, tokens["manager"])
    await page.goto(f"{console}/console/#/sla////adverse_event")
    await page.wait_for_selector("#sla-regulatory")
    cell = "#sla-regulatory .met-percent[data-key='EU/serious_injury/initial']"
    shown = await page.inner_text(cell)
    decided = eu["met"] + eu["met_late"] + eu["breached_open"]
    assert shown == (f"{round(1000 * eu['met'] / decided) / 10:g}%" if decided else "–")
    text = await page.inner_text("#sla-regulatory")
    assert "不良事件报告(按辖区与事件类型)" in text and "欧盟" in text and "严重伤害" in text
    assert foreign_words(await page.evaluate(OWN_TEXT), "zh-CN") == []
    async with page.expect_download() as downloading:
        await page.click("#sla-regulatory-csv")
    download = await downloading.value
    assert download.suggested_filename.startswith("sla-regulatory-")
    raw = open(await download.path(), "rb").read()  # type: ignore[arg-type]
    assert raw.decode("utf-8-sig").splitlines()[0].startswith("jurisdiction,event_type,report")

    await page.click("#lang")
    await page.wait_for_selector("#sla-regulatory h2:text('Adverse event reports')")
    assert "the EU" in await page.inner_text("#sla-regulatory")
    assert foreign_words(await page.evaluate(OWN_TEXT), "en") == []
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await page.evaluate("localStorage.setItem('caseflow.lang', 'zh-CN')")
    await made.close()
