"""Demo reference data for `make run`: hospitals, contracts, CT/MR units, people, on-call
rosters, dev tokens and dev console log-ins."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caseflow.store.directory import hash_token
from caseflow.store.models import ApiToken, Contract, Equipment, Hospital, OnCallShift, Person
from caseflow.store.people import check_password, issue_token, set_password

HOSPITALS = [
    Hospital(id="H-DH", name="东湖县人民医院",
             name_en="Donghu County People's Hospital", region="华东"),
    Hospital(id="H-JB", name="江北市第一医院",
             name_en="Jiangbei First Hospital", region="华东"),
]
CONTRACTS = [
    Contract(code="HT-2025-RJ-001", hospital_id="H-DH", starts_on=date(2025, 1, 1),
             ends_on=date(2027, 12, 31), warranty_months=24, maintenance_interval_days=90),
    Contract(code="HT-2024-JB-007", hospital_id="H-JB", starts_on=date(2024, 7, 1),
             ends_on=date(2027, 6, 30), warranty_months=12, maintenance_interval_days=90),
]
EQUIPMENT = [
    Equipment(serial="CT-DH-0001", hospital_id="H-DH", contract_code="HT-2025-RJ-001",
              modality="CT", brand="GE", model="Revolution CT", department="放射科",
              install_date=date(2025, 3, 1), warranty_start=date(2025, 3, 15),
              warranty_end=date(2027, 3, 14), jurisdictions=["CN", "EU"],
              udi="(01)00840682103411(21)CT-DH-0001"),
    Equipment(serial="MR-DH-0002", hospital_id="H-DH", contract_code="HT-2025-RJ-001",
              modality="MR", brand="Siemens", model="MAGNETOM Skyra 3T", department="磁共振室",
              install_date=date(2025, 6, 1), warranty_start=date(2025, 6, 20),
              warranty_end=date(2027, 6, 19), jurisdictions=["CN", "US"],
              udi="(01)04056869003481(21)MR-DH-0002"),
    Equipment(serial="CT-JB-0003", hospital_id="H-JB", contract_code="HT-2024-JB-007",
              modality="CT", brand="Philips", model="Ingenuity CT", department="影像科",
              install_date=date(2019, 5, 1), warranty_start=date(2019, 5, 10),
              warranty_end=date(2021, 5, 9), jurisdictions=["CN"]),
    Equipment(serial="MR-JB-0004", hospital_id="H-JB", contract_code="HT-2024-JB-007",
              modality="MR", brand="United Imaging", model="uMR 780", department="影像科",
              install_date=date(2024, 8, 1), warranty_start=date(2024, 8, 15),
              warranty_end=date(2026, 8, 14), jurisdictions=["CN"],
              udi="(01)06972783740012(21)MR-JB-0004"),
]
PEOPLE = [
    Person(id="HL-01", name="王丽", role="hotline", phone="400-800-0001"),
    Person(id="SV-01", name="李强", role="supervisor", phone="13800000001"),
    Person(id="SV-02", name="黄磊", role="supervisor", hospital_id="H-JB", phone="13800000002"),
    Person(id="EN-01", name="张伟", role="engineer", phone="13900000001"),
    Person(id="EN-02", name="陈静", role="engineer", phone="13900000002"),
    Person(id="EN-03", name="刘洋", role="engineer", hospital_id="H-JB", phone="13900000003"),
    Person(id="MG-01", name="赵敏", role="manager", phone="13700000001"),
    Person(id="DR-01", name="孙杰", role="director", phone="13700000002"),
    Person(id="AU-01", name="周芳", role="auditor", phone="13600000001"),
    Person(id="AD-01", name="系统管理员", role="admin"),
    Person(id="MO-01", name="远程监测", role="monitoring"),
    Person(id="RA-01", name="吴婷", role="regulatory", phone="13500000001"),
]
# The demo on-call chain of each hospital, every modality: engineer -> supervisor -> service
# manager -> director (DOMAIN.md section 4).
DEMO_CHAINS = {"H-DH": ("EN-01", "SV-01", "MG-01", "DR-01"),
               "H-JB": ("EN-03", "SV-02", "MG-01", "DR-01")}
DEMO_ROSTER_DAYS = 365

# One development token per role, for the person named here.
TOKEN_HOLDERS = {"hotline": "HL-01", "supervisor": "SV-01", "engineer": "EN-01",
                 "manager": "MG-01", "director": "DR-01", "auditor": "AU-01", "admin": "AD-01",
                 "monitoring": "MO-01", "regulatory": "RA-01"}


def load_reference_data(sessions: sessionmaker[Session]) -> None:
    """Insert the demo hospitals, contracts, equipment and people that are missing."""
    with sessions.begin() as session:
        for group in (HOSPITALS, CONTRACTS, EQUIPMENT, PEOPLE):
            for row in group:
                session.merge(row)


def demo_rosters(sessions: sessionmaker[Session], now: datetime) -> int:
    """A year of demo on-call chains from now, for each hospital with no shift covering now
    (an edited roster is left alone). Returns the number of shifts added."""
    added = 0
    with sessions.begin() as session:
        for hospital_id, chain in DEMO_CHAINS.items():
            covered = session.scalar(select(OnCallShift.id).where(
                OnCallShift.hospital_id == hospital_id, OnCallShift.starts_at <= now,
                OnCallShift.ends_at > now).limit(1))
            if covered is not None:
                continue
            for level, person_id in enumerate(chain, start=1):
                session.add(OnCallShift(hospital_id=hospital_id, modality="*", level=level,
                                        person_id=person_id, starts_at=now,
                                        ends_at=now + timedelta(days=DEMO_ROSTER_DAYS),
                                        updated_by="demo"))
                added += 1
    return added


def dev_tokens(sessions: sessionmaker[Session], path: Path) -> dict[str, str]:
    """The development tokens in `path`, re-issued for any role whose token is not valid here."""
    known: dict[str, str] = {}
    if path.exists():
        known = json.loads(path.read_text("utf-8"))
    tokens: dict[str, str] = {}
    with sessions.begin() as session:
        for role, person_id in TOKEN_HOLDERS.items():
            token = known.get(role)
            valid = token is not None and session.scalar(
                select(ApiToken.id).where(ApiToken.token_hash == hash_token(token),
                                          ApiToken.revoked_at.is_(None))) is not None
            tokens[role] = token if valid and token else issue_token(session, person_id,
                                                                      f"dev {role}")[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tokens, indent=2, ensure_ascii=False) + "\n", "utf-8")
    path.chmod(0o600)
    return tokens


def dev_logins(sessions: sessionmaker[Session], path: Path) -> dict[str, dict[str, str]]:
    """Console log-ins for the development people: user name = the role, a random password
    kept in `path` (mode 600) and set again if the database lost it. Development only."""
    known: dict[str, dict[str, str]] = {}
    if path.exists():
        known = json.loads(path.read_text("utf-8"))
    logins: dict[str, dict[str, str]] = {}
    with sessions.begin() as session:
        for role, person_id in TOKEN_HOLDERS.items():
            if role == "monitoring":
                continue  # a machine: it has a token, no console log-in
            login = known.get(role) or {"username": role,
                                        "password": f"{role}-{secrets.token_hex(5)}"}
            if check_password(session, login["username"], login["password"]) is None:
                person = session.get(Person, person_id)
                assert person is not None, person_id
                person.username = login["username"]
                set_password(person, login["password"])
            logins[role] = login
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(logins, indent=2, ensure_ascii=False) + "\n", "utf-8")
    path.chmod(0o600)
    return logins
