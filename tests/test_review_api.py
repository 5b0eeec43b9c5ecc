"""Reportability reviews over the API (dev server, PostgreSQL): a complaint opens its review;
only regulatory affairs decides (403 for the others), "not an adverse event" without a reason
is a 422 naming the field; auditors read everything; engineers and the hotline see that the
review exists and its status, never its deliberations (decision, reason, author), in the view,
the timeline, the live feed, the event re-fetch, the history or the export."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from caseflow.store.models import Case, CaseEventRow
from tests.test_api import headers, new_key
from tests.test_complaint_api import complaint_body
from tests.waiting import until

Json = dict[str, Any]
REASON = "检查床限位开关失效,可能导致患者受伤"


async def review_of(api, tokens, case_id: str) -> str:  # type: ignore[no-untyped-def]
    async def find() -> str | None:
        view = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))).json()
        return next((link["case_id"] for link in view.get("linked_cases", [])
                     if link["kind"] == "review"), None)

    return await until(find, f"{case_id} opens its reportability review")


async def decide(api, tokens, review_id: str, role: str, **body: Any):  # type: ignore[no-untyped-def]
    return await api.post(f"/v1/reviews/{review_id}/actions/decide", json=body,
                          headers=headers(tokens, role, new_key()))


async def test_a_complaint_is_reviewed_by_regulatory_affairs_only(api, tokens, sessions):
    recorded = await api.post("/v1/complaints", json=complaint_body(
        equipment_serial="CT-DH-0001", category="equipment_failure", patient_harmed="yes",
        matter="检查床下降时夹伤患者手指"), headers=headers(tokens, "hotline", new_key()))
    assert recorded.status_code == 201, recorded.text
    complaint_id = recorded.json()["case_id"]
    review_id = await review_of(api, tokens, complaint_id)
    assert review_id.startswith("RV-")
    pending = (await api.get(f"/v1/cases/{review_id}", headers=headers(tokens, "regulatory")))
    assert pending.status_code == 200 and pending.json()["status"] == "pending"
    assert pending.json()["flags"] == ["complaint_categories:equipment_failure",
                                       "patient_harmed:yes"]
    listed = (await api.get("/v1/cases", params={"kind": "review", "status": "pending"},
                            headers=headers(tokens, "regulatory"))).json()["items"]
    assert review_id in [item["case_id"] for item in listed]

    for role in ("hotline", "engineer", "supervisor", "manager", "auditor"):
        refused = await decide(api, tokens, review_id, role, decision="not_adverse_event",
                               reason="服务问题")
        assert refused.status_code == 403, (role, refused.text)
    no_reason = await decide(api, tokens, review_id, "regulatory", decision="not_adverse_event")
    assert no_reason.status_code == 422, no_reason.text
    assert no_reason.json()["detail"][0]["loc"][-1] == "reason"
    blank = await decide(api, tokens, review_id, "regulatory", decision="not_adverse_event",
                         reason="   ")
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"][-1] == "reason"
    no_type = await decide(api, tokens, review_id, "regulatory", decision="possibly_reportable")
    assert no_type.status_code == 422 and no_type.json()["detail"][0]["loc"][-1] == "event_type"
    still = (await api.get(f"/v1/cases/{review_id}", headers=headers(tokens, "auditor"))).json()
    assert still["status"] == "pending" and still["steps"] == []  # a refusal writes nothing

    decided = await decide(api, tokens, review_id, "regulatory", decision="possibly_reportable",
                           event_type="serious_injury", reason=REASON)
    assert decided.status_code == 200, decided.text
    assert (decided.json()["decision"], decided.json()["reason"]) == ("possibly_reportable",
                                                                      REASON)
    assert decided.json()["decided_by"]["id"] == "RA-01"
    again = await decide(api, tokens, review_id, "regulatory", decision="not_adverse_event",
                         reason="再次决定")
    assert again.status_code == 409, again.text

    async def event_id() -> str | None:
        view = (await api.get(f"/v1/cases/{review_id}", headers=headers(tokens, "auditor"))).json()
        return next((link["case_id"] for link in view["linked_cases"]
                     if link["kind"] == "adverse_event"), None)

    opened = await until(event_id, "the review opens the adverse event")
    event = (await api.get(f"/v1/cases/{opened}", headers=headers(tokens, "auditor"))).json()
    with sessions() as session:
        intake_at = session.scalar(select(Case.opened_at).where(Case.case_id == complaint_id))
    assert datetime.fromisoformat(event["aware_at"]) == intake_at
    assert event["origin"]["case_id"] == complaint_id and event["review_id"] == review_id
    assert event["intake"]["description"] == REASON  # Chinese round-trips


async def test_engineers_and_the_hotline_see_a_review_exists_not_its_deliberations(
        api, tokens, sessions):
    recorded = await api.post("/v1/complaints", json=complaint_body(
        equipment_serial="CT-DH-0001", matter="报修后工程师迟到"),
        headers=headers(tokens, "hotline", new_key()))
    complaint_id = recorded.json()["case_id"]
    review_id = await review_of(api, tokens, complaint_id)
    decided = await decide(api, tokens, review_id, "regulatory", decision="not_adverse_event",
                           reason=REASON)
    assert decided.status_code == 200, decided.text

    for role in ("hotline", "engineer", "supervisor"):
        view = (await api.get(f"/v1/cases/{review_id}", headers=headers(tokens, role)))
        assert view.status_code == 200, (role, view.text)
        seen = view.json()
        assert seen["status"] == "decided" and seen["deliberations_hidden"] is True
        assert seen["decision"] is None and seen["reason"] is None
        assert seen["decided_by"] is None
        assert REASON not in view.text and "RA-01" not in view.text, role
        timeline = await api.get(f"/v1/cases/{review_id}/timeline",
                                 headers=headers(tokens, role))
        assert timeline.status_code == 200
        step = next(e for e in timeline.json() if e["event"] == "decide")
        assert step["data"] == {} and step["actor"]["id"] == ""
        assert REASON not in timeline.text, role
        # who decided is not shown (regulatory affairs being told of the review is)
        assert all(e["actor"].get("id") != "RA-01" for e in timeline.json()
                   if e["source"] == "case"), role
        for what in ("history", "export"):
            refused = await api.get(f"/v1/cases/{review_id}/{what}",
                                    headers=headers(tokens, role))
            assert refused.status_code == 403, (role, what, refused.text)

    for role in ("auditor", "regulatory", "manager"):
        view = (await api.get(f"/v1/cases/{review_id}", headers=headers(tokens, role))).json()
        assert (view["decision"], view["reason"], view["decided_by"]["id"]) == (
            "not_adverse_event", REASON, "RA-01"), role
        assert view["deliberations_hidden"] is False
    timeline = (await api.get(f"/v1/cases/{review_id}/timeline",
                              headers=headers(tokens, "auditor"))).json()
    step = next(e for e in timeline if e["event"] == "decide")
    assert step["data"]["reason"] == REASON and step["actor"]["id"] == "RA-01"
    history = await api.get(f"/v1/cases/{review_id}/history", headers=headers(tokens, "auditor"))
    assert history.status_code == 200 and history.json()["events"]

    with sessions() as session:
        row_id = session.scalar(select(CaseEventRow.id).where(
            CaseEventRow.case_id == review_id, CaseEventRow.event == "decide"))
    for role, status in (("hotline", 403), ("supervisor", 403), ("auditor", 200)):
        fetched = await api.get(f"/v1/events/{row_id}", headers=headers(tokens, role))
        assert fetched.status_code == status, (role, fetched.text)
    live = await api.get("/v1/live", params={"follow": "false"},
                         headers=headers(tokens, "hotline") | {"Last-Event-ID": f"{row_id - 1}.0"})
    frames = [json.loads(line[5:]) for line in live.text.splitlines()
              if line.startswith("data:") and '"decide"' in line]
    assert frames and all(f["data"] == {} and f["actor"]["id"] == "" for f in frames
                          if f.get("case_id") == review_id)
    assert REASON not in live.text
