"""Recurring faults across the fleet: three repairs of one model with the same fault category
within 90 days are a pattern; quality and regulatory people (managers, auditors) are notified
once per pattern, however often the watch looks and however many repairs join it; an old
pattern in imported history is listed, never notified."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from caseflow.domain.patterns import find_patterns
from caseflow.domain.policy_loader import load_policy
from caseflow.domain.reliability import RepairFact, UnitInfo
from caseflow.store.history import import_history
from caseflow.store.models import FaultPattern, Notification, Person
from caseflow.store.patterns import detect, patterns_in
from tests.reliability_fixture import ENGINEER, new_site, open_repair

BOOK = load_policy()
DAY = timedelta(days=1)


def diagnosed(sessions, hospital_id: str, serial: str, observed: datetime,  # type: ignore[no-untyped-def]
              category: str = "xray_tube") -> str:
    writer = open_repair(sessions, hospital_id, serial, observed, "severe")
    writer.event("diagnose", observed + timedelta(hours=2),
                 {"findings": "球管打火", "fault_category": category, "parts_needed": []},
                 ENGINEER)
    return writer.case_id


def notices(sessions, key: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        row = session.scalar(select(FaultPattern).where(FaultPattern.key == key))
        assert row is not None
        return sorted(session.execute(select(Notification.dedupe_key, Notification.person_id)
                                      .where(Notification.case_id == f"FP-{row.id}")).all())


def test_a_pattern_is_notified_once_and_grows_without_a_second_notice(sessions):
    model = f"uCT-{uuid.uuid4().hex[:6]}"
    first_site, (a, b) = new_site(sessions, units=2, brand="联影", model=model)
    second_site, (c,) = new_site(sessions, brand="联影", model=model, name="江北市第一医院 测试")
    now = datetime.now(timezone.utc)
    cases = [diagnosed(sessions, first_site, a, now - 80 * DAY),
             diagnosed(sessions, second_site, c, now - 50 * DAY)]
    diagnosed(sessions, first_site, b, now - 40 * DAY, "detector_large_area")  # another fault
    models = {("联影", model)}
    assert detect(sessions, BOOK, now, models) == [], "two repairs are no pattern yet"
    cases.append(diagnosed(sessions, first_site, b, now - 20 * DAY))
    (key,) = detect(sessions, BOOK, now, models)
    assert key == f"联影|{model}|xray_tube|{cases[0]}"
    with sessions() as session:
        people = sorted(session.scalars(select(Person.id).where(
            Person.role.in_(["manager", "auditor"]), Person.active.is_(True))))
        row = session.scalar(select(FaultPattern).where(FaultPattern.key == key))
        assert row is not None and row.cases == cases and row.notified == people
    assert {"MG-01", "AU-01"} <= set(people)
    sent = notices(sessions, key)
    assert [person for _, person in sent] == people, "once to each manager and auditor"

    assert detect(sessions, BOOK, now, models) == [], "looked at again: not notified again"
    # A fourth repair (from imported history) joins the same pattern: no second notice.
    with sessions.begin() as session:
        import_history(session, "\n".join([
            "kind,reference,serial,observed_at,restored_at,severity,fault_category",
            f"repair,IMP-{uuid.uuid4().hex[:8]},{c},{(now - 5 * DAY).isoformat()},"
            f"{(now - 4 * DAY).isoformat()},severe,xray_tube"]), "csv", source="more.csv",
            by="test", now=now)
    assert detect(sessions, BOOK, now, models) == []
    with sessions() as session:
        row = session.scalar(select(FaultPattern).where(FaultPattern.key == key))
        assert row is not None and len(row.cases) == 4
    assert notices(sessions, key) == sent

    with sessions() as session:
        listed = patterns_in(session, BOOK, now - 365 * DAY, now, models=models,
                             hospital_id=second_site)
    assert [(p.key, len(p.cases)) for p in listed] == [(key, 4)]
    assert [x.source for x in listed[0].cases] == ["caseflow"] * 3 + ["imported"]


def test_an_old_imported_pattern_is_listed_but_not_notified(sessions):
    model = f"uMR-{uuid.uuid4().hex[:6]}"
    _, (serial,) = new_site(sessions, brand="联影", model=model)
    now = datetime.now(timezone.utc)
    lines = ["kind,reference,serial,observed_at,restored_at,severity,fault_category"]
    for days in (400, 390, 380):
        observed = now - days * DAY
        lines.append(f"repair,OLD-{uuid.uuid4().hex[:8]},{serial},{observed.isoformat()},"
                     f"{(observed + DAY).isoformat()},general,detector_large_area")
    with sessions.begin() as session:
        import_history(session, "\n".join(lines), "csv", source="old.csv", by="test", now=now)
    models = {("联影", model)}
    assert detect(sessions, BOOK, now, models) == []
    with sessions() as session:
        (old,) = patterns_in(session, BOOK, now - 500 * DAY, now, models=models)
    assert old.fault_category == "detector_large_area" and len(old.cases) == 3


def test_a_run_ends_when_the_repairs_spread_out_and_a_later_run_is_a_new_pattern():
    unit = UnitInfo(serial="S", hospital_id="H", brand="B", model="M")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def at(day: int) -> tuple[UnitInfo, RepairFact]:
        return unit, RepairFact(ref=f"R{day}", serial="S", fault_category="xray_tube",
                                observed_at=start + day * DAY, opened_at=start + day * DAY)

    # 0, 40, 80: a pattern (80 <= 90); 100 joins it (40..100 within 90); 300: not (the two
    # before it are months away); 310, 320: with 300, a second pattern.
    found = find_patterns([at(d) for d in (0, 40, 80, 100, 300, 310, 320)],
                          BOOK.defaults.reliability.recurring)
    assert [[c.ref for c in p.cases] for p in found] == [["R0", "R40", "R80", "R100"],
                                                          ["R300", "R310", "R320"]]
