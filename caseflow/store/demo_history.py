"""A year of made-up service history for the demo fleet (`make run`), imported once through
`caseflow import-history`'s own path, so the reliability pages and the annual report show
something on a fresh machine: repairs of every severity, a recurring X-ray tube fault, a
quarter below its uptime guarantee, parts, satisfaction, maintenance visits on time, late and
missed. Deterministic for a given day."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caseflow.store.history import Imported, import_history
from caseflow.store.models import Equipment, HistoryImport
from caseflow.store.seed import EQUIPMENT

SOURCE = "demo-history.csv"
ZONE = ZoneInfo("Asia/Shanghai")
ENGINEERS = {"H-DH": ("张伟", "陈静"), "H-JB": ("刘洋",)}
FAULTS = {"CT": ["球管打火,扫描中断", "探测器模块温度报警", "工作站死机,无法重建", "检查床升降异常"],
          "MR": ["梯度放大器报警", "液氦压缩机停机", "射频线圈连接异常", "工作站软件无响应"]}
CATEGORY = {"球管": "xray_tube", "探测器": "detector_large_area", "工作站": "workstation_software_crash"}
PARTS = {"xray_tube": ("TUBE-MX", "X 射线球管"), "detector_large_area": ("DET-M16", "探测器模块"),
         "workstation_software_crash": ("", ""), "other": ("BRD-IO", "接口板")}
COLUMNS = ("kind", "reference", "serial", "observed_at", "restored_at", "severity",
           "fault_category", "fault", "parts", "engineer", "satisfaction", "disputed", "due_on",
           "done_at", "down_hours")


def _local(day: datetime, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day.date(), time(hour, minute), ZONE)


def demo_rows(units: list[tuple[str, str, str]], now: datetime) -> list[dict[str, str]]:
    """(serial, hospital, modality) -> the year of records before `now`."""
    rng = random.Random(20260101)
    rows: list[dict[str, str]] = []
    start = (now - timedelta(days=365)).astimezone(ZONE)
    number = 0

    def repair(serial: str, hospital: str, observed: datetime, hours: float, severity: str,
               fault: str, category: str | None = None) -> None:
        nonlocal number
        number += 1
        category = category or next((c for k, c in CATEGORY.items() if k in fault), "other")
        part_no, part = PARTS[category]
        rows.append({
            "kind": "repair", "reference": f"DEMO-{observed:%Y%m}-{number:04d}",
            "serial": serial, "observed_at": observed.isoformat(),
            "restored_at": (observed + timedelta(hours=hours)).isoformat(),
            "severity": severity, "fault_category": category, "fault": fault,
            "parts": f"{part_no}:{part}:1" if part_no and rng.random() < 0.6 else "",
            "engineer": rng.choice(ENGINEERS[hospital]), "satisfaction": str(rng.choice(
                (3, 4, 4, 5, 5, 5))), "disputed": "yes" if rng.random() < 0.08 else "no"})

    for serial, hospital, modality in units:
        day = start + timedelta(days=rng.randint(5, 25))
        while day < now - timedelta(days=3):
            severity = rng.choices(("critical", "severe", "general", "minor"), (1, 3, 4, 2))[0]
            hours = {"critical": 10, "severe": 20, "general": 40, "minor": 60}[severity]
            repair(serial, hospital, _local(day, rng.randint(8, 17), rng.choice((0, 15, 30, 45))),
                   hours * rng.uniform(0.4, 1.4), severity, rng.choice(FAULTS[modality]))
            day += timedelta(days=rng.randint(30, 70))
        visit = start + timedelta(days=10)
        index = 0
        while visit < now - timedelta(days=1):
            number += 1
            index += 1
            late = index % 4 == 2
            missed = index % 5 == 4
            done = _local(visit + timedelta(days=18 if late else rng.randint(1, 8)), 14)
            rows.append({"kind": "maintenance", "reference": f"DEMO-PM-{number:04d}",
                         "serial": serial, "due_on": visit.date().isoformat(),
                         "done_at": "" if missed or done > now else done.isoformat(),
                         "down_hours": "3", "engineer": rng.choice(ENGINEERS[hospital])})
            visit += timedelta(days=90)
    # A recurring X-ray tube fault on the Donghu CT, the last one recent (the watch notifies
    # it once), and a long critical outage on the Jiangbei CT: a quarter below its guarantee.
    for days_ago, hours in ((80, 30), (48, 26), (20, 22)):
        repair("CT-DH-0001", "H-DH", _local(now - timedelta(days=days_ago), 9), hours,
               "severe", "球管打火,扫描中断", "xray_tube")
    repair("CT-JB-0003", "H-JB", _local(now - timedelta(days=200), 7), 130, "critical",
           "高压发生器故障,无法曝光", "other")
    return [{k: v for k, v in row.items() if v} for row in rows]


def demo_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def import_demo_history(sessions: sessionmaker[Session],
                        now: datetime | None = None) -> Imported | None:
    """Import the demo year once (None when it was imported before, or no demo unit is in
    the register)."""
    now = now or datetime.now(timezone.utc)
    with sessions.begin() as session:
        if session.scalar(select(HistoryImport.id).where(HistoryImport.source == SOURCE)):
            return None
        units = [(u.serial, u.hospital_id, u.modality) for u in session.scalars(
            select(Equipment).where(Equipment.serial.in_([e.serial for e in EQUIPMENT]))
            .order_by(Equipment.serial))]
        if not units:
            return None
        return import_history(session, demo_csv(demo_rows(units, now)), "csv",
                              source=SOURCE, by="demo", now=now)
