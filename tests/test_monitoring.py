"""Remote monitoring on PostgreSQL and the Temporal dev server: POST /v1/alarms and what each
alarm does by policy (docs/monitoring.md). Each test registers units of its own, so episodes and
open repairs of one test never meet another's."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from caseflow.api.app import create_app
from caseflow.api.auth import Principal
from caseflow.api.routes.alarms import AlarmSweep
from caseflow.config import Settings
from caseflow.domain.enums import Role
from caseflow.domain.kinds import KINDS
from caseflow.domain.monitoring import AlarmIn
from caseflow.domain.policy_loader import PolicyError, parse_policy
from caseflow.domain.repair import RepairCreate
from caseflow.store.alarms import take_alarms
from caseflow.store.intake import reserve
from caseflow.store.models import AlarmEpisode, AlarmRow, Case, Equipment
from caseflow.store.policies import PolicySource
from tests.test_api import act, headers, intake_body, new_key, timeline_of
from tests.waiting import until

Json = dict[str, Any]
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def unit(sessions):  # type: ignore[no-untyped-def]
    """A unit of this test only: unit("MR") -> its serial, at H-DH on contract HT-2025-RJ-001."""
    def register(modality: str = "CT") -> str:
        serial = f"{modality}-T{uuid.uuid4().hex[:10]}"
        with sessions.begin() as session:
            session.add(Equipment(serial=serial, hospital_id="H-DH",
                                  contract_code="HT-2025-RJ-001", modality=modality,
                                  brand="测试", model="监测 T1", department="放射科",
                                  install_date=date(2025, 1, 1)))
        return serial
    return register


def alarm(serial: str, code: str, at: datetime, **more: Any) -> Json:
    return {"alarm_id": f"A-{uuid.uuid4().hex}", "serial": serial, "code": code,
            "raised_at": at.isoformat(), **more}


async def post(api, tokens, alarms: list[Json], role: str = "monitoring"):  # type: ignore[no-untyped-def]
    return await api.post("/v1/alarms", json={"alarms": alarms}, headers=headers(tokens, role))


def cases_of(sessions, serial: str) -> list[Case]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(Case).where(Case.equipment_serial == serial)
                                    .order_by(Case.seq)))


async def view(api, tokens, case_id: str) -> Json:  # type: ignore[no-untyped-def]
    response = await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "supervisor"))
    assert response.status_code == 200, response.text
    return response.json()


async def history_length(dev_env, case_id: str) -> int:  # type: ignore[no-untyped-def]
    history = await dev_env.client.get_workflow_handle(case_id).fetch_history()
    return len(history.events)


async def refusals_counted(api) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """caseflow_alarms_total{status="refused"} of the API's /metrics, by field."""
    text = (await api.get("/metrics")).text
    found = re.findall(r'caseflow_alarms_total\{field="([^"]*)",status="refused"\} (\S+)', text)
    return {field: float(value) for field, value in found}


# ----- storms and episodes ------------------------------------------------------------------------

async def test_a_storm_of_1000_alarms_for_one_fault_opens_one_repair(api, tokens, sessions, unit,
                                                                     dev_env):
    serial = unit("CT")
    storm = [alarm(serial, "CT-TUBE-TEMP", T0 + timedelta(seconds=i), severity="alarm",
                   values=[{"name": "tube_temp", "value": 92 + i % 5, "unit": "°C",
                            "high": 90}], message="球管温度过高")
             for i in range(1000)]
    first = await post(api, tokens, storm[:400])
    rest = await asyncio.gather(*(post(api, tokens, storm[at:at + 200])
                                  for at in range(400, 1000, 200)))
    answers = [first.json()] + [r.json() for r in rest]
    assert all(r.status_code == 200 for r in [first, *rest])
    assert sum(a["accepted"] for a in answers) == 1000
    opened = [case for a in answers for case in a["cases_opened"]]
    assert len(opened) == 1
    (case_id,) = opened
    assert [c.case_id for c in cases_of(sessions, serial)] == [case_id]
    assert {item["case_id"] for a in answers for item in a["items"]} == {case_id}
    with sessions() as session:
        (episode,) = session.scalars(select(AlarmEpisode).where(AlarmEpisode.serial == serial))
        assert episode.alarms == 1000 and episode.case_id == case_id
        assert session.scalar(select(func.count()).select_from(AlarmRow)
                              .where(AlarmRow.serial == serial)) == 1000

    repair = await view(api, tokens, case_id)
    assert repair["intake"]["channel"] == "remote_monitoring"
    assert repair["severity"] == "general"  # from the policy's map for CT-TUBE-TEMP
    assert repair["intake"]["symptom"].startswith("球管温度过高")
    assert datetime.fromisoformat(repair["intake"]["observed_at"]) == T0  # awareness: the alarm
    assert repair["intake"]["alarm_codes"] == ["CT-TUBE-TEMP"]
    assert repair["intake"]["alarm_values"][0] == {"name": "tube_temp", "value": 92.0,
                                                   "unit": "°C", "low": None, "high": 90.0}
    assert repair["opened_by"]["role"] == "monitoring" and repair["alarm_episodes"] == 1
    # The storm is one intake in the case's history, not a thousand steps.
    assert [e["event"] for e in await timeline_of(api, tokens, case_id, at_least=2)] == \
        ["opened", "classify"]
    assert await history_length(dev_env, case_id) < 30


