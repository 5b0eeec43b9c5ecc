"""Notifications written as a template and parameters are worded for each recipient: their
language, times in their zone; one written without a template is sent as written."""

from __future__ import annotations

from caseflow.delivery.channels import worded
from caseflow.domain.notices import TEMPLATES, render
from caseflow.domain.records import NoticeRequest
from caseflow.store.models import Notification, Person

PAGE = {"case_id": "EM-20261205-000001", "hospital": "东湖县人民医院", "unit": "CT CT-DH-0001",
        "trigger": "patient_safety", "impact": "检查床无法退出",
        "due_at": "2026-12-05T08:09:55.969246+00:00"}


def test_a_page_is_worded_in_the_recipients_language_and_local_time():
    subject, body = render("page", PAGE, "zh-CN", None, "written", "as written")
    assert subject == "应急呼叫 EM-20261205-000001:东湖县人民医院 CT CT-DH-0001"
    assert body == "危及患者安全:检查床无法退出。请在 2026-12-05 16:09 前应答。"
    subject, body = render("page", PAGE, "en", None, "written", "as written")
    assert subject.startswith("EMERGENCY EM-20261205-000001")
    assert body == "patient safety at risk: 检查床无法退出. Acknowledge by 2026-12-05 16:09."
    assert "+00:00" not in body and "T08:09" not in body


def test_without_a_template_a_message_is_sent_as_written():
    assert render(None, {}, "en", None, "派工 case 1", "症状") == ("派工 case 1", "症状")
    assert render("no-such-template", {}, "en", None, "s", "b") == ("s", "b")


def test_a_channel_words_an_outbox_row_for_its_recipient():
    message = Notification(case_id="EM-1", person_id="EN-01", subject="fallback", body="fallback",
                           template="page", params=PAGE, dedupe_key="EM-1/1/0/EN-01")
    assert worded(message, Person(id="EN-01", name="张伟", language="en"))[0].startswith(
        "EMERGENCY")
    assert worded(message, Person(id="EN-01", name="张伟", language="zh-CN"))[0].startswith(
        "应急呼叫")
    assert NoticeRequest(subject="s", body="b").template is None, "optional: workflows unchanged"
    assert all(set(texts) == {"zh-CN", "en"} for texts in TEMPLATES.values())
