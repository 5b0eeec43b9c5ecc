"""The web console in headless Chromium against the real API over HTTP (PostgreSQL, the Temporal
dev server and a worker): a repair opened from the hotline's form, assigned by a supervisor,
acknowledged by the engineer from "my cases", seen on the manager's board and read by an
auditor, in Chinese, with times in Asia/Shanghai; and the English switch. The admin's people
page: adding a person who then signs in, a refused field, and an API token shown once, used
and revoked."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from caseflow.domain.enums import Role
from caseflow.domain.records import Actor
from caseflow.store.models import Person
from caseflow.store.people import issue_token, set_password
from tests.console_driver import PHONE, context, signed_in
from tests.emergency_driver import SUPERVISOR
from tests.test_api import open_case, walk_to
from tests.test_complaint_api import open_complaint
from tests.test_emergency_api import body as emergency_body
from tests.test_emergency_api import new_unit
from tests.test_reports import new_hospital_unit
from tests.waiting import until

PASSWORD = "Hotline-2026-console"



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
    loose = await auditor.evaluate("() => [...document.querySelector('.page-case').childNodes]"
                                   ".filter(n => n.nodeType === Node.TEXT_NODE)"
                                   ".map(n => n.textContent)")
    assert loose == [], "no stray text (a literal 'null') between the page's sections"
    assert await auditor.inner_text(".record.unsealed") == \
        "记录尚未封存:案件结案后封存"
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


async def test_an_admin_adds_an_engineer_who_then_signs_in_with_that_password(
        console, chromium, people, tokens):
    suffix = uuid.uuid4().hex[:6]
    person_id, username, password = f"EN-A{suffix}", f"zhoujie{suffix}", "Engineer-2026-new"
    made = await context(chromium)
    admin = await signed_in(made, console, tokens["admin"])
    await admin.wait_for_selector("h1:text('人员')")  # an admin starts on the people page
    await admin.click("#add-person")
    await admin.fill("[name=id]", person_id)
    await admin.fill("[name=name]", "工程师 周杰")
    await admin.select_option("[name=role]", "engineer")
    await admin.select_option("[name=hospital_id]", people["hospital_id"])
    await admin.fill("[name=phone]", "13900001111")
    await admin.check("#person-form fieldset.checks input[value=email]")
    await admin.fill("[name=email]", "zhoujie@example.com")
    await admin.fill("[name=username]", username)
    await admin.fill("[name=password]", password)
    await admin.click("#person-form button[type=submit]")
    await admin.wait_for_selector("text=已添加 工程师 周杰")
    assert await admin.input_value("[name=username]") == username

    # Changed on their page: a field emptied is cleared, the others are kept.
    await admin.fill("[name=phone]", "")
    await admin.click("#person-form button[type=submit]")
    await admin.wait_for_selector("text=已保存")
    assert await admin.input_value("[name=phone]") == ""
    assert await admin.input_value("[name=email]") == "zhoujie@example.com"

    # The directory, filtered to this hospital's engineers, shows them able to sign in.
    await admin.goto(f"{console}/console/#/people")
    await admin.select_option("#people-role", "engineer")
    await admin.select_option("#people-hospital", people["hospital_id"])
    row = admin.locator(f"tr:has(a[data-person='{person_id}'])")
    await row.wait_for()
    cells = await row.locator("td").all_inner_texts()
    assert cells == [person_id, "工程师 周杰", "工程师", "报表测试医院", "电子邮件、日志", username,
                     "是", "在用"]

    engineer = await made.new_page()
    await engineer.goto(f"{console}/console/")
    await engineer.fill("#username", username)
    await engineer.fill("#password", password)
    await engineer.click("#signin-form button[type=submit]")
    await engineer.wait_for_selector("h1:text('我的工单')")
    assert "工程师 周杰" in await engineer.inner_text("#who")
    assert admin.errors == [], admin.errors  # type: ignore[attr-defined]
    await made.close()


async def test_a_refused_field_shows_the_apis_reason_next_to_it_and_adds_no_one(
        console, chromium, tokens):
    person_id = f"EN-B{uuid.uuid4().hex[:6]}"
    made = await context(chromium)
    admin = await signed_in(made, console, tokens["admin"])
    await admin.goto(f"{console}/console/#/people/add")
    await admin.fill("[name=id]", person_id)
    await admin.fill("[name=name]", "工程师 吴磊")
    await admin.select_option("[name=role]", "engineer")
    await admin.fill("[name=username]", f"wulei{person_id.lower()}")
    await admin.fill("[name=password]", "short1")
    await admin.click("#person-form button[type=submit]")
    reason = admin.locator("[name=password] ~ .field-error")
    await reason.wait_for()
    assert await reason.inner_text() == "密码须为 10 到 200 个字符", "worded by its reason code"
    assert await admin.get_attribute("[name=password]", "aria-invalid") == "true"
    async with httpx.AsyncClient(base_url=console) as client:
        listed = await client.get("/v1/people", params={"role": "engineer"},
                                  headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert person_id not in [p["id"] for p in listed.json()]

    # An id that is taken: the API's 409 and its reason, over the form.
    await admin.fill("[name=id]", "EN-01")
    await admin.fill("[name=password]", "Long-enough-2026")
    await admin.click("#person-form button[type=submit]")
    await admin.wait_for_selector("#person-form .form-errors:has-text('该编号已被使用')")
    assert "当前状态不允许此操作" in await admin.inner_text("#person-form .form-errors")
    assert admin.errors == [], admin.errors  # type: ignore[attr-defined]
    await made.close()


async def test_a_token_issued_in_the_console_is_shown_once_works_and_stops_when_revoked(
        console, chromium, people, tokens):
    made = await context(chromium)
    await made.grant_permissions(["clipboard-read", "clipboard-write"], origin=console)
    admin = await signed_in(made, console, tokens["admin"])
    await admin.goto(f"{console}/console/#/person/{people['engineer_id']}")
    await admin.fill("#token-form [name=label]", "巡检脚本")
    await admin.fill("#token-form [name=expires_in_days]", "30")
    await admin.click("#token-form button[type=submit]")
    secret = await admin.input_value("#issued-token")
    assert secret.startswith("cf_")
    assert "只显示这一次" in await admin.inner_text("#token-once [role=alert]")
    await admin.click("#copy-token")
    await admin.wait_for_selector("#token-once .copied:text('已复制')")
    assert await admin.evaluate("navigator.clipboard.readText()") == secret

    async with httpx.AsyncClient(base_url=console) as client:
        me = await client.get("/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200 and me.json()["id"] == people["engineer_id"]

        # Listed without its secret; once the page is drawn again the secret is gone for good.
        row = admin.locator("tr:has(td span:text-is('巡检脚本'))")
        assert await row.locator(".badge").inner_text() == "有效"
        await admin.reload()
        await row.wait_for()
        assert secret not in await admin.content()

        await row.locator("button.revoke").click()
        await admin.wait_for_selector("dialog[open]:has-text('撤销令牌“巡检脚本”?')")
        await admin.click("dialog[open] button.confirm")
        await admin.wait_for_selector("text=已撤销令牌“巡检脚本”")
        await row.wait_for(state="detached")  # revoked tokens are listed only on request
        refused = await client.get("/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert refused.status_code == 401
    assert admin.errors == [], admin.errors  # type: ignore[attr-defined]
    await made.close()


async def test_an_admin_cannot_deactivate_themselves_and_is_told_why(console, chromium, tokens):
    made = await context(chromium)
    admin = await signed_in(made, console, tokens["admin"])
    await admin.goto(f"{console}/console/#/person/AD-01")
    await admin.click("#toggle-active")
    await admin.click("dialog[open] button.confirm")
    await admin.wait_for_selector(".account-status [role=alert]:has-text('管理员不能停用自己')")
    await admin.reload()
    await admin.wait_for_selector("#toggle-active:text('停用')")  # still active
    await made.close()


async def test_a_paged_engineer_sees_the_emergency_on_the_phone_without_a_reload(
        console, chromium, tokens, sessions):
    """The hotline declares an emergency through the API; the engineer first on call has "my
    cases" open on a 390x844 phone: the page shows at the top, acknowledge in view, by the live
    feed alone; the inbox counts the page; acknowledged, it becomes an ordinary card."""
    suffix = uuid.uuid4().hex[:6]
    with sessions.begin() as session:
        session.add(Person(id=f"EN-P{suffix}", name="工程师 周宁", role="engineer",
                           channels=["log"]))
        session.flush()
        token = issue_token(session, f"EN-P{suffix}", "phone")[0]
    engineer = Actor(id=f"EN-P{suffix}", name="工程师 周宁", role=Role.engineer)
    hospital_id, serial = new_unit(sessions, chain=(engineer, SUPERVISOR))
    phone = await context(chromium, viewport=PHONE)
    page = await signed_in(phone, console, token)
    await page.wait_for_selector("h1:text('我的工单')")
    await page.wait_for_selector("#live-state.live")  # following the feed before the page
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        declared = await client.post("/v1/emergencies", json=emergency_body(hospital_id, serial),
                                     headers={"Authorization": f"Bearer {tokens['hotline']}",
                                              "Idempotency-Key": uuid.uuid4().hex})
    assert declared.status_code == 201, declared.text
    case_id = declared.json()["case_id"]
    card = page.locator(f".case-card.paged[data-case='{case_id}']")
    await card.wait_for()  # no reload: the live feed brought it
    assert await page.locator(".case-card").first.get_attribute("data-case") == case_id
    button = card.locator("button[data-action=acknowledge]")
    box = await button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], \
        "the acknowledge button is in view without scrolling"
    await page.wait_for_selector("#unread:text('1')")
    await button.click()
    await page.click("dialog[open] button[type=submit]")
    await page.wait_for_selector(f".case-card[data-case='{case_id}']:not(.paged)")
    await page.wait_for_selector("text=已记录:确认接单")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await phone.close()


async def test_the_hotline_works_its_queues_finds_a_caller_and_is_warned_of_an_open_case(
        console, chromium, people, tokens):
    hospital_id, serial = people["hospital_id"], people["serial"]
    phone = f"1{uuid.uuid4().int % 10**10:010d}"
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        def auth(role: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[role]}", "Idempotency-Key": uuid.uuid4().hex}
        created = await client.post("/v1/repairs", headers=auth("hotline"), json={
            "reporter_name": "欧阳医生", "reporter_phone": phone, "hospital_id": hospital_id,
            "department": "放射科", "equipment_serial": serial, "symptom": "检查床无法升降",
            "observed_at": "2026-11-22T09:30:00+08:00", "channel": "phone",
            "severity": "general"})
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        made = await context(chromium)
        page = await signed_in(made, console, tokens["hotline"])
        await page.wait_for_selector("h1:text('接线台')")
        assigned = await client.post(f"/v1/cases/{case_id}/actions/assign", headers=auth("supervisor"),
                                     json={"engineer_id": people["engineer_id"]})
        assert assigned.status_code == 200, assigned.text
    check = f"button[data-action=confirm-handover][data-case='{case_id}']"
    await page.wait_for_selector(check)  # the queue followed the assignment by itself
    await page.click(check)
    await page.click("dialog[open] button[type=submit]")
    await page.wait_for_selector(check, state="detached")

    await page.fill("#find-q", phone[-6:])
    await page.click("#find-form button[type=submit]")
    await page.wait_for_selector(f".find-results a.case-id:text('{case_id}')")

    await page.goto(f"{console}/console/#/intake/repair")
    await page.fill("#lookup-q", serial)
    await page.click("form.lookup button[type=submit]")
    await page.click(f"button.use[data-serial='{serial}']")
    await page.wait_for_selector(f".open-already a.case-id:text('{case_id}')")
    assert "该设备已有未结工单" in await page.inner_text(".open-already")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    await made.close()


# Words of our own that may stand in a Chinese page (names of things, not English sentences).
TECHNICAL = {"caseflow", "CT", "MR", "DR", "US", "SHA", "CSV", "JSON", "API", "PDF", "Excel",
             "Temporal", "UI", "HTTP", "App", "Webhook", "HU", "SLA", "YAML", "MTBF", "MTTR"}
# The visible text of the page less what people typed or named (translate="no") and what is
# marked as another language (the language switch): what the console itself says.
OWN_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('[translate=no], [lang], script, style, noscript, option[value=""]')
    .forEach((n) => { if (n !== copy) n.remove(); });
  copy.querySelectorAll('input, textarea').forEach((n) => n.remove());
  return copy.innerText;
}"""