async def test_two_faults_on_one_unit_open_two_repairs_and_grouped_codes_one(api, tokens,
                                                                            sessions, unit):
    serial = unit("CT")
    answer = await post(api, tokens, [
        alarm(serial, "CT-TUBE-TEMP", T0),
        alarm(serial, "CT-DETECTOR-TEMP", T0 + timedelta(seconds=5)),
        alarm(serial, "CT-TUBE-ARC", T0 + timedelta(seconds=9)),  # grouped with the tube
        alarm(serial, "CT-TUBE-TEMP", T0 + timedelta(minutes=20))])
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [i["outcome"] for i in items] == ["repair", "repair", "suppressed", "suppressed"]
    assert len(answer.json()["cases_opened"]) == 2
    assert items[0]["case_id"] == items[2]["case_id"] == items[3]["case_id"] != items[1]["case_id"]
    # A quiet spell longer than the window ends the episode: the fault again is a new case.
    again = await post(api, tokens, [alarm(serial, "CT-TUBE-TEMP", T0 + timedelta(hours=2))])
    assert again.json()["items"][0]["outcome"] == "repair"
    assert len(cases_of(sessions, serial)) == 3


async def test_concurrent_batches_of_one_fault_open_one_case(api, tokens, sessions, unit):
    serial = unit("MR")
    batches = [[alarm(serial, "MR-RF-AMP", T0 + timedelta(seconds=10 * b + i)) for i in range(10)]
               for b in range(6)]
    answers = await asyncio.gather(*(post(api, tokens, batch) for batch in batches))
    assert all(a.status_code == 200 for a in answers)
    assert sum(len(a.json()["cases_opened"]) for a in answers) == 1
    assert len(cases_of(sessions, serial)) == 1


# ----- bad input, replays -------------------------------------------------------------------------

async def test_a_batch_with_bad_items_keeps_the_good_ones_and_a_replay_changes_nothing(
        api, tokens, sessions, unit):
    serial = unit("MR")
    good = [alarm(serial, "MR-STATUS", T0, severity="info",
                  values=[{"name": "helium_level", "value": 80, "unit": "%", "low": 60}]),
            alarm(serial, "MR-COLDHEAD-TEMP", T0 + timedelta(seconds=1), message="冷头温度 4.6K")]
    batch = [good[0],
             alarm("NO-SUCH-UNIT", "MR-STATUS", T0),
             alarm(serial, "CT-TUBE-TEMP", T0),  # a CT code on an MR
             {"alarm_id": "A-missing-time", "serial": serial, "code": "MR-STATUS"},
             "not an object",
             good[1]]
    refused_before = await refusals_counted(api)
    answer = await post(api, tokens, batch)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["refused"], body["duplicates"]) == (2, 4, 0)
    counted = await refusals_counted(api)
    assert {f: counted.get(f, 0) - refused_before.get(f, 0) for f in counted} == {
        "serial": 1, "code": 1, "raised_at": 1, "": 1}
    items = body["items"]
    assert [i["http_status"] for i in items] == [201, 422, 422, 422, 422, 201]
    assert [i["field"] for i in items[1:5]] == ["serial", "code", "raised_at", None]
    assert "NO-SUCH-UNIT" in items[1]["reason"] and "MR alarm code" in items[2]["reason"]
    assert [i["outcome"] for i in (items[0], items[5])] == ["recorded", "repair"]
    assert len(body["cases_opened"]) == 1

    def stored() -> tuple[int, int, int]:
        with sessions() as session:
            return (session.scalar(select(func.count()).select_from(AlarmRow)
                                   .where(AlarmRow.serial == serial)) or 0,
                    session.scalar(select(func.count()).select_from(AlarmEpisode)
                                   .where(AlarmEpisode.serial == serial)) or 0,
                    len(cases_of(sessions, serial)))

    before = stored()
    assert before == (2, 1, 1)
    replay = await post(api, tokens, batch)
    assert replay.json()["accepted"] == 0 and replay.json()["duplicates"] == 2
    assert replay.json()["cases_opened"] == []
    assert replay.json()["items"][5]["case_id"] == items[5]["case_id"]
    assert stored() == before
    # The same alarm id for another alarm is refused, naming it.
    reused = await post(api, tokens, [{**good[1], "code": "MR-RF-AMP"}])
    assert reused.json()["items"][0]["field"] == "alarm_id"


