"""What the console needs from the API: the actions a person may take now with their payload
schemas, the look-ups behind its forms, SLA compliance by week, and its own files."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta, timezone
from fnmatch import fnmatch
from pathlib import Path

import caseflow
from caseflow.domain.reports import week_of, weekly_compliance
from caseflow.store.people import issue_token
from tests.test_api import headers, new_key, open_case
from tests.test_reports import view


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [a["action"] for a in response.json()["actions"]]


async def test_actions_are_what_the_case_allows_now_for_the_role_with_schemas(api, tokens):
    case_id = await open_case(api, tokens, severity="general")  # awaiting_assignment
    path = f"/v1/cases/{case_id}/actions"
    supervisor = await api.get(path, headers=headers(tokens, "supervisor"))
    assert names(supervisor) == ["reclassify", "assign", "pause"]  # not paused: no resume
    assert supervisor.json()["status"] == "awaiting_assignment"
    assign = next(a for a in supervisor.json()["actions"] if a["action"] == "assign")
    assert assign["summary"] == "assign (or re-assign) the engineer"
    assert assign["payload_schema"]["required"] == ["engineer_id"]
    assert assign["people"] == [{"field": "engineer_id", "name_field": "engineer_name",
                                 "within": None, "roles": ["engineer"]}]
    assert names(await api.get(path, headers=headers(tokens, "hotline"))) == ["pause"]
    assert names(await api.get(path, headers=headers(tokens, "engineer"))) == []
    assert names(await api.get(path, headers=headers(tokens, "auditor"))) == []

    assigned = await api.post(f"/v1/cases/{case_id}/actions/assign", json={"engineer_id": "EN-01"},
                              headers=headers(tokens, "supervisor", new_key()))
    assert assigned.status_code == 200, assigned.text
    engineer = await api.get(path, headers=headers(tokens, "engineer"))
    assert names(engineer) == ["acknowledge", "progress"]
    assert names(await api.get(path, headers=headers(tokens, "engineer2"))) == [], \
        "another engineer may read the case but take no step on it"
    progress = next(a for a in engineer.json()["actions"] if a["action"] == "progress")
    assert progress["payload_schema"]["properties"]["note"]["type"] == "string"
    assert progress["people"] == []


async def test_actions_of_an_unknown_case_are_404(api, tokens):
    response = await api.get("/v1/cases/RP-19990101-999999/actions",
                             headers=headers(tokens, "supervisor"))
    assert response.status_code == 404


async def test_hospitals_and_equipment_look_up_by_hospital_and_by_text(api, tokens, sessions):
    hospitals = await api.get("/v1/hospitals", headers=headers(tokens, "hotline"))
    assert hospitals.status_code == 200
    assert {"id": "H-DH", "name": "东湖县人民医院", "name_en": "Donghu County People's Hospital",
            "region": "华东"} in hospitals.json()
    by_hospital = await api.get("/v1/equipment", params={"hospital_id": "H-JB"},
                                headers=headers(tokens, "hotline"))
    assert [u["serial"] for u in by_hospital.json()] == ["CT-JB-0003", "MR-JB-0004"]
    assert by_hospital.json()[0]["hospital_name"].startswith("江北市第一医院")
    by_text = await api.get("/v1/equipment", params={"q": "dh-000"},
                            headers=headers(tokens, "hotline"))
    assert [u["serial"] for u in by_text.json()] == ["CT-DH-0001", "MR-DH-0002"]
    by_department = await api.get("/v1/equipment", params={"q": "磁共振"},
                                  headers=headers(tokens, "hotline"))
    assert [u["serial"] for u in by_department.json()] == ["MR-DH-0002"]
    wildcard = await api.get("/v1/equipment", params={"q": "%"}, headers=headers(tokens, "hotline"))
    assert wildcard.json() == [], "% is a character to find, not a wildcard"
    control = await api.get("/v1/equipment", params={"q": "CT\x00"},
                            headers=headers(tokens, "hotline"))
    assert control.status_code == 422 and control.json()["detail"][0]["loc"] == ["query", "q"]

    with sessions.begin() as session:
        jb_engineer = {"Authorization": f"Bearer {issue_token(session, 'EN-03', 'scope')[0]}"}
    assert [h["id"] for h in (await api.get("/v1/hospitals", headers=jb_engineer)).json()] \
        == ["H-JB"]
    assert {u["hospital_id"] for u in (await api.get(
        "/v1/equipment", params={"q": "CT"}, headers=jb_engineer)).json()} == {"H-JB"}


async def test_staff_lists_people_who_take_cases_by_role_and_hospital(api, tokens):
    engineers = await api.get("/v1/staff", params={"role": "engineer"},
                              headers=headers(tokens, "supervisor"))
    assert engineers.status_code == 200
    found = {p["id"]: p for p in engineers.json()}
    assert {"EN-01", "EN-02", "EN-03"} <= set(found)
    assert found["EN-01"] == {"id": "EN-01", "name": "张伟", "role": "engineer",
                              "hospital_id": None}
    assert {p["role"] for p in engineers.json()} == {"engineer"}
    two = await api.get("/v1/staff", params={"role": ["engineer", "supervisor"]},
                        headers=headers(tokens, "manager"))
    found = {p["id"]: p for p in two.json()}
    assert {"EN-01", "EN-03", "SV-01", "SV-02"} <= set(found)
    assert found["SV-02"]["hospital_id"] == "H-JB"
    assert {p["role"] for p in two.json()} == {"engineer", "supervisor"}
    everyone = await api.get("/v1/staff", headers=headers(tokens, "admin"))
    assert not {"AU-01", "AD-01"} & {p["id"] for p in everyone.json()}


def test_weekly_compliance_counts_each_case_in_its_local_week():
    monday = date(2026, 11, 2)
    # 2026-11-08 17:00 UTC is Monday 9 November 01:00 in Shanghai: the second week.
    late_sunday = datetime(2026, 11, 8, 17, 0, tzinfo=timezone.utc)
    first = datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc)
    cases = [
        {"case_id": "A", "kind": "repair", "severity": "general", "hospital_id": "H1",
         "opened_at": first, "commitments": [
             view("arrival", first, met_after=timedelta(minutes=10)),
             view("restore", first, breached=True)]},
        {"case_id": "B", "kind": "repair", "severity": "general", "hospital_id": "H1",
         "opened_at": late_sunday, "commitments": [
             view("arrival", late_sunday, met_after=timedelta(minutes=40)),
             view("restore", late_sunday)]},
    ]
    weeks = [monday, monday + timedelta(days=7), monday + timedelta(days=14)]
    found = weekly_compliance(cases, weeks, "Asia/Shanghai")
    assert [w.week_from for w in found] == weeks
    assert [(w.cases, w.met, w.met_late, w.breached_open, w.open) for w in found] == [
        (1, 1, 0, 1, 0), (1, 0, 1, 0, 1), (0, 0, 0, 0, 0)]
    assert [w.met_percent for w in found] == [50.0, 0.0, None]
    assert week_of(date(2026, 11, 8)) == monday


async def test_weekly_report_ends_with_this_week_and_counts_todays_cases(api, tokens):
    await open_case(api, tokens, severity="general")
    response = await api.get("/v1/reports/sla/weekly", params={"weeks": 3},
                             headers=headers(tokens, "manager"))
    assert response.status_code == 200, response.text
    weeks = response.json()
    assert len(weeks) == 3
    mondays = [date.fromisoformat(w["week_from"]) for w in weeks]
    assert all(m.weekday() == 0 for m in mondays)
    assert mondays == sorted(mondays) and mondays[1] - mondays[0] == timedelta(days=7)
    assert weeks[-1]["cases"] >= 1
    refused = await api.get("/v1/reports/sla/weekly", params={"weeks": 0},
                            headers=headers(tokens, "manager"))
    assert refused.status_code == 422


async def test_the_console_is_served_with_its_security_headers(api):
    page = await api.get("/console/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<html lang="zh-CN">' in page.text
    script = await api.get("/console/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert (await api.get("/console/no-such-file.js")).status_code == 404


def test_every_console_file_is_packaged():
    """A file under caseflow/console that no package-data pattern names would be missing from
    an installed caseflow (the Docker image): the console would 404 on it."""
    root = Path(caseflow.__file__).parent
    project = tomllib.loads((root.parent / "pyproject.toml").read_text("utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["caseflow"]
    files = [p.relative_to(root).as_posix() for p in (root / "console").rglob("*") if p.is_file()]
    assert "console/index.html" in files
    for name in files:
        assert any(fnmatch(name, pattern) and name.count("/") == pattern.count("/")
                   for pattern in patterns), name
