"""The annual operation report and the visit report as background jobs over the API (real dev
server, worker and PostgreSQL): 202 with a job, progress to done, HTML and a PDF whose extracted
text has the hospital's Chinese name and the uptime figure, the same figures as the reliability
API; an empty year says so; unknown hospitals and visits are 404, a bad year 422."""

from __future__ import annotations

import asyncio
import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from tests.reliability_fixture import (
    ENGINEER,
    HOTLINE,
    CaseWriter,
    commitment,
    new_site,
    open_repair,
    resolve,
)
from tests.test_api import headers

SH = ZoneInfo("Asia/Shanghai")
NAME = "东湖县人民医院 年报测试院区"


def at(month: int, day: int, hour: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SH)


@pytest.fixture(scope="module")
def site(sessions) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Two units of one hospital in 2025: the first down 36 h in March (a severe repair over
    three days), xray tube faults twice; the second never down."""
    hospital_id, (first, second) = new_site(sessions, units=2, name=NAME)
    for observed, hours in ((at(3, 3, 8), 24), (at(6, 9, 8), 12)):
        repair = open_repair(sessions, hospital_id, first, observed, "severe")
        repair.event("diagnose", observed + timedelta(hours=1), {"fault_category": "xray_tube"},
                     ENGINEER)
        repair.event("order-parts", observed + timedelta(hours=2), {"parts": [
            {"part_no": "TUBE-MX", "name": "球管", "quantity": 1}]}, ENGINEER)
        resolve(repair, observed + timedelta(hours=hours)).event(
            "callback", observed + timedelta(hours=hours + 2), {"satisfaction": 3}, HOTLINE)
    opened = at(4, 1, 8)
    visit = CaseWriter(sessions, "maintenance", hospital_id, second, opened, title="预防性维护")
    visit.commitments = [commitment("visit", opened, opened + timedelta(days=14))]
    visit.event("opened", opened, {"due_on": "2025-04-01"})
    visit.event("assign", opened + timedelta(hours=1), {"engineer_id": "EN-01",
                                                         "engineer_name": "张伟"})
    visit.event("report", at(4, 3, 15), {
        "cleaning": {"done": True, "note": "机架除尘"}, "inspection": {"done": True, "note": ""},
        "calibration": [{"name": "水模CT值", "value": 1.5, "unit": "HU", "low": -4, "high": 4},
                        {"name": "噪声", "value": 0.45, "unit": "%", "high": 0.4}],
        "findings": [{"description": "检查床导轨磨损", "needs_repair": False}],
        "out_of_spec": ["噪声"], "note": ""}, ENGINEER, status="done")
    visit.event("confirm", at(4, 4, 10), {"confirmed_by": "设备科 吴工"}, HOTLINE,
                status="confirmed", closed_at=at(4, 4, 10))
    return {"hospital": hospital_id, "first": first, "second": second, "visit": visit.case_id}


async def done(api, tokens, job: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    for _ in range(600):
        job = (await api.get(job["links"]["self"], headers=headers(tokens, "manager"))).json()
        if job["status"] in ("done", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"the report job did not finish: {job}")


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def test_the_annual_report_is_made_in_the_background_with_its_figures(api, tokens, site):
    path = f"/v1/reports/annual/{site['hospital']}/2025"
    missing = await api.get(path, headers=headers(tokens, "manager"))
    assert missing.status_code == 404 and "POST" in missing.json()["detail"]
    started = await api.post(path, headers=headers(tokens, "manager"))
    assert started.status_code == 202, started.text
    job = await done(api, tokens, started.json())
    assert job["status"] == "done", job
    assert job["progress"] == {"done": 2, "total": 2, "percent": 100.0}
    assert job["empty"] is False
    latest = (await api.get(path, headers=headers(tokens, "auditor"))).json()
    assert latest["job_id"] == job["job_id"]

    data = (await api.get(job["links"]["json"], headers=headers(tokens, "manager"))).json()
    figures = (await api.get("/v1/reliability/figures", params={
        "hospital_id": site["hospital"], "from": "2025-01-01", "to": "2026-01-01"},
        headers=headers(tokens, "manager"))).json()["total"]
    assert data["total"] == figures
    # 2 units x 8760 h, less the visit's 4 h of planned downtime; 36 h down:
    # (17516 - 36) / 17516 = 99.79%.
    assert (data["total"]["covered_hours"], data["total"]["downtime_hours"],
            data["total"]["uptime_percent"]) == (17516.0, 36.0, 99.79)
    assert data["faults"] == {"xray_tube": 2}
    assert data["parts"] == [{"part_no": "TUBE-MX", "name": "球管", "quantity": 2}]
    codes = {(r["code"], r["serial"]) for r in data["recommendations"]}
    assert ("recurring_fault", site["first"]) in codes
    assert ("low_satisfaction", site["first"]) in codes
    march = data["months"][2]
    assert (march["period"], march["downtime_hours"]) == ("2025-03", 24.0)

    pdf = await api.get(job["links"]["pdf"], headers=headers(tokens, "manager"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert NAME in text and "2025 年度设备运行分析报告" in text
    assert "99.79%" in text and "球管" in text and "X 射线球管" in text
    html = await api.get(job["links"]["html"], headers=headers(tokens, "manager"))
    assert html.headers["content-type"].startswith("text/html") and NAME in html.text
    assert "filename*=UTF-8''annual-" in pdf.headers["content-disposition"]


async def test_a_unit_report_and_an_empty_year_say_what_they_cover(api, tokens, site):
    started = await api.post(f"/v1/reports/annual/{site['hospital']}/2024",
                             params={"serial": site["second"]},
                             headers=headers(tokens, "supervisor"))
    assert started.status_code == 202, started.text
    job = await done(api, tokens, started.json())
    assert (job["status"], job["empty"], job["serial"]) == ("done", True, site["second"])
    data = (await api.get(job["links"]["json"], headers=headers(tokens, "manager"))).json()
    assert data["note"] == "no_records" and data["recommendations"] == []
    text = pdf_text((await api.get(job["links"]["pdf"], headers=headers(tokens, "manager"))
                     ).content)
    assert "本期间无数据" in text and NAME in text


async def test_the_visit_report(api, tokens, site):
    started = await api.post(f"/v1/reports/visits/{site['visit']}",
                             headers=headers(tokens, "manager"))
    assert started.status_code == 202, started.text
    job = await done(api, tokens, started.json())
    assert job["status"] == "done", job
    text = pdf_text((await api.get(job["links"]["pdf"], headers=headers(tokens, "manager"))
                     ).content)
    for words in ("预防性维护报告", NAME, "水模CT值", "超出规格", "检查床导轨磨损", "设备科 吴工",
                  "按期"):
        assert words in text, words
    data = (await api.get(job["links"]["json"], headers=headers(tokens, "manager"))).json()
    assert data["on_time"] is True and data["out_of_spec"] == ["噪声"]
    assert data["due_on"] == date(2025, 4, 1).isoformat()


async def test_bad_requests_for_reports(api, tokens, site):
    manager = headers(tokens, "manager")
    for method, path, status in (
            ("POST", "/v1/reports/annual/H-NOPE/2025", 404),
            ("POST", f"/v1/reports/annual/{site['hospital']}/1800", 422),
            ("POST", f"/v1/reports/annual/{site['hospital']}/next", 422),
            ("POST", "/v1/reports/visits/MV-NOPE", 404),
            ("GET", "/v1/reports/visits/MV-NOPE", 404),
            ("GET", "/v1/reports/jobs/RJ-NOPE", 404),
            ("GET", "/v1/reports/jobs/RJ-NOPE/report.pdf", 404),
            ("GET", "/v1/reports/jobs/RJ-NOPE/report.doc", 422)):
        response = await api.request(method, path, headers=manager)
        assert response.status_code == status, (path, response.text)
    other_unit = await api.post(f"/v1/reports/annual/{site['hospital']}/2025",
                                params={"serial": "CT-DH-0001"}, headers=manager)
    assert other_unit.status_code == 404  # a unit of another hospital
    hotline = await api.post(f"/v1/reports/annual/{site['hospital']}/2025",
                             headers=headers(tokens, "hotline"))
    assert hotline.status_code == 403


def test_the_cli_writes_the_annual_and_visit_reports(sessions, site, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "CASEFLOW_LOG_LEVEL": "WARNING",
           "DATABASE_URL": sessions.kw["bind"].url.render_as_string(hide_password=False)}
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "annual",
                           "--hospital", site["hospital"], "--year", "2025",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / f"annual-{site['hospital']}-2025.pdf"
    assert str(pdf) in done.stdout
    text = pdf_text(pdf.read_bytes())
    assert NAME in text and "99.79%" in text
    visit = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "visit",
                            site["visit"], "--out", str(tmp_path)], capture_output=True,
                           text=True, env=env, timeout=120)
    assert visit.returncode == 0, visit.stderr
    assert "水模CT值" in pdf_text((tmp_path / f"visit-{site['visit']}.pdf").read_bytes())
    unknown = subprocess.run([sys.executable, "-m", "caseflow.cli", "report", "annual",
                              "--hospital", "H-NOPE", "--year", "2025"], capture_output=True,
                             text=True, env=env, timeout=60)
    assert unknown.returncode == 2 and "no hospital" in unknown.stderr
