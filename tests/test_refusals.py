"""Refusals carry a stable reason code and its values beside the English message, so the
console words them in the reader's language (docs/api.md "Errors")."""

from __future__ import annotations

import re
from pathlib import Path

import caseflow
from caseflow.api.refusals import REASONS, VALUE_REASONS, reason_of
from caseflow.domain.errors import InvalidPayload, InvalidTransition, NotAssignee
from tests.test_api import headers, new_key, open_case


def test_reasons_are_read_off_the_error_its_field_and_its_message():
    assert reason_of(InvalidTransition("cannot resolve while the case is on_site; allowed now: "
                                       "report-site, progress")) == (
        "not_in_status", {"action": "resolve", "status": "on_site",
                          "allowed": "report-site, progress"})
    assert reason_of(InvalidPayload("must pass before the repair is resolved",
                                    field="verification.image_quality")) == ("must_pass", {})
    assert reason_of(NotAssignee("acknowledge: case EM-20261122-000001 is not assigned to you")) \
        == ("not_your_case", {"action": "acknowledge", "case_id": "EM-20261122-000001"})
    assert reason_of(InvalidTransition("something new")) == ("not_allowed_now", {}), \
        "a message without a row gets its error type's general reason"
    assert len({r.code for r in REASONS}) > 30


async def test_a_step_refused_by_the_workflow_says_why_by_code(api, tokens):
    case_id = await open_case(api, tokens, severity="general")
    path = f"/v1/cases/{case_id}/actions"
    early = await api.post(f"{path}/resolve", json={"summary": "x", "verification": {}},
                           headers=headers(tokens, "engineer", new_key()))
    assert early.status_code == 422, early.text
    assert early.json()["detail"][0]["reason"] == "missing", "pydantic's type is the reason"

    assigned = await api.post(f"{path}/assign", json={"engineer_id": "EN-01"},
                              headers=headers(tokens, "supervisor", new_key()))
    assert assigned.status_code == 200, assigned.text
    other = await api.post(f"{path}/acknowledge", json={},
                           headers=headers(tokens, "engineer2", new_key()))
    assert other.status_code == 403
    assert other.json()["code"] == "NotAssignee" and other.json()["reason"] == "not_your_case"
    assert other.json()["params"]["action"] == "acknowledge"

    wrong_state = await api.post(f"{path}/parts-arrived", json={},
                                 headers=headers(tokens, "engineer", new_key()))
    assert wrong_state.status_code == 409, wrong_state.text
    assert wrong_state.json()["reason"] == "not_in_status"
    assert wrong_state.json()["params"]["status"] == "assigned"


async def test_a_refused_password_names_its_reason_not_only_its_english_message(api, tokens):
    refused = await api.post("/v1/people", json={"id": "EN-RZ1", "name": "测试", "role": "engineer",
                                                 "username": "refusal1", "password": "short1"},
                             headers=headers(tokens, "admin"))
    assert refused.status_code == 422
    item = refused.json()["detail"][0]
    assert item["loc"] == ["body", "password"] and item["reason"] == "password_length"


async def test_a_period_ending_before_it_starts_is_refused_with_a_reason(api, tokens):
    for path in ("/v1/reports/sla", "/v1/reliability/figures"):
        refused = await api.get(path, params={"from": "2026-12-01", "to": "2026-11-01"},
                                headers=headers(tokens, "manager"))
        assert refused.status_code == 422, (path, refused.text)
        item = refused.json()["detail"][0]
        assert (item["loc"], item["reason"], item["params"]) == (
            ["query", "to"], "must_be_after", {"after": "from"}), path


async def test_a_time_zone_nobody_knows_is_refused_with_a_reason(api, tokens):
    refused = await api.post("/v1/people", json={"id": "EN-TZ1", "name": "测试", "role": "engineer",
                                                 "time_zone": "Mars/Olympus"},
                             headers=headers(tokens, "admin"))
    assert refused.status_code == 422
    item = refused.json()["detail"][0]
    assert item["loc"] == ["body", "time_zone"] and item["reason"] == "unknown_time_zone"
    assert item["params"] == {"zone": "Mars/Olympus"}


def test_the_console_words_every_reason_code_the_api_gives_in_both_languages():
    """A reason the console does not know would be worded only generally: each code of the
    API's tables has its zh-CN and English wording in console/i18n.js."""
    source = (Path(caseflow.__file__).parent / "console" / "i18n.js").read_text(encoding="utf-8")
    block = source[source.index("const REFUSALS = {"):]
    block = block[:block.index("\n};")]
    worded = dict(re.findall(r'(?:^|[{,])\s*(\w+): \[("[^"]*"), "[^"]*"\]', block, re.M))
    codes = {row.code for row in REASONS} | {code for _, code in VALUE_REASONS}
    assert sorted(codes - set(worded)) == []
    assert all(re.search(r"[\u4e00-\u9fff]", worded[code]) for code in codes), "zh-CN first"
