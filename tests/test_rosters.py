"""On-call rosters: the rules a roster must keep, and maintaining them over the API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete

from caseflow.domain.errors import InvalidPayload
from caseflow.domain.rosters import RosterPut, check_roster
from caseflow.store import rosters
from caseflow.store.models import OnCallShift

T0 = datetime(2027, 1, 4, 0, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


def roster(*shifts: tuple[int, str, int, int], allow_gaps: bool = False,
           hours: int = 24) -> RosterPut:
    return RosterPut.model_validate({
        "starts_at": T0.isoformat(), "ends_at": (T0 + hours * H).isoformat(),
        "allow_gaps": allow_gaps,
        "shifts": [{"level": level, "person_id": who, "starts_at": (T0 + a * H).isoformat(),
                    "ends_at": (T0 + b * H).isoformat()} for level, who, a, b in shifts]})


def refusal(value: RosterPut) -> InvalidPayload:
    with pytest.raises(InvalidPayload) as raised:
        check_roster(value)
    return raised.value


def test_a_roster_covering_every_level_all_period_is_accepted():
    check_roster(roster((1, "EN-01", 0, 12), (1, "EN-02", 12, 24), (2, "SV-01", 0, 24)))


def test_overlapping_shifts_on_one_level_are_refused_naming_the_shift():
    error = refusal(roster((1, "EN-01", 0, 13), (1, "EN-02", 12, 24)))
    assert error.field == "shifts.1.starts_at" and "overlaps shift 0 on level 1" in error.message


def test_a_gap_is_refused_unless_allowed():
    error = refusal(roster((1, "EN-01", 0, 10), (1, "EN-02", 12, 24)))
    assert error.field == "shifts" and "level 1 has nobody on call" in error.message
    assert "T10:00:00" in error.message and "T12:00:00" in error.message
    check_roster(roster((1, "EN-01", 0, 10), (1, "EN-02", 12, 24), allow_gaps=True))
    error = refusal(roster((1, "EN-01", 0, 20)))  # uncovered at the end of the period
    assert "T20:00:00" in error.message


def test_an_empty_roster_or_a_missing_level_is_refused_unless_gaps_are_allowed():
    assert "level 1 has nobody" in refusal(roster()).message
    error = refusal(roster((1, "EN-01", 0, 24), (3, "MG-01", 0, 24)))
    assert "level 2 has nobody on call at all" in error.message
    check_roster(roster(allow_gaps=True))


def test_a_shift_outside_the_period_or_ending_before_it_starts_is_refused():
    assert refusal(roster((1, "EN-01", 0, 30))).field == "shifts.0"
    assert refusal(roster((1, "EN-01", 5, 5), allow_gaps=True)).field == "shifts.0.ends_at"


def auth(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def body(*shifts: tuple[int, str, int, int], allow_gaps: bool = False) -> dict:
    return roster(*shifts, allow_gaps=allow_gaps).model_dump(mode="json")


async def test_a_manager_replaces_a_roster_and_reads_it_back(api, tokens, sessions):
    with sessions.begin() as session:
        session.execute(delete(OnCallShift).where(OnCallShift.hospital_id == "H-JB"))
    put = await api.put("/v1/rosters/H-JB/CT", headers=auth(tokens, "manager"),
                        json=body((1, "EN-03", 0, 12), (1, "EN-01", 12, 24),
                                  (2, "SV-02", 0, 24), (3, "MG-01", 0, 24)))
    assert put.status_code == 200, put.text
    levels = [(s["level"], s["person_id"], s["person_name"]) for s in put.json()["shifts"]]
    assert levels == [(1, "EN-03", "刘洋"), (1, "EN-01", "张伟"), (2, "SV-02", "黄磊"),
                      (3, "MG-01", "赵敏")]
    # replacing the afternoon keeps the morning
    again = await api.put("/v1/rosters/H-JB/CT", headers=auth(tokens, "manager"), json={
        "starts_at": (T0 + 12 * H).isoformat(), "ends_at": (T0 + 24 * H).isoformat(),
        "shifts": [{"level": 1, "person_id": "EN-02", "starts_at": (T0 + 12 * H).isoformat(),
                    "ends_at": (T0 + 24 * H).isoformat()}], "allow_gaps": True})
    assert again.status_code == 200, again.text
    read = await api.get("/v1/rosters/H-JB/CT", headers=auth(tokens, "engineer"),
                         params={"from": T0.isoformat(), "to": (T0 + 24 * H).isoformat()})
    assert read.status_code == 200, read.text
    shifts = [(s["level"], s["person_id"], s["starts_at"][11:16], s["ends_at"][11:16])
              for s in read.json()["shifts"]]
    assert shifts == [(1, "EN-03", "00:00", "12:00"), (1, "EN-02", "12:00", "00:00"),
                      (2, "SV-02", "00:00", "12:00"), (3, "MG-01", "00:00", "12:00")]


async def test_the_chain_prefers_the_modality_roster_over_the_all_modality_one(
        api, tokens, sessions):
    with sessions.begin() as session:
        session.execute(delete(OnCallShift).where(OnCallShift.hospital_id == "H-DH"))
    for modality, first in (("*", "EN-02"), ("MR", "EN-01")):
        put = await api.put(f"/v1/rosters/H-DH/{modality}", headers=auth(tokens, "director"),
                            json=body((1, first, 0, 24), (2, "SV-01", 0, 24)))
        assert put.status_code == 200, put.text
    with sessions() as session:
        mr = rosters.chain_at(session, hospital_id="H-DH", modality="MR", at=T0 + 3 * H)
        ct = rosters.chain_at(session, hospital_id="H-DH", modality="CT", at=T0 + 3 * H)
        later = rosters.chain_at(session, hospital_id="H-DH", modality="MR", at=T0 + 30 * H)
    assert [(s.level, s.person_id) for s in mr] == [(1, "EN-01"), (2, "SV-01")]
    assert [(s.level, s.person_id) for s in ct] == [(1, "EN-02"), (2, "SV-01")]
    assert later == []


async def test_bad_rosters_are_422_naming_the_shift_and_change_nothing(api, tokens, sessions):
    with sessions() as session:
        before = len(rosters.shifts(session, hospital_id="H-JB", modality="MR", start=T0,
                                    end=T0 + 24 * H))
    cases = [
        (body((1, "EN-01", 0, 13), (1, "EN-02", 12, 24)), ["body", "shifts", "1", "starts_at"]),
        (body((1, "EN-01", 0, 10)), ["body", "shifts"]),
        (body((1, "NO-ONE", 0, 24)), ["body", "shifts", "0", "person_id"]),
        (body((1, "AU-01", 0, 24)), ["body", "shifts", "0", "person_id"]),
        ({"starts_at": "2027-01-04T00:00:00", "ends_at": "2027-01-05T00:00:00+00:00",
          "shifts": []}, ["body", "starts_at"]),
    ]
    for payload, loc in cases:
        response = await api.put("/v1/rosters/H-JB/MR", headers=auth(tokens, "manager"),
                                 json=payload)
        assert response.status_code == 422, response.text
        assert loc in [item["loc"] for item in response.json()["detail"]], response.text
    unknown = await api.put("/v1/rosters/H-NONE/MR", headers=auth(tokens, "manager"),
                            json=body((1, "EN-01", 0, 24)))
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == [
        "path", "hospital_id"]
    modality = await api.put("/v1/rosters/H-JB/XRAY", headers=auth(tokens, "manager"),
                             json=body((1, "EN-01", 0, 24)))
    assert modality.status_code == 422 and modality.json()["detail"][0]["loc"] == [
        "path", "modality"]
    with sessions() as session:
        after = len(rosters.shifts(session, hospital_id="H-JB", modality="MR", start=T0,
                                   end=T0 + 24 * H))
    assert after == before


async def test_only_managers_directors_and_admins_maintain_rosters(api, tokens):
    for role in ("hotline", "supervisor", "engineer", "auditor"):
        response = await api.put("/v1/rosters/H-JB/CT", headers=auth(tokens, role),
                                 json=body((1, "EN-03", 0, 24)))
        assert response.status_code == 403, (role, response.text)
    assert (await api.get("/v1/rosters/H-JB/CT", headers=auth(tokens, "auditor"))).status_code == 200
    assert (await api.get("/v1/rosters/H-JB/CT")).status_code == 401


async def test_reading_a_period_without_a_time_zone_or_out_of_range_is_422_not_500(api, tokens):
    for value in ("2027-01-04T00:00:00", "9999-12-31T00:00:00Z", "0001-01-01T00:00:00+08:00"):
        response = await api.get("/v1/rosters/H-JB/CT", params={"from": value},
                                 headers=auth(tokens, "manager"))
        assert response.status_code == 422, (value, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", "from"]
    put = await api.put("/v1/rosters/H-JB/CT", headers=auth(tokens, "manager"), json={
        "starts_at": "0001-01-01T00:00:00+08:00", "ends_at": "2027-01-05T00:00:00+08:00",
        "shifts": [], "allow_gaps": True})
    assert put.status_code == 422 and put.json()["detail"][0]["loc"][-1] == "starts_at"
