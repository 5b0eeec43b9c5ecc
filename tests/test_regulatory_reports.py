"""The regulatory board and the SLA report's regulatory section as pure functions of the
commitments an adverse event's page shows: which commitments are reports, which are overdue,
their order, and what is counted on time, late and open overdue."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from caseflow.domain.regulatory_reports import regulatory_board, regulatory_rows, report_of

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def commitment(key: str, state: str, due_in_hours: float, **extra: Any) -> dict[str, Any]:
    due = NOW + timedelta(hours=due_in_hours)
    return {"key": key, "label": key, "round": 1, "state": state, "calendar": "7x24",
            "started_at": (due - timedelta(days=15)).isoformat(), "due_at": due.isoformat(),
            "met_at": extra.get("met_at"), "waived_at": None, "waived_reason": None,
            "breached": state == "breached" or extra.get("breached", False),
            "breached_at": None, "paused_seconds": 0, "escalation_level": 0, "warned": False,
            "fired": []}


def event(case_id: str, event_type: str, *commitments: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": case_id, "kind": "adverse_event", "hospital_id": "H-DH",
            "equipment_serial": "CT-DH-0001", "event_type": event_type, "status": "recorded",
            "assignee_id": "RA-01", "commitments": list(commitments)}


def test_only_report_and_follow_up_commitments_are_reports():
    assert report_of("report:CN") == ("CN", "initial")
    assert report_of("follow_up:EU:F2") == ("EU", "F2")
    assert report_of("evaluation") is None and report_of("report:cn") is None
    assert report_of("follow_up:EU") is None
    assert report_of("group_case:CN") == ("CN", "group_case")


def test_the_board_puts_overdue_reports_first_then_by_time_left_per_jurisdiction():
    board = regulatory_board([
        event("AE-1", "death", commitment("report:EU", "open", 48),
              commitment("report:CN", "met", -1, met_at=NOW.isoformat()),
              commitment("evaluation", "open", 300)),
        # past due but its breach not recorded yet: overdue all the same
        event("AE-2", "serious_injury", commitment("report:EU", "open", -2)),
        event("AE-3", "malfunction", commitment("report:EU", "breached", -30),
              commitment("follow_up:EU:F1", "open", 5)),
    ], NOW, {"CN": "NMPA", "US": "FDA", "EU": "MDR"})
    columns = {c.jurisdiction: c for c in board.columns}
    assert list(columns) == ["CN", "US", "EU"] and board.events == 3
    assert columns["CN"].items == [] and columns["US"].due == 0
    eu = columns["EU"]
    assert [(i.case_id, i.report, i.overdue) for i in eu.items] == [
        ("AE-3", "initial", True), ("AE-2", "initial", True), ("AE-3", "F1", False),
        ("AE-1", "initial", False)]
    assert (eu.due, eu.overdue) == (4, 2)
    assert eu.items[0].remaining_seconds == -30 * 3600


def test_a_jurisdiction_no_longer_in_the_policy_keeps_a_column_of_its_own():
    board = regulatory_board([event("AE-9", "death", commitment("report:UK", "open", 1))], NOW,
                             {"CN": "NMPA"})
    assert [(c.jurisdiction, c.regulator, c.due) for c in board.columns] == [
        ("CN", "NMPA", 0), ("UK", "UK", 1)]


def test_the_regulatory_section_counts_on_time_late_and_open_overdue_by_type():
    rows = regulatory_rows([
        event("AE-1", "death", commitment("report:CN", "met", -1, met_at=NOW.isoformat()),
              commitment("report:EU", "met_late", -1, met_at=NOW.isoformat()),
              commitment("evaluation", "open", 100)),
        event("AE-2", "death", commitment("report:CN", "breached", -5),
              commitment("follow_up:CN:F1", "open", 10)),
        event("AE-3", "malfunction", commitment("report:CN", "waived", 3)),
        {**event("RP-1", "", commitment("report:CN", "breached", -5)), "kind": "repair"},
    ])
    found = {(r.jurisdiction, r.event_type, r.report): r for r in rows}
    assert set(found) == {("CN", "death", "initial"), ("EU", "death", "initial"),
                          ("CN", "death", "follow_up")}
    cn = found[("CN", "death", "initial")]
    assert (cn.events, cn.reports, cn.met, cn.breached_open, cn.met_percent) == (2, 2, 1, 1, 50.0)
    assert found[("EU", "death", "initial")].met_late == 1
    assert found[("EU", "death", "initial")].met_percent == 0.0
    follow = found[("CN", "death", "follow_up")]
    assert (follow.open, follow.met_percent) == (1, None)


def test_a_case_of_a_group_event_owes_its_24_hour_clock_on_the_board_and_in_the_section():
    """Its own 24-hour clock (group_case:CN) beside its 20-day report: overdue on the board,
    and counted under its own report in the regulatory section."""
    member = event("AE-5", "malfunction", commitment("report:CN", "open", 400),
                   commitment("group_case:CN", "breached", -3))
    cn = next(c for c in regulatory_board([member], NOW, {"CN": "NMPA"}).columns
              if c.jurisdiction == "CN")
    assert [(i.report, i.overdue) for i in cn.items] == [("group_case", True),
                                                         ("initial", False)]
    rows = {(r.jurisdiction, r.report): r for r in regulatory_rows([member])}
    assert rows[("CN", "group_case")].breached_open == 1 and rows[("CN", "initial")].open == 1


def test_a_case_of_a_group_event_is_late_in_its_report_file_when_it_missed_the_24_hours():
    """Submitted within its 20 days but after the group's 24 hours: the report file says late,
    as its own submit step recorded, and the report is due at the earlier of its clocks."""
    from caseflow.domain.report_file import _report

    submitted = NOW - timedelta(hours=1)
    raw = {"id": "initial", "key": "report:CN", "jurisdiction": "CN", "regulator": "NMPA",
           "kind": "initial", "within": "20d", "calendar": "7x24", "source": "2018 measures",
           "due_at": (NOW + timedelta(days=19)).isoformat(),
           "group_due_at": (NOW - timedelta(hours=5)).isoformat(),
           "submission": {"submitted_at": submitted.isoformat(), "channel": "NMPA system",
                          "reference": "R-1", "by": {"id": "RA-01", "name": "RA"},
                          "recorded_at": submitted.isoformat()}}
    states = {"report:CN": {"state": "met"}, "group_case:CN": {"state": "met_late"}}
    found = _report(raw, states, NOW)
    assert found.state == "late" and found.due_at == NOW - timedelta(hours=5)
    assert found.late_hours == 4.0
    on_time = _report(raw, {**states, "group_case:CN": {"state": "met"}}, NOW)
    assert on_time.state == "on_time"