def foreign_words(text: str, language: str) -> list[str]:
    if language == "zh-CN":
        return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in TECHNICAL})
    return sorted(set(re.findall(r"[\u3400-\u9fff]+", text)))


async def test_every_page_speaks_one_language_at_a_time(console, chromium, people, tokens,
                                                         sessions):
    """Each page of each role, in zh-CN and in English: no word of the other language from our
    own strings (people's names and what they typed are theirs and stay as written)."""
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        def auth(role: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[role]}", "Idempotency-Key": uuid.uuid4().hex}
        created = await client.post("/v1/repairs", headers=auth("hotline"), json={
            "reporter_name": "李医生", "reporter_phone": "0571-88886666",
            "hospital_id": people["hospital_id"], "department": "放射科",
            "equipment_serial": people["serial"], "symptom": "扫描时球管报警",
            "observed_at": "2026-11-22T09:30:00+08:00", "channel": "phone",
            "alarm_codes": ["E1023"], "severity": "severe"})
        case_id = created.json()["case_id"]
        def as_engineer() -> dict[str, str]:
            return {"Authorization": f"Bearer {people['engineer']}",
                    "Idempotency-Key": uuid.uuid4().hex}
        # a walked case: its timeline has steps, a remote arrival, a progress report, a pause
        for who, action, payload in (
                (lambda: auth("supervisor"), "assign", {"engineer_id": people["engineer_id"]}),
                (as_engineer, "acknowledge", {"note": "马上处理"}),
                (lambda: auth("hotline"), "confirm-handover", {}),
                (as_engineer, "arrive", {"mode": "remote", "note": "远程接入"}),
                (as_engineer, "progress", {"note": "已远程诊断"}),
                (lambda: auth("supervisor"), "pause", {"reason": "device_unavailable"})):
            done = await client.post(f"/v1/cases/{case_id}/actions/{action}", json=payload,
                                     headers=who())
            assert done.status_code == 200, (action, done.text)
        # an emergency paging: its trigger, the page and the on-call chain are worded too
        declared = await client.post("/v1/emergencies", headers=auth("hotline"),
                                     json=emergency_body(*new_unit(sessions)))
        assert declared.status_code == 201, declared.text
        emergency_id = declared.json()["case_id"]
        # a complaint flagged for its reportability review, one review decided
        recorded = await client.post("/v1/complaints", headers=auth("hotline"), json={
            "complainant_name": "王女士", "complainant_contact": "13812345678",
            "channel": "front_desk", "hospital_id": people["hospital_id"],
            "matter": "检查床下降时夹伤患者", "category": "equipment_failure",
            "patient_harmed": "yes"})
        assert recorded.status_code == 201, recorded.text

        async def review() -> str | None:
            view = (await client.get(f"/v1/cases/{recorded.json()['case_id']}",
                                     headers=auth("auditor"))).json()
            return next((link["case_id"] for link in view["linked_cases"]
                         if link["kind"] == "review"), None)

        review_id = await until(review, "the complaint opens its review")
        decided = await client.post(f"/v1/reviews/{review_id}/actions/decide",
                                    headers=auth("regulatory"),
                                    json={"decision": "not_adverse_event",
                                          "reason": "操作者站位不当,器械无故障"})
        assert decided.status_code == 200, decided.text
        await client.post("/v1/complaints", headers=auth("hotline"), json={
            "complainant_name": "李先生", "complainant_contact": "13912345678",
            "channel": "hotline", "hospital_id": people["hospital_id"],
            "matter": "设备故障导致检查推迟", "category": "equipment_failure"})
    unit = f"#/equipment/{people['serial']}"
    pages = {"manager": ["#/board", "#/search", f"#/case/{case_id}", f"#/case/{emergency_id}",
                         "#/rosters", "#/inbox",
                         "#/sla", f"#/sla///{people['hospital_id']}", unit,
                         "#/equipment/CT-DH-0001", "#/migrations", "#/reliability",
                         "#/regulatory"],
             "hotline": ["#/hotline", "#/intake/repair", "#/intake/emergency", "#/inbox",
                         f"#/case/{review_id}"],
             "engineer": ["#/mine", unit, f"#/case/{case_id}", "#/inbox"],
             "admin": ["#/people", "#/person/EN-01"],
             "auditor": [f"#/case/{case_id}", f"#/case/{emergency_id}", "#/sla", unit,
                         "#/regulatory"],
             "regulatory": ["#/regulatory", "#/reviews", f"#/case/{review_id}",
                            "#/sla////adverse_event", f"#/case/{case_id}"]}
    found: dict[str, list[str]] = {}
    made = await context(chromium)
    for role, hashes in pages.items():
        page = await signed_in(made, console, tokens[role] if role != "engineer"
                               else people["engineer"])
        for language in ("zh-CN", "en"):
            if await page.get_attribute("html", "lang") != language:
                await page.click("#lang")
                await page.wait_for_function(f"document.documentElement.lang === '{language}'")
            for where in hashes:
                await page.goto(f"{console}/console/{where}")
                try:  # drawn with its data (a busy shared stack may take a while)
                    await page.wait_for_selector("main .page h1", timeout=45_000)
                except Exception as error:
                    raise AssertionError(f"{role} {language} {where}: not drawn") from error
                words = foreign_words(await page.evaluate(OWN_TEXT), language)
                if words:
                    found[f"{role} {language} {where}"] = words
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
        await page.evaluate("localStorage.setItem('caseflow.lang', 'zh-CN')")
        # Each page keeps its live feed open: Chromium gives a host six connections, so a page
        # left open would hold one the next role's requests wait for.
        await page.close()
    await made.close()
    assert found == {}, found


