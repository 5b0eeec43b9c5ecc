"""The SLA report: numbers worked out by hand on a set of commitments, and, over the API and
the CLI, numbers that agree with the case pages of the cases they count."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from caseflow.domain.reports import percentile, sla_report
from caseflow.store.models import Equipment, Hospital
from tests.test_api import headers, open_case, walk_to

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def view(key: str, started: datetime, *, met_after: timedelta | None = None,
         due_after: timedelta = 30 * MIN, breached: bool = False, paused: float = 0,
         levels: tuple[int, ...] = ()) -> dict[str, Any]:
    met = started + met_after if met_after is not None else None
    due = started + due_after
    late = met is not None and met > due
    state = ("met_late" if late else "met") if met else ("breached" if breached else "open")
    return {"key": key, "label": key, "round": 1, "state": state, "calendar": "7x24",
            "started_at": started.isoformat(), "due_at": due.isoformat(),
            "met_at": met.isoformat() if met else None, "waived_at": None,
            "waived_reason": None, "breached": late or breached,
            "breached_at": due.isoformat() if late or breached else None,
            "paused_seconds": paused, "escalation_level": max(levels, default=0),
            "warned": False,
            "fired": [{"level": lvl, "notify": "supervisor", "scheduled_at": due.isoformat(),
                       "fired_at": due.isoformat()} for lvl in levels]}


def test_the_report_counts_met_late_breached_and_times_to_meet():
    cases = [
        {"case_id": "A", "kind": "repair", "severity": "severe", "hospital_id": "H1",
         "opened_at": T0, "commitments": [
             view("arrival", T0, met_after=10 * MIN),
             view("restore", T0, met_after=timedelta(hours=6), due_after=timedelta(hours=24))]},
        {"case_id": "B", "kind": "repair", "severity": "severe", "hospital_id": "H1",
         "opened_at": T0, "commitments": [
             # 50 minutes, 10 of them paused: 40 working minutes, late (due in 30).
             view("arrival", T0, met_after=50 * MIN, paused=600, levels=(1,)),
             view("restore", T0, met_after=timedelta(hours=10), due_after=timedelta(hours=24))]},
        {"case_id": "C", "kind": "repair", "severity": "severe", "hospital_id": "H1",
         "opened_at": T0, "commitments": [
             view("arrival", T0, breached=True, levels=(1, 2)),
             view("restore", T0, due_after=timedelta(hours=24))]},
    ]
    report = sla_report(cases, T0, T0 + timedelta(days=1))
    arrival = next(r for r in report.rows if r.commitment == "arrival")
    assert (arrival.cases, arrival.met, arrival.met_late, arrival.breached_open) == (3, 1, 1, 1)
    assert arrival.met_percent == 33.3
    assert arrival.median_minutes_to_meet == 25.0  # (10 + 40) / 2
    assert arrival.p90_minutes_to_meet == 40.0
    assert arrival.escalations_by_level == {1: 2, 2: 1}
    restore = next(r for r in report.rows if r.commitment == "restore")
    assert (restore.met, restore.open, restore.met_percent) == (2, 1, 100.0)
    assert report.mean_hours_to_restore == {"severe": 8.0}
    assert report.cases == 3
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0 and percentile([], 0.9) is None


def test_a_commitment_waived_after_its_breach_counts_as_breached_not_waived():
    """A hand-over check nobody did is waived when the repair is resolved: the breach stays in
    the report (and the weekly compliance built on it), only a waiver before due is left out."""
    missed = view("handover", T0, due_after=60 * MIN, breached=True, levels=(1,))
    missed.update(state="waived", waived_at=(T0 + timedelta(hours=5)).isoformat(),
                  waived_reason="resolved")
    spared = view("handover", T0, due_after=60 * MIN)
    spared.update(state="waived", waived_at=(T0 + 30 * MIN).isoformat(), waived_reason="resolved")
    cases = [{"case_id": case_id, "kind": "repair", "severity": "general", "hospital_id": "H1",
              "opened_at": T0, "commitments": [commitment]}
             for case_id, commitment in (("A", missed), ("B", spared),
                                          ("C", view("handover", T0, met_after=20 * MIN)))]
    handover = sla_report(cases, T0, T0 + timedelta(days=1)).rows[0]
    assert (handover.met, handover.breached_open, handover.waived) == (1, 1, 1)
    assert handover.met_percent == 50.0


def new_hospital_unit(sessions) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    hospital_id, serial = f"H-R{uuid.uuid4().hex[:8]}", f"CT-R{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Hospital(id=hospital_id, name="报表测试医院"))
        session.flush()
        today = datetime.now(timezone.utc).date()
        session.add(Equipment(serial=serial, hospital_id=hospital_id, modality="CT",
                              brand="GE", model="Revolution CT", department="放射科",
                              warranty_start=today - timedelta(days=365),
                              warranty_end=today + timedelta(days=365)))
    return hospital_id, serial


async def test_report_numbers_agree_with_the_case_pages(api, tokens, sessions):
    hospital_id, serial = new_hospital_unit(sessions)
    arrived = await open_case(api, tokens, serial=serial, hospital=hospital_id,
                              severity="severe")
    waiting = await open_case(api, tokens, serial=serial, hospital=hospital_id,
                              severity="severe")
    await walk_to(api, tokens, arrived, "on_site")
    response = await api.get("/v1/reports/sla", params={"hospital_id": hospital_id},
                             headers=headers(tokens, "manager"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["cases"] == 2
    rows = {row["commitment"]: row for row in report["rows"]}
    pages = [(await api.get(f"/v1/cases/{c}", headers=headers(tokens, "manager"))).json()
             for c in (arrived, waiting)]
    states = [next(c["state"] for c in page["commitments"] if c["key"] == "arrival")
              for page in pages]
    assert states == ["met", "open"]
    arrival = rows["arrival"]
    assert (arrival["cases"], arrival["met"], arrival["open"], arrival["met_percent"]) == (
        2, 1, 1, 100.0)
    assert arrival["kind"] == "repair" and arrival["severity"] == "severe"

    env = {**os.environ, "CASEFLOW_LOG_LEVEL": "WARNING",
           "DATABASE_URL": sessions.kw["bind"].url.render_as_string(hide_password=False)}
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "sla", "--json",
                           "--hospital", hospital_id], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == report["rows"]

    for params, role, status in (({}, "hotline", 403),
                                 ({"from": "2026-11-22", "to": "2026-11-01"}, "manager", 422),
                                 ({"from": "yesterday"}, "manager", 422)):
        response = await api.get("/v1/reports/sla", params=params, headers=headers(tokens, role))
        assert response.status_code == status, (params, response.text)


def candidate_policy(tmp_path, arrival: str = "60m"):  # type: ignore[no-untyped-def]
    """The default policy with a different on-site time for severe repairs."""
    from pathlib import Path

    import caseflow

    text = (Path(caseflow.__file__).parent / "policy" / "default.yaml").read_text("utf-8")
    changed = text.replace("severe:   {within: 30m", f"severe:   {{within: {arrival}")
    assert changed != text
    path = tmp_path / "candidate.yaml"
    path.write_text(changed, "utf-8")
    return path


def test_what_if_recomputes_each_decided_commitment_under_the_candidate(tmp_path):
    from caseflow.domain.policy_loader import load_policy
    from caseflow.domain.reports import what_if

    candidate = load_policy(candidate_policy(tmp_path))
    cases = [
        {"case_id": c, "kind": "repair", "severity": "severe", "hospital_id": "H1",
         "opened_at": T0, "commitments": [arrival]}
        for c, arrival in (("A", view("arrival", T0, met_after=10 * MIN)),
                           ("B", view("arrival", T0, met_after=50 * MIN)),
                           ("C", view("arrival", T0, met_after=90 * MIN)),
                           ("D", view("arrival", T0, breached=True)),
                           ("E", view("arrival", T0)))]  # still open: not decided
    report = what_if(cases, lambda case: candidate.pin(None, case["opened_at"]), T0,
                     T0 + timedelta(days=1))
    (row,) = report.rows
    assert (row.decided, row.recomputed) == (4, 4)
    assert (row.met_percent_now, row.met_percent_candidate) == (25.0, 50.0)
    assert (row.now_missed_candidate_met, row.now_met_candidate_missed) == (1, 0)
    stricter = load_policy(candidate_policy(tmp_path, "5m"))
    report = what_if(cases, lambda case: stricter.pin(None, case["opened_at"]), T0,
                     T0 + timedelta(days=1))
    assert report.rows[0].now_met_candidate_missed == 1  # A, on site in 10 of 5 minutes


async def test_what_if_over_the_cli_reads_the_closed_cases(api, tokens, sessions, tmp_path):
    hospital_id, serial = new_hospital_unit(sessions)
    closed = await open_case(api, tokens, serial=serial, hospital=hospital_id, severity="severe")
    await walk_to(api, tokens, closed, "closed")
    env = {**os.environ, "CASEFLOW_LOG_LEVEL": "WARNING",
           "DATABASE_URL": sessions.kw["bind"].url.render_as_string(hide_password=False)}
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "what-if", "--json",
                           "--policy", str(candidate_policy(tmp_path, "5m")),
                           "--hospital", hospital_id], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["cases"] == 1
    arrival = next(r for r in result["rows"] if r["commitment"] == "arrival")
    assert arrival["decided"] == 1 and arrival["met_percent_now"] == 100.0
    # On site within seconds over the API: it stays met even in 5 minutes.
    assert arrival["met_percent_candidate"] == 100.0
    bad = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "what-if",
                          "--policy", str(tmp_path / "missing.yaml")], capture_output=True,
                         text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "candidate" in bad.stderr


async def test_the_sla_report_on_the_command_line_in_each_format(api, tokens, sessions):
    """Results on standard output only (`> file` keeps them), a table readable at 80 columns,
    CSV for spreadsheets and JSON for tools, with the same numbers."""
    hospital_id, serial = new_hospital_unit(sessions)
    closed = await open_case(api, tokens, serial=serial, hospital=hospital_id, severity="severe")
    await walk_to(api, tokens, closed, "closed")
    env = {**os.environ, "CASEFLOW_LOG_LEVEL": "WARNING", "COLUMNS": "80",
           "DATABASE_URL": sessions.kw["bind"].url.render_as_string(hide_password=False)}

    def report(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "sla",
                               "--hospital", hospital_id, *args], capture_output=True,
                              text=True, env=env, timeout=60)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return done

    as_json = json.loads(report("--format", "json").stdout)
    arrival = next(r for r in as_json["rows"] if r["commitment"] == "arrival")
    assert as_json["cases"] == 1 and arrival["met"] == 1
    rows = list(csv.DictReader(io.StringIO(report("--format", "csv").stdout)))
    assert {r["commitment"] for r in rows} == {r["commitment"] for r in as_json["rows"]}
    by_csv = next(r for r in rows if r["commitment"] == "arrival")
    assert (by_csv["kind"], by_csv["severity"], by_csv["met"], by_csv["met_percent"]) == (
        "repair", "severe", "1", "100.0")
    table = report().stdout
    assert all(len(line) <= 80 for line in table.splitlines()), table
    assert "arrival" in table and hospital_id in table and "1 cases opened" in table
    assert json.loads(report("--json").stdout) == as_json


async def test_the_sla_report_as_csv_has_the_rows_of_the_json_and_its_refusals(
        api, tokens, sessions):
    """GET /v1/reports/sla.csv (the console's download): the JSON report's rows, as the CLI
    writes them, UTF-8 with a byte-order mark; the same refusals, and 404 for a hospital that
    does not exist (for the JSON report too)."""
    hospital_id, serial = new_hospital_unit(sessions)
    case_id = await open_case(api, tokens, serial=serial, hospital=hospital_id, severity="severe")
    await walk_to(api, tokens, case_id, "on_site")
    params = {"hospital_id": hospital_id}
    as_json = (await api.get("/v1/reports/sla", params=params,
                             headers=headers(tokens, "auditor"))).json()
    response = await api.get("/v1/reports/sla.csv", params=params,
                             headers=headers(tokens, "auditor"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="sla-' in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["kind"], r["severity"], r["commitment"]) for r in rows] == [
        (r["kind"], r["severity"], r["commitment"]) for r in as_json["rows"]]
    arrival = next(r for r in rows if r["commitment"] == "arrival")
    assert (arrival["hospital_id"], arrival["met"], arrival["met_percent"]) == (
        hospital_id, "1", "100.0")

    for path in ("/v1/reports/sla", "/v1/reports/sla.csv"):
        unknown = await api.get(path, params={"hospital_id": "H-NO-SUCH"},
                                headers=headers(tokens, "manager"))
        assert unknown.status_code == 404 and "H-NO-SUCH" in unknown.json()["detail"], path
    assert (await api.get("/v1/reports/sla.csv", headers=headers(tokens, "engineer"))
            ).status_code == 403
    for params, loc in (({"from": "2026-11-22", "to": "2026-11-01"}, ["query", "to"]),
                        ({"from": "yesterday"}, ["query", "from"]),
                        ({"kind": "repiar"}, ["query", "kind"])):
        refused = await api.get("/v1/reports/sla.csv", params=params,
                                headers=headers(tokens, "manager"))
        assert refused.status_code == 422, refused.text
        assert [d["loc"] for d in refused.json()["detail"]] == [loc], refused.text
