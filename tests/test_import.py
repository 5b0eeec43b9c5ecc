"""`caseflow import FILE`: a site's hospitals, contracts, fleet and people loaded by key, all or
nothing, every reference checked, errors naming the list, the entry and the field."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import yaml

from caseflow.store.models import Contract, Equipment, Hospital, Person


def run_import(database_url: str, path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CASEFLOW_LOG_LEVEL": "WARNING",
           "CASEFLOW_ENVIRONMENT": "test"}
    return subprocess.run([sys.executable, "-m", "caseflow.cli", "import", str(path), *flags],
                          capture_output=True, text=True, env=env, timeout=60)


def site(tag: str) -> dict:  # type: ignore[type-arg]
    return {
        "hospitals": [{"id": f"H-{tag}", "name": "西湖区中医院 Xihu TCM Hospital",
                       "region": "华东"}],
        "contracts": [{"code": f"HT-{tag}", "hospital_id": f"H-{tag}",
                       "starts_on": "2026-01-01", "ends_on": "2028-12-31",
                       "warranty_months": 24}],
        "equipment": [{"serial": f"MR-{tag}-1", "hospital_id": f"H-{tag}",
                       "contract_code": f"HT-{tag}", "modality": "MR", "brand": "联影",
                       "model": "uMR 790", "department": "磁共振室",
                       "warranty_start": "2026-01-01", "warranty_end": "2027-12-31"}],
        "people": [{"id": f"EN-{tag}", "name": "钱工程师", "role": "engineer",
                    "hospital_id": f"H-{tag}", "phone": "13900009999",
                    "channels": ["log"]}]}


def test_a_site_is_loaded_then_updated_by_key(database_url, sessions, tmp_path):
    tag = uuid.uuid4().hex[:6].upper()
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site(tag), allow_unicode=True), "utf-8")
    checked = run_import(database_url, path, "--dry-run")
    assert checked.returncode == 0, checked.stderr
    with sessions() as session:
        assert session.get(Hospital, f"H-{tag}") is None, "a dry run writes nothing"
    loaded = run_import(database_url, path)
    assert loaded.returncode == 0, loaded.stderr
    with sessions() as session:
        assert session.get(Hospital, f"H-{tag}").name == "西湖区中医院 Xihu TCM Hospital"
        assert session.get(Contract, f"HT-{tag}").warranty_months == 24
        unit = session.get(Equipment, f"MR-{tag}-1")
        assert (unit.model, unit.status) == ("uMR 790", "in_service")
        assert session.get(Person, f"EN-{tag}").name == "钱工程师"

    changed = site(tag)
    changed["equipment"][0]["department"] = "影像中心"
    path.write_text(yaml.safe_dump(changed, allow_unicode=True), "utf-8")
    again = run_import(database_url, path)
    assert again.returncode == 0, again.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
            for line in again.stdout.splitlines() if line.count("│") >= 5}
    assert rows["equipment"] == ["0", "1", "0"] and rows["hospitals"] == ["0", "0", "1"]
    with sessions() as session:
        assert session.get(Equipment, f"MR-{tag}-1").department == "影像中心"


def test_a_bad_file_names_the_entry_and_writes_nothing(database_url, sessions, tmp_path):
    tag = uuid.uuid4().hex[:6].upper()
    cases = []
    unknown = site(tag)
    unknown["equipment"][0]["hospital_id"] = "H-NOWHERE"
    cases.append((unknown, "equipment.0.hospital_id", "no hospital"))
    twice = site(tag)
    twice["people"].append(dict(twice["people"][0]))
    cases.append((twice, "people.1.id", "listed twice"))
    modality = site(tag)
    modality["equipment"][0]["modality"] = "XRAY"
    cases.append((modality, "equipment.0.modality", ""))
    password = site(tag)
    password["people"][0]["password"] = "Secret-12345"
    cases.append((password, "people.0", "passwords are not imported"))
    extra = site(tag)
    extra["hospitals"][0]["status"] = "closed"
    cases.append((extra, "hospitals.0.status", "Extra inputs"))
    for number, (content, where, why) in enumerate(cases):
        path = tmp_path / f"bad{number}.yaml"
        path.write_text(yaml.safe_dump(content, allow_unicode=True), "utf-8")
        done = run_import(database_url, path)
        said = done.stdout + done.stderr
        assert done.returncode == 2 and where in said and why in said, said
    with sessions() as session:
        assert session.get(Hospital, f"H-{tag}") is None, "all or nothing"