async def test_an_engineers_photo_is_downloaded_by_the_auditor_and_refused_elsewhere(
        console, chromium, people, tokens, sessions):
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        def auth(role: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[role]}", "Idempotency-Key": uuid.uuid4().hex}
        created = await client.post("/v1/repairs", headers=auth("hotline"), json={
            "reporter_name": "李医生", "reporter_phone": "0571-88886666",
            "hospital_id": people["hospital_id"], "department": "放射科",
            "equipment_serial": people["serial"], "symptom": "图像伪影",
            "observed_at": "2026-11-22T09:30:00+08:00", "channel": "phone", "severity": "general"})
        case_id = created.json()["case_id"]
        assigned = await client.post(f"/v1/cases/{case_id}/actions/assign", headers=auth("supervisor"),
                                     json={"engineer_id": people["engineer_id"]})
        assert assigned.status_code == 200, assigned.text
    photo = b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 100
    made = await context(chromium)
    engineer = await signed_in(made, console, people["engineer"])
    await engineer.goto(f"{console}/console/#/case/{case_id}")
    await engineer.set_input_files("#attachment-file", files=[
        {"name": "现场照片.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    await engineer.click("#attachment-form button[type=submit]")
    await engineer.wait_for_selector("button.download:has-text('现场照片.jpg')")
    await engineer.wait_for_selector(".timeline li[data-event=attachment]")

    auditor = await signed_in(made, console, tokens["auditor"])
    await auditor.goto(f"{console}/console/#/case/{case_id}")
    async with auditor.expect_download() as waiting:
        await auditor.click("button.download:has-text('现场照片.jpg')")
    download = await waiting.value
    path = await download.path()
    assert path is not None and open(path, "rb").read() == photo
    assert await auditor.locator("#attachment-form").count() == 0, "an auditor only reads"

    # An engineer of another hospital: the case, and so its photo, is refused, in Chinese.
    suffix = uuid.uuid4().hex[:6]
    with sessions.begin() as session:
        session.add(Person(id=f"EN-X{suffix}", name="工程师 谢飞", role="engineer",
                           hospital_id="H-JB", channels=["log"]))
        session.flush()
        elsewhere = issue_token(session, f"EN-X{suffix}", "elsewhere")[0]
    stranger = await signed_in(made, console, elsewhere)
    await stranger.goto(f"{console}/console/#/case/{case_id}")
    refusal = stranger.locator("main .message.error")
    await refusal.wait_for()
    assert "此工单既未分派给您,也不属于您服务的医院" in await refusal.inner_text()
    assert await stranger.locator("button.download").count() == 0
    attachment = await stranger.evaluate(
        """async ([caseId, token]) => (await fetch(`/v1/cases/${caseId}/attachments`,
             { headers: { Authorization: `Bearer ${token}` } })).status""", [case_id, elsewhere])
    assert attachment == 403
    await made.close()


# The browser's system notifications, recorded: what the console raises, and with what words.
ALERTS = """(() => {
  window.__alerts = [];
  window.Notification = class {
    constructor(title, options) { window.__alerts.push({ title, body: (options || {}).body }); }
    static get permission() { return "granted"; }
    static requestPermission() { return Promise.resolve("granted"); }
  };
})()"""


async def test_the_paged_engineer_sees_the_emergency_within_five_seconds(
        console, chromium, tokens, sessions):
    """The issue's bound: the page is on the phone within 5 s of the hotline's declaration,
    by the live feed alone (no reload, no navigation); it is raised as a system notification
    (desktop alerts allowed), worded in Chinese, and stands out in the inbox."""
    suffix = uuid.uuid4().hex[:6]
    with sessions.begin() as session:
        session.add(Person(id=f"EN-Q{suffix}", name="工程师 何平", role="engineer",
                           channels=["log"]))
        session.flush()
        token = issue_token(session, f"EN-Q{suffix}", "phone")[0]
    engineer = Actor(id=f"EN-Q{suffix}", name="工程师 何平", role=Role.engineer)
    hospital_id, serial = new_unit(sessions, chain=(engineer, SUPERVISOR))
    phone = await context(chromium, viewport=PHONE)
    await phone.add_init_script(ALERTS)
    page = await signed_in(phone, console, token)
    await page.wait_for_selector("#live-state.live")
    loads = []
    page.on("load", lambda _: loads.append(1))
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        declared = await client.post("/v1/emergencies", json=emergency_body(hospital_id, serial),
                                     headers={"Authorization": f"Bearer {tokens['hotline']}",
                                              "Idempotency-Key": uuid.uuid4().hex})
    assert declared.status_code == 201, declared.text
    case_id = declared.json()["case_id"]
    await page.locator(f".case-card.paged[data-case='{case_id}']").wait_for(timeout=5_000)
    assert loads == [], "no reload"
    await page.wait_for_function("() => window.__alerts.length > 0")
    alerts = await page.evaluate("window.__alerts")
    assert [a["title"] for a in alerts] == [f"呼叫值班 · {case_id}"], alerts
    assert foreign_words(alerts[0]["body"], "zh-CN") == [], alerts[0]["body"]
    await page.goto(f"{console}/console/#/inbox")
    await page.wait_for_selector(f"li.notice.pressing.unread[data-case='{case_id}']")
    await phone.close()


async def test_the_engineers_card_and_the_case_page_say_where_whom_to_call_and_what_was_reported(
        console, chromium, tokens, sessions):
    """The smaller defects of the working day: the card names the floor/room and the caller
    with a tel: link, its next deadline is the engineer's own (not the hotline's hand-over
    check), a remote connection reads 已远程接入 and status pills do not wrap; the case page
    shows the alarm codes and attachments given at intake and the phone as a tel: link, and
    prints without navigation, buttons or forms."""
    hospital_id, serial = new_hospital_unit(sessions)
    suffix = uuid.uuid4().hex[:6]
    with sessions.begin() as session:
        session.add(Person(id=f"EN-K{suffix}", name="工程师 康宁", role="engineer",
                           hospital_id=hospital_id, channels=["log"]))
        session.flush()
        token = issue_token(session, f"EN-K{suffix}", "card")[0]
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        def auth(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token if who == 'engineer' else tokens[who]}",
                    "Idempotency-Key": uuid.uuid4().hex}
        created = await client.post("/v1/repairs", headers=auth("hotline"), json={
            "reporter_name": "司马医生", "reporter_phone": "0571-8765 4321",
            "hospital_id": hospital_id, "department": "放射科", "location": "医技楼3层 312室",
            "equipment_serial": serial, "symptom": "显示器偶发闪烁",
            "observed_at": "2026-11-22T09:30:00+08:00", "channel": "phone",
            "alarm_codes": ["E7001", "W0042"],
            "attachments": [{"name": "故障照片.jpg", "ref": "pacs://photos/7001"}],
            "severity": "minor"})
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        assigned = await client.post(f"/v1/cases/{case_id}/actions/assign", headers=auth("supervisor"),
                                     json={"engineer_id": f"EN-K{suffix}"})
        assert assigned.status_code == 200, assigned.text
        due = {c["key"]: c["due_at"] for c in assigned.json()["commitments"] if c["state"] == "open"}
        assert due["handover"] < due["arrival"], "a minor repair: the hand-over check comes first"
        phone = await context(chromium, viewport=PHONE)
        page = await signed_in(phone, console, token)
        card = page.locator(f".case-card[data-case='{case_id}']")
        await card.wait_for()
        assert "医技楼3层 312室" in await card.locator(".where").inner_text()
        assert "司马医生" in await card.locator(".caller").inner_text()
        assert await card.locator(".caller a.tel").get_attribute("href") == "tel:057187654321"
        assert await card.locator(".next .due-key").inner_text() == "到场/远程接入", \
            "the engineer's own deadline, not the hotline's hand-over check"
        for action, payload in (("acknowledge", {}), ("arrive", {"mode": "remote"})):
            done = await client.post(f"/v1/cases/{case_id}/actions/{action}", json=payload,
                                     headers=auth("engineer"))
            assert done.status_code == 200, (action, done.text)
    pill = card.locator(".badge.status")
    await card.locator(".badge.status:text('已远程接入')").wait_for()  # live, no reload
    lines = await pill.evaluate("n => n.getBoundingClientRect().height / "
                                "parseFloat(getComputedStyle(n).fontSize)")
    assert lines < 2, f"the status pill is one line ({lines:.1f} em high)"
    await phone.close()

    made = await context(chromium)
    case_page = await signed_in(made, console, tokens["auditor"])
    await case_page.goto(f"{console}/console/#/case/{case_id}")
    await case_page.wait_for_selector(f"h1:has-text('{case_id}')")
    facts = await case_page.inner_text(".summary-box")
    assert "E7001" in facts and "W0042" in facts, "alarm codes given at intake"
    assert "故障照片.jpg" in facts, "attachments given at intake"
    assert await case_page.locator(".summary-box a.tel").first.get_attribute("href") == \
        "tel:057187654321"
    async with case_page.expect_download() as waiting:
        await case_page.click("#service-report")
    report = await (await waiting.value).path()
    assert report is not None and open(report, "rb").read(5) == b"%PDF-", "the 服务确认单 PDF"
    await case_page.emulate_media(media="print")
    for hidden in (".top", "button", "form"):
        shown = await case_page.locator(hidden).evaluate_all(
            "nodes => nodes.filter(n => n.getClientRects().length > 0).length")
        assert shown == 0, f"{hidden} is printed"
    assert "null" not in await case_page.inner_text("main")
    await case_page.emulate_media(media="screen")

    # The case page follows a step within 2 seconds, without a reload.
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        done = await client.post(f"/v1/cases/{case_id}/actions/progress",
                                 json={"note": "远程排查显示器线缆"},
                                 headers={"Authorization": f"Bearer {token}",
                                          "Idempotency-Key": uuid.uuid4().hex})
        assert done.status_code == 200, done.text
    await case_page.locator(".timeline li[data-event=progress]").wait_for(timeout=2_000)
    assert "远程排查显示器线缆" in await case_page.inner_text(".timeline")
    await made.close()


async def test_the_callback_names_the_number_a_complaint_is_given_a_handler_and_status_is_a_list(
        console, chromium, tokens, sessions):
    """The callback dialog gives the number to call as a tel: link; a complaint's assign dialog
    names a handler and lists no engineer; the search's status filter is a drop-down of words,
    not free text."""
    hospital_id, serial = new_hospital_unit(sessions)
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        repair = await open_case(client, tokens, serial=serial, hospital=hospital_id,
                                 severity="general", reporter_phone="139 1234 5678")
        await walk_to(client, tokens, repair, "awaiting_callback")
        complaint = await open_complaint(client, tokens)
    made = await context(chromium)
    hotline = await signed_in(made, console, tokens["hotline"])
    await hotline.click(f"button[data-action=callback][data-case='{repair}']")
    script = hotline.locator("dialog[open] .script")
    await script.wait_for()
    assert await script.locator("a.tel").get_attribute("href") == "tel:13912345678"
    assert "李医生" in await script.inner_text()

    supervisor = await signed_in(made, console, tokens["supervisor"])
    await supervisor.goto(f"{console}/console/#/case/{complaint}")
    await supervisor.click("button.action[data-action=assign]")
    dialog = supervisor.locator("dialog[open]")
    assert (await dialog.locator("h2").inner_text()).startswith("指定处理人")
    chosen = await dialog.locator("[name=handler_id] option").evaluate_all(
        "nodes => nodes.map(n => n.value).filter(Boolean)")
    with sessions() as session:
        roles = {p.id: p.role for p in session.query(Person).filter(Person.id.in_(chosen))}
    assert chosen and "engineer" not in roles.values(), roles

    auditor = await signed_in(made, console, tokens["auditor"])
    await auditor.goto(f"{console}/console/#/search")
    status = auditor.locator("select#status")
    assert await status.evaluate("n => n.tagName") == "SELECT"
    await status.select_option(label="待回访")
    await auditor.select_option("select#hospital_id", hospital_id)
    await auditor.click("#filters button[type=submit]")
    await auditor.wait_for_function(  # the list drawn before the filter held every case
        "() => document.querySelectorAll('.results tbody tr').length === 1")
    assert await auditor.locator(".results a.case-id").inner_text() == repair
    await made.close()
