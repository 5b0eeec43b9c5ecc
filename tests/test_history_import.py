"""`caseflow import-history`: past repairs and visits from CSV or YAML, all of the file or
nothing, each bad line named with its field; imported records are reported on as such."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from caseflow.domain.history import HistoryRefused, read_records
from caseflow.domain.policy_loader import load_policy
from caseflow.store.history import import_history
from caseflow.store.models import ImportedRecord
from caseflow.store.reliability import facts, units
from tests.reliability_fixture import new_site

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def csv_file(serial: str, tag: str, *bad: str) -> str:
    lines = [
        "kind,reference,serial,observed_at,restored_at,severity,fault_category,fault,parts,"
        "engineer,satisfaction,disputed,due_on,done_at,down_hours",
        f"repair,{tag}-1,{serial},2026-03-02T09:00:00+08:00,2026-03-02T21:00:00+08:00,severe,"
        f"xray_tube,球管打火 扫描中断,TUBE-MX:球管:1;FIL-2:灯丝:2,张伟,5,no,,,",
        f"maintenance,{tag}-2,{serial},,,,,,,陈静,,,2026-03-10,2026-03-12T10:00:00+08:00,3",
        *bad,
    ]
    return "\ufeff" + "\n".join(lines) + "\n"


def count(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ImportedRecord)) or 0


def test_a_good_csv_is_imported_and_read_back_as_imported_facts(sessions):
    _, (serial,) = new_site(sessions)
    tag = f"OLD{uuid.uuid4().hex[:6]}"
    with sessions.begin() as session:
        done = import_history(session, csv_file(serial, tag), "csv", source="old.csv",
                              by="test", now=NOW)
    assert (done.repairs, done.visits) == (1, 1)
    book = load_policy()
    with sessions() as session:
        found = units(session, book.defaults.timezone, serial=serial)
        known = facts(session, book, found, datetime(2026, 3, 1, tzinfo=timezone.utc),
                      datetime(2026, 4, 1, tzinfo=timezone.utc))
    (repair,), (visit,) = known.of(serial)
    assert (repair.ref, repair.source, repair.fault) == (f"{tag}-1", "imported", "球管打火 扫描中断")
    assert [(p.part_no, p.name, p.quantity) for p in repair.parts] == [
        ("TUBE-MX", "球管", 1), ("FIL-2", "灯丝", 2)]
    assert repair.restored_at - repair.observed_at == timedelta(hours=12)
    assert (repair.engineer_name, repair.satisfaction) == ("张伟", 5)
    assert (visit.source, visit.engineer_name) == ("imported", "陈静")
    assert visit.planned_to - visit.planned_from == timedelta(hours=3)
    # its window: 14 days from 08:00 on the due date (the policy's maintenance visit)
    assert visit.due_at == datetime(2026, 3, 24, 8, tzinfo=timezone(timedelta(hours=8)))


def test_a_file_with_bad_lines_is_refused_whole_naming_each_line(sessions):
    _, (serial,) = new_site(sessions)
    tag = f"BAD{uuid.uuid4().hex[:6]}"
    before = count(sessions)
    bad = csv_file(
        serial, tag,
        f"repair,{tag}-3,{serial},2026-03-05T09:00:00+08:00,2026-03-04T09:00:00+08:00,general,,,,,,,,,",
        f"repair,{tag}-4,NO-SUCH-UNIT,2026-03-05T09:00:00+08:00,2026-03-05T10:00:00+08:00,minor,,,,,,,,,",
        f"repair,{tag}-1,{serial},2026-03-06T09:00:00+08:00,2026-03-06T10:00:00+08:00,minor,,,,,,,,,")
    with pytest.raises(HistoryRefused) as refused, sessions.begin() as session:
        import_history(session, bad, "csv", source="bad.csv", by="test", now=NOW)
    assert [(e.line, e.field) for e in refused.value.errors] == [
        (4, "restored_at"), (5, "serial"), (6, "reference")]
    assert "must not be before observed_at" in refused.value.errors[0].message
    assert "already on line 2" in refused.value.errors[2].message
    assert count(sessions) == before, "nothing imported"


@pytest.mark.parametrize(("text", "line", "field"), [
    ("records:\n  - kind: repair\n    reference: Y-1\n    serial: S\n"
     "    observed_at: 2026-03-02T09:00:00+08:00\n    restored_at: 2026-03-02T10:00:00+08:00\n"
     "    severity: severe\n  - kind: repair\n    reference: Y-2\n    serial: S\n"
     "    observed_at: 2026-03-02 09:00:00\n    restored_at: 2026-03-02T10:00:00+08:00\n"
     "    severity: severe\n", 8, "observed_at"),  # no time zone
    ("- {kind: maintenance, reference: Y-3, serial: S}\n", 1, "due_on"),
    ("- {kind: repair, reference: Y-4, serial: S, observed_at: '2099-01-01T00:00:00+08:00',"
     " restored_at: '2099-01-02T00:00:00+08:00', severity: minor}\n", 1, "observed_at"),
    ("- {kind: repair, reference: Y-5, serial: S, observed_at: '2026-01-01T00:00:00+08:00',"
     " restored_at: '2026-01-02T00:00:00+08:00', severity: urgent}\n", 1, "severity"),
    ("kind,reference,serial,colour\n", 1, "colour"),
])
def test_yaml_and_csv_errors_name_the_line_and_field(text, line, field):
    fmt = "csv" if text.startswith("kind,") else "yaml"
    with pytest.raises(HistoryRefused) as refused:
        read_records(text, fmt, now=NOW)
    first = refused.value.errors[0]
    assert (first.line, first.field) == (line, field), refused.value.errors


def test_the_cli_imports_a_good_file_and_refuses_a_bad_one_with_exit_1(sessions, tmp_path):
    _, (serial,) = new_site(sessions)
    tag = f"CLI{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "CASEFLOW_LOG_LEVEL": "WARNING",
           "DATABASE_URL": sessions.kw["bind"].url.render_as_string(hide_password=False)}
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_file(serial, tag, f"repair,{tag}-9,{serial},yesterday,,minor,,,,,,,,,"),
                   "utf-8")
    before = count(sessions)
    refused = subprocess.run([sys.executable, "-m", "caseflow.cli", "import-history", str(bad)],
                             capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 1, refused.stderr
    assert "bad.csv:4: observed_at:" in refused.stderr and "nothing was imported" in refused.stderr
    assert count(sessions) == before
    good = tmp_path / "good.csv"
    good.write_text(csv_file(serial, tag), "utf-8")
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "import-history", str(good)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1 repairs and 1 maintenance visits imported" in done.stdout
    assert count(sessions) == before + 2
    again = subprocess.run([sys.executable, "-m", "caseflow.cli", "import-history", str(good)],
                           capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 1 and "was imported before" in again.stderr