async def test_only_the_monitoring_role_posts_alarms(api, tokens, unit):
    serial = unit("CT")
    for role in ("hotline", "supervisor", "admin"):
        refused = await post(api, tokens, [alarm(serial, "CT-TUBE-TEMP", T0)], role=role)
        assert refused.status_code == 403, role
    for path in ("/v1/cases", f"/v1/equipment/{serial}", "/v1/me", "/v1/staff"):
        response = await api.get(path, headers=headers(tokens, "monitoring"))
        assert response.status_code == 403, path
    empty = await api.post("/v1/alarms", json={"alarms": []}, headers=headers(tokens, "monitoring"))
    assert empty.status_code == 422


# ----- clearing -----------------------------------------------------------------------------------

async def test_a_cleared_alarm_is_recorded_and_the_supervisor_closes_it_self_resolved(
        api, tokens, unit):
    serial = unit("MR")
    raised = [alarm(serial, "MR-COMPRESSOR", T0 + timedelta(seconds=i)) for i in range(3)]
    answer = await post(api, tokens, raised)
    (case_id,) = answer.json()["cases_opened"]
    shut = await act(api, tokens, case_id, "supervisor", "close-self-resolved",
                     {"reason": "未恢复"})
    assert shut.status_code == 409  # nothing cleared yet
    # Two of three cleared: the episode is still active; the third clears it.
    cleared = [{**a, "cleared_at": (T0 + timedelta(minutes=4)).isoformat()} for a in raised]
    partly = await post(api, tokens, cleared[:2])
    assert [i["status"] for i in partly.json()["items"]] == ["cleared", "cleared"]
    assert (await view(api, tokens, case_id))["self_resolvable"] is False
    await post(api, tokens, cleared[2:])
    events = await timeline_of(api, tokens, case_id, at_least=3)
    assert [e["event"] for e in events] == ["opened", "classify", "alarm-cleared"]
    assert events[2]["data"]["self_resolvable"] is True
    again = await post(api, tokens, cleared)  # a replayed clear changes nothing
    assert [i["status"] for i in again.json()["items"]] == ["duplicate"] * 3
    repair = await view(api, tokens, case_id)
    assert repair["self_resolvable"] and "close-self-resolved" in repair["allowed_actions"]

    hotline = await act(api, tokens, case_id, "hotline", "close-self-resolved", {"reason": "x"})
    assert hotline.status_code == 403
    reasonless = await act(api, tokens, case_id, "supervisor", "close-self-resolved", {})
    assert reasonless.status_code == 422
    closed = await act(api, tokens, case_id, "supervisor", "close-self-resolved",
                       {"reason": "压缩机重启后自行恢复,远程确认液氦正常"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["outcome"] == "self_resolved"
    assert all(c["state"] not in ("open", "paused") for c in closed.json()["commitments"])
    # closed, then its reportability review is opened (docs/regulatory.md)
    entries = await timeline_of(api, tokens, case_id, at_least=5)
    assert [e["event"] for e in entries][-2:] == ["close-self-resolved", "review-opened"]
    assert entries[-2]["summary"].endswith("压缩机重启后自行恢复,远程确认液氦正常")


async def test_a_cleared_alarm_after_an_engineer_acted_does_not_offer_self_resolution(
        api, tokens, unit):
    serial = unit("CT")
    first = alarm(serial, "CT-DETECTOR-TEMP", T0)
    (case_id,) = (await post(api, tokens, [first])).json()["cases_opened"]
    assert (await act(api, tokens, case_id, "supervisor", "assign",
                      {"engineer_id": "EN-01"})).status_code == 200
    await post(api, tokens, [{**first, "cleared_at": (T0 + timedelta(minutes=1)).isoformat()}])
    events = await timeline_of(api, tokens, case_id, at_least=4)
    assert events[-1]["event"] == "alarm-cleared" and not events[-1]["data"]["self_resolvable"]
    shut = await act(api, tokens, case_id, "supervisor", "close-self-resolved", {"reason": "x"})
    assert shut.status_code == 409


# ----- adding to the unit's open repair -----------------------------------------------------------

async def test_an_attach_code_adds_its_episode_to_the_open_repair_once(api, tokens, unit,
                                                                        dev_env):
    serial = unit("CT")
    nothing_open = await post(api, tokens, [alarm(serial, "CT-GANTRY", T0)])
    assert nothing_open.json()["items"][0]["case_id"] is None  # recorded on the unit only
    created = await api.post("/v1/repairs", json=intake_body(
        equipment_serial=serial, hospital_id="H-DH", severity="general"),
        headers=headers(tokens, "hotline", new_key()))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    await timeline_of(api, tokens, case_id, at_least=2)
    events_before = await history_length(dev_env, case_id)
    later = T0 + timedelta(hours=3)
    storm = [alarm(serial, "CT-GANTRY", later + timedelta(seconds=i),
                   values=[{"name": "gantry_speed", "value": 0.2, "unit": "rps"}])
             for i in range(200)]
    answers = [await post(api, tokens, storm[at:at + 50]) for at in range(0, 200, 50)]
    assert {i["case_id"] for a in answers for i in a.json()["items"]} == {case_id}
    assert [i["outcome"] for i in answers[0].json()["items"]][:2] == ["attach", "suppressed"]
    events = await timeline_of(api, tokens, case_id, at_least=3)
    assert [e["event"] for e in events] == ["opened", "classify", "alarm"]
    assert events[2]["data"]["code"] == "CT-GANTRY" and events[2]["data"]["values"][0][
        "name"] == "gantry_speed"
    # 200 alarms added one step: a few events in the history (the update and its record).
    assert await history_length(dev_env, case_id) - events_before <= 8
    assert (await view(api, tokens, case_id))["alarm_episodes"] == 1
    stream = await api.get(f"/v1/equipment/{serial}/alarms", params={"case_id": case_id},
                           headers=headers(tokens, "engineer"))
    assert stream.status_code == 200, stream.text
    (episode,) = stream.json()["episodes"]
    assert episode["alarms"] == 200 and episode["case_id"] == case_id


# ----- critical codes, trends ---------------------------------------------------------------------

async def test_a_critical_code_pages_the_on_call_chain(api, tokens, unit):
    serial = unit("MR")
    answer = await post(api, tokens, [alarm(serial, "MR-HE-LOW", T0, severity="critical",
                                            values=[{"name": "helium_level", "value": 58.5,
                                                     "unit": "%", "low": 60}])])
    (repair_id,) = answer.json()["cases_opened"]

    async def linked() -> dict[str, Any] | None:
        repair = await view(api, tokens, repair_id)
        return repair if repair["linked_cases"] else None

    repair = await until(linked, "the critical repair declares its emergency")
    assert repair["severity"] == "critical"
    (link,) = repair["linked_cases"]
    assert link["kind"] == "emergency"

    async def paged() -> list[dict[str, Any]]:
        return [e for e in await timeline_of(api, tokens, link["case_id"]) if e["event"] == "page"]

    pages = await until(paged, "the emergency pages its on-call chain")
    assert pages[0]["data"]["round"] == 1, pages


async def test_a_trend_warning_fires_once_per_episode(api, tokens, sessions, unit):
    serial = unit("MR")

    def reading(minutes: float, helium: float) -> Json:
        return alarm(serial, "MR-STATUS", T0 + timedelta(minutes=minutes), severity="info",
                     values=[{"name": "helium_level", "value": helium, "unit": "%",
                              "low": 60}])

    steady = await post(api, tokens, [reading(m, 80) for m in range(0, 60, 10)])
    assert steady.json()["cases_opened"] == []
    # Within 5 points of the limit, reading after reading: one preventive repair.
    near = await post(api, tokens, [reading(60 + m, 64.5 - m / 100) for m in range(0, 60, 5)])
    assert len(near.json()["cases_opened"]) == 1
    more = await post(api, tokens, [reading(180 + m, 64) for m in range(0, 120, 10)])
    assert more.json()["cases_opened"] == []
    (case,) = [c for c in cases_of(sessions, serial)]
    repair = await view(api, tokens, case.case_id or "")
    assert repair["severity"] == "general"
    assert repair["intake"]["symptom"].startswith("液氦液位接近限值")
    # A fast fall far from the limit is a warning too (rate_per_hour), a new episode two
    # days later: a second preventive repair.
    later = 60 * 24 * 2
    fall = await post(api, tokens, [reading(later, 90), reading(later + 60, 88)])
    assert len(fall.json()["cases_opened"]) == 1
    with sessions() as session:
        episodes = list(session.scalars(select(AlarmEpisode).where(
            AlarmEpisode.serial == serial, AlarmEpisode.action == "trend")
            .order_by(AlarmEpisode.id)))
    assert [e.key for e in episodes] == ["trend:helium_level"] * 2
    assert episodes[0].alarms == 12 + 12 and "moving" in episodes[1].symptom


# ----- the policy section -------------------------------------------------------------------------

def _policy_with(monitoring: Json) -> Json:
    from caseflow.domain.policy_loader import load_policy
    document = load_policy().document
    return {**document, "defaults": {**document["defaults"], "monitoring": monitoring}}


@pytest.mark.parametrize(("monitoring", "message"), [
    ({"codes": {"MR": {"MR-X": {"action": "emergency", "severity": "severe",
                                "symptom": "x"}}}}, "severity must be critical"),
    ({"codes": {"MR": {"MR-X": {"action": "repair"}}}}, "needs a severity and a symptom"),
    ({"codes": {"CT": {"CT-A": {"action": "record"}}}, "groups": {"g": ["CT-B"]}},
     "CT-B is not a code"),
    ({"trends": {"MR": {"helium_level": {"symptom": "x"}}}}, "warn_within"),
    ({"window": "0m"}, "duration"),
])
def test_a_bad_monitoring_section_is_refused_naming_the_field(monitoring, message):
    with pytest.raises(PolicyError) as refused:
        parse_policy(_policy_with(monitoring), "test.yaml")
    assert "defaults.monitoring" in str(refused.value) and message in str(refused.value)


# ----- reliability figures ------------------------------------------------------------------------

async def test_reliability_counts_alarms_cases_by_channel_and_faults_caught_before_a_call(
        api, tokens, unit):
    serial = unit("CT")
    storm = [alarm(serial, "CT-TUBE-TEMP", T0 + timedelta(seconds=i)) for i in range(30)]
    assert len((await post(api, tokens, storm)).json()["cases_opened"]) == 1  # caught first
    phoned = await api.post("/v1/repairs", json=intake_body(
        equipment_serial=serial, hospital_id="H-DH", severity="minor", symptom="机架异响"),
        headers=headers(tokens, "hotline", new_key()))
    assert phoned.status_code == 201
    gantry = await post(api, tokens, [alarm(serial, "CT-GANTRY", T0 + timedelta(hours=5))])
    assert gantry.json()["items"][0]["outcome"] == "attach"  # called first: added to a repair
    today = datetime.now(timezone.utc).date()
    response = await api.get("/v1/reliability/monitoring", headers=headers(tokens, "manager"),
                             params={"serial": serial, "from": str(T0.date()),
                                     "to": str(today + timedelta(days=2))})
    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["alarms"] == 31
    assert figures["episodes"] == {"repair": 1, "attach": 1}
    assert figures["repairs_by_channel"] == {"remote_monitoring": 1, "phone": 1}
    assert (figures["repairs_by_monitoring"], figures["repairs_by_phone"]) == (1, 1)
    assert (figures["caught_first"], figures["called_first"]) == (1, 1)
    assert figures["units"] == [{"serial": serial, "alarms": 31, "episodes": 2,
                                 "repairs_by_monitoring": 1, "repairs_by_people": 1,
                                 "caught_first": 1}]
    refused = await api.get("/v1/reliability/monitoring", headers=headers(tokens, "hotline"))
    assert refused.status_code == 403


async def test_alarm_times_out_of_range_or_ahead_of_the_clock_are_refused_item_by_item(
        api, tokens, sessions, unit):
    """A device's clock that is wrong (year 9999 or 0001, a number, a day ahead) gets its item
    refused naming the field, the good alarm of the same batch still opens its case, and a
    later alarm of the same fault is taken as usual (never a 500)."""
    serial = unit("CT")
    ahead = datetime.now(timezone.utc) + timedelta(days=1)
    bad = [{**alarm(serial, "CT-TUBE-TEMP", T0), "raised_at": "9999-12-31T23:59:00Z"},
           {**alarm(serial, "CT-TUBE-TEMP", T0), "raised_at": "0001-01-01T00:00:00Z"},
           {**alarm(serial, "CT-TUBE-TEMP", T0), "raised_at": 1764720000},
           alarm(serial, "CT-TUBE-TEMP", ahead),
           {**alarm(serial, "CT-TUBE-TEMP", T0), "cleared_at": ahead.isoformat()}]
    answer = await post(api, tokens, [*bad, alarm(serial, "CT-TUBE-TEMP", T0)])
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [i["http_status"] for i in items] == [422] * 5 + [201]
    assert [i["field"] for i in items[:5]] == ["raised_at"] * 4 + ["cleared_at"]
    assert "clock" in items[3]["reason"]
    assert len(answer.json()["cases_opened"]) == 1
    later = await post(api, tokens, [alarm(serial, "CT-TUBE-TEMP", T0 + timedelta(minutes=1))])
    assert later.status_code == 200 and later.json()["items"][0]["http_status"] == 201
    assert len(cases_of(sessions, serial)) == 1


async def test_a_clearing_posted_twice_at_once_is_counted_once(api, tokens, sessions, unit):
    """The same clearing batch sent twice at once (a client's retry): one alarm of the episode
    is cleared once, so the episode, whose other alarm is still active, stays uncleared."""
    serial = unit("CT")
    first, second = (alarm(serial, "CT-TUBE-TEMP", T0 + timedelta(seconds=s)) for s in (0, 1))
    opened = await post(api, tokens, [first, second])
    assert [i["http_status"] for i in opened.json()["items"]] == [201, 201]
    clearing = [{**first, "cleared_at": (T0 + timedelta(minutes=5)).isoformat()}]
    answers = await asyncio.gather(*(post(api, tokens, clearing) for _ in range(4)))
    statuses = sorted(a.json()["items"][0]["status"] for a in answers)
    assert statuses == ["cleared", "duplicate", "duplicate", "duplicate"], statuses
    with sessions() as session:
        episode = session.scalars(select(AlarmEpisode).where(AlarmEpisode.serial == serial)).one()
    assert (episode.active, episode.cleared_at) == (1, None)


# ----- when an episode ends: a fault raised again ---------------------------------------------------

async def test_a_raise_after_a_self_resolved_close_opens_a_new_case_even_a_critical_one(
        api, tokens, unit):
    serial = unit("MR")
    quench = alarm(serial, "MR-QUENCH-RISK", T0, severity="critical")
    (first,) = (await post(api, tokens, [quench])).json()["cases_opened"]
    await post(api, tokens, [{**quench, "cleared_at": (T0 + timedelta(minutes=2)).isoformat()}])
    events = await timeline_of(api, tokens, first, at_least=3)
    (cleared,) = [e for e in events if e["event"] == "alarm-cleared"]
    assert cleared["data"]["self_resolvable"]
    closed = await act(api, tokens, first, "supervisor", "close-self-resolved",
                       {"reason": "失超风险告警误报,液氦与磁体温度正常"})
    assert closed.status_code == 200, closed.text

    async def closed_in_the_table() -> bool:
        return (await view(api, tokens, first))["status"] == "closed"
    await until(closed_in_the_table, "the repair is closed")
    # The same fault again, well within the 30-minute window of the closed episode: a new
    # episode, a new critical repair and its emergency, not a count on the closed one.
    again = await post(api, tokens, [alarm(serial, "MR-QUENCH-RISK", T0 + timedelta(minutes=5),
                                           severity="critical")])
    (item,) = again.json()["items"]
    assert item["outcome"] == "emergency", item
    assert again.json()["cases_opened"] == [item["case_id"]] and item["case_id"] != first
    repair = await view(api, tokens, item["case_id"])
    assert repair["severity"] == "critical" and repair["status"] != "closed"


async def test_a_raise_after_the_clearing_reached_the_open_case_is_added_to_it(
        api, tokens, sessions, unit):
    serial = unit("MR")
    first = alarm(serial, "MR-COMPRESSOR", T0)
    (case_id,) = (await post(api, tokens, [first])).json()["cases_opened"]
    await post(api, tokens, [{**first, "cleared_at": (T0 + timedelta(minutes=1)).isoformat()}])
    await timeline_of(api, tokens, case_id, at_least=3)
    assert (await view(api, tokens, case_id))["self_resolvable"]
    # Alarms raised before the clearing, or over already, only count on the episode that ended.
    stale = alarm(serial, "MR-COMPRESSOR", T0 + timedelta(seconds=30),
                  cleared_at=(T0 + timedelta(seconds=40)).isoformat())
    blip = alarm(serial, "MR-COMPRESSOR", T0 + timedelta(minutes=2),
                 cleared_at=(T0 + timedelta(minutes=2, seconds=5)).isoformat())
    counted = (await post(api, tokens, [stale, blip])).json()["items"]
    assert [i["outcome"] for i in counted] == ["suppressed"] * 2
    assert {i["episode_id"] for i in counted} == {(await post(api, tokens, [first])).json()[
        "items"][0]["episode_id"]}
    # Back within the window, the repair still open: a new episode of that repair, which
    # hears it (it is no longer self-resolvable), and no second repair.
    back = alarm(serial, "MR-COMPRESSOR", T0 + timedelta(minutes=3))
    answer = (await post(api, tokens, [back])).json()
    (item,) = answer["items"]
    assert (item["outcome"], item["case_id"], answer["cases_opened"]) == ("attach", case_id, [])
    events = await timeline_of(api, tokens, case_id, at_least=4)
    assert [e["event"] for e in events] == ["opened", "classify", "alarm-cleared", "alarm"]
    repair = await view(api, tokens, case_id)
    assert not repair["self_resolvable"] and repair["alarm_episodes"] == 2
    refused = await act(api, tokens, case_id, "supervisor", "close-self-resolved", {"reason": "x"})
    assert refused.status_code == 409
    # The new episode clears: the case hears it, and may again close as self-resolved.
    await post(api, tokens, [{**back, "cleared_at": (T0 + timedelta(minutes=4)).isoformat()}])
    events = await timeline_of(api, tokens, case_id, at_least=5)
    assert events[-1]["event"] == "alarm-cleared" and events[-1]["data"]["self_resolvable"]
    assert len(cases_of(sessions, serial)) == 1


# ----- retries, lost starts, a repair still opening -----------------------------------------------

def sweep_of(sessions, dev_env, dev_worker, database_url, policy_book):  # type: ignore[no-untyped-def]
    """The API's sweep, as an API process runs it every alarm_sweep_seconds."""
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test")
    return AlarmSweep(sessions, dev_env.client, PolicySource(sessions, policy_book), settings)


async def test_a_retried_attach_is_the_same_step_however_many_alarms_came_since(
        api, tokens, sessions, unit):
    serial = unit("CT")
    created = await api.post("/v1/repairs", json=intake_body(
        equipment_serial=serial, hospital_id="H-DH", severity="general"),
        headers=headers(tokens, "hotline", new_key()))
    case_id = created.json()["case_id"]
    await timeline_of(api, tokens, case_id, at_least=2)
    batch = [alarm(serial, "CT-GANTRY", T0 + timedelta(seconds=i)) for i in range(3)]
    answer = (await post(api, tokens, batch)).json()
    episode_id = answer["items"][0]["episode_id"]
    assert {i["case_id"] for i in answer["items"]} == {case_id}
    # The API dies after the case took the step, before it wrote so: the episode is not fed.
    with sessions.begin() as session:
        session.get(AlarmEpisode, episode_id).fed = False
        session.get(AlarmEpisode, episode_id).case_id = None
    more = [alarm(serial, "CT-GANTRY", T0 + timedelta(seconds=10 + i)) for i in range(5)]
    assert {i["outcome"] for i in (await post(api, tokens, more)).json()["items"]} == \
        {"suppressed"}
    retried = (await post(api, tokens, batch)).json()  # the integration posts it again
    assert {i["status"] for i in retried["items"]} == {"duplicate"}
    assert {i["case_id"] for i in retried["items"]} == {case_id}
    with sessions() as session:
        episode = session.get(AlarmEpisode, episode_id)
        assert (episode.fed, episode.case_id, episode.alarms) == (True, case_id, 8)
    events = await timeline_of(api, tokens, case_id, at_least=3)
    assert [e["event"] for e in events] == ["opened", "classify", "alarm"]  # one step, once


def decide_without_following(sessions, alarms: list[Json], policy_book) -> set[int]:  # type: ignore[no-untyped-def]
    """What POST /v1/alarms commits before it opens or feeds any case: an API process that
    dies right after leaves these episodes unfinished."""
    items = [(index, AlarmIn.model_validate(a)) for index, a in enumerate(alarms)]
    with sessions.begin() as session:
        taken = take_alarms(session, source="MO-01", items=items,
                            monitoring=lambda c: policy_book.for_contract(c).monitoring,
                            now=datetime.now(timezone.utc))
    return taken.episodes


async def test_the_sweep_opens_the_case_of_an_episode_whose_start_was_lost_exactly_once(
        api, tokens, sessions, unit, dev_env, dev_worker, database_url, policy_book):
    serial = unit("MR")
    (episode_id,) = decide_without_following(
        sessions, [alarm(serial, "MR-RF-AMP", T0 + timedelta(seconds=i)) for i in range(4)],
        policy_book)
    assert cases_of(sessions, serial) == []
    sweeps = [sweep_of(sessions, dev_env, dev_worker, database_url, policy_book)
              for _ in range(2)]  # two API processes
    for sweep in sweeps:  # seen once: maybe its batch is at it right now
        assert episode_id not in await sweep.once()
    looks = await asyncio.gather(*(s.once() for s in sweeps))  # seen twice: followed
    opened = [look[episode_id] for look in looks if episode_id in look]  # (by both, mostly)
    assert len({case for case, _ in opened}) == 1 and sum(c for _, c in opened) == 1, opened
    (case,) = cases_of(sessions, serial)
    assert case.case_id == opened[0][0]
    with sessions() as session:
        assert session.get(AlarmEpisode, episode_id).case_id == case.case_id
    repair = await view(api, tokens, case.case_id)
    assert repair["intake"]["channel"] == "remote_monitoring"
    assert repair["intake"]["alarm_codes"] == ["MR-RF-AMP"]
    assert episode_id not in await sweeps[0].once()  # finished: nothing more to do
    assert len(cases_of(sessions, serial)) == 1


async def test_each_api_process_sweeps_by_itself(sessions, unit, dev_env, dev_worker,
                                                 database_url, policy_book):
    serial = unit("CT")
    (episode_id,) = decide_without_following(
        sessions, [alarm(serial, "CT-DETECTOR-TEMP", T0)], policy_book)
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test", alarm_sweep_seconds=0.2)
    app = create_app(settings, temporal=dev_env.client)
    async with app.router.lifespan_context(app):
        def opened() -> str | None:
            with sessions() as session:
                return session.get(AlarmEpisode, episode_id).case_id
        case_id = await until(opened, "the API's sweep opens the episode's repair")
    assert [c.case_id for c in cases_of(sessions, serial)] == [case_id]


async def test_an_alarm_for_a_repair_still_opening_waits_for_it_and_is_not_lost(
        api, tokens, sessions, unit, dev_env, dev_worker, database_url, policy_book):
    serial = unit("CT")
    # The hotline's API reserved the repair's number, then died before starting its workflow.
    body = intake_body(equipment_serial=serial, hospital_id="H-DH", severity="general")
    key = new_key()
    principal = Principal(id="HL-01", name="hotline", role=Role.hotline)
    intake = RepairCreate.model_validate(body)
    now = datetime.now(timezone.utc)
    with sessions.begin() as session:  # the API's own reservation (store/intake.py reserve)
        row, _, _ = reserve(
            session, KINDS["repair"], intake, created_by="HL-01", key=key,
            request_hash=hashlib.sha256(intake.model_dump_json().encode()).hexdigest(),
            opened_by=principal.actor, book=policy_book, now=now,
            local_day=now.astimezone(timezone(timedelta(hours=8))).date())
        case_id = row.case_id
    answer = (await post(api, tokens, [alarm(serial, "CT-GANTRY", T0)])).json()
    (item,) = answer["items"]
    assert item["outcome"] == "attach" and item["case_id"] is None  # not yet: still opening
    with sessions() as session:
        assert not session.get(AlarmEpisode, item["episode_id"]).fed
    # The hotline posts its repair again (the same key): the workflow starts.
    retried = await api.post("/v1/repairs", json=body, headers=headers(tokens, "hotline", key))
    assert retried.status_code == 200 and retried.json()["case_id"] == case_id, retried.text
    sweep = sweep_of(sessions, dev_env, dev_worker, database_url, policy_book)
    await sweep.once()
    assert (await sweep.once())[item["episode_id"]] == (case_id, False)
    events = await timeline_of(api, tokens, case_id, at_least=3)
    assert [e["event"] for e in events] == ["opened", "classify", "alarm"]
    assert events[2]["data"]["code"] == "CT-GANTRY"


async def test_an_alarm_added_in_the_batch_that_opens_the_repair_reaches_it(api, tokens, unit):
    serial = unit("CT")
    answer = (await post(api, tokens, [alarm(serial, "CT-DETECTOR-TEMP", T0),
                                       alarm(serial, "CT-GANTRY", T0 + timedelta(seconds=1))]))
    opened, added = answer.json()["items"]
    assert (opened["outcome"], added["outcome"]) == ("repair", "attach")
    assert added["case_id"] == opened["case_id"] == answer.json()["cases_opened"][0]
    events = await timeline_of(api, tokens, opened["case_id"], at_least=3)
    assert [e["event"] for e in events] == ["opened", "classify", "alarm"]
