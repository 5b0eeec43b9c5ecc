"""`make run`'s demo data: a year of imported service history, imported once, from which the
reports show something on a fresh machine (figures, a recurring fault, a quarter below the
Jiangbei CT's uptime guarantee)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from caseflow.domain.policy_loader import load_policy
from caseflow.store.demo_history import import_demo_history
from caseflow.store.patterns import patterns_in
from caseflow.store.reliability import figures_report, units, uptime_report
from tests.postgres import fresh_database


def test_the_demo_year_is_imported_once_and_the_reports_show_it(database_url):
    book = load_policy()
    now = datetime.now(timezone.utc)
    with fresh_database(database_url, "demo") as (_, sessions):
        first = import_demo_history(sessions, now)
        assert first is not None and first.repairs >= 20 and first.visits >= 12
        assert import_demo_history(sessions, now) is None, "once"
        lower, upper = now - timedelta(days=365), now
        with sessions() as session:
            fleet = units(session, book.defaults.timezone)
            report = figures_report(session, book, fleet, lower, upper, now, "hospital")
            assert report.empty is False
            assert {g.key for g in report.groups} == {"H-DH", "H-JB"}
            assert report.total.failures == first.repairs
            assert 90 < (report.total.uptime_percent or 0) < 100
            (pattern,) = [p for p in patterns_in(session, book, lower, upper)
                          if p.model == "Revolution CT"]
            assert pattern.fault_category == "xray_tube" and pattern.count >= 3
            assert {c.source for c in pattern.cases} == {"imported"}
            jiangbei = uptime_report(session, book, [u for u in fleet
                                                     if u.serial == "CT-JB-0003"],
                                     lower, upper, now, "quarter")
            assert any(p.met is False for p in jiangbei.units[0].points), \
                "a quarter below the 95% guarantee"
