"""`caseflow simulate-alarms`' streams played into the API (PostgreSQL, the dev server): each
fault of the demo fleet opens one repair, whatever the number of its alarms, and the tube that
cools down by itself leaves a repair a supervisor may close as self-resolved."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from caseflow.simulator import alarm_stream, play, run_label
from tests.test_api import headers, timeline_of


def test_a_stream_is_the_same_for_a_seed_and_in_time_order():
    start = datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)
    first = list(alarm_stream(start, 120, run="a"))
    again = list(alarm_stream(start, 120, run="a"))
    assert first == again and [p.at for p in first] == sorted(p.at for p in first)
    cleared = [p for p in first if "cleared_at" in p.alarm]
    assert len({p.alarm["alarm_id"] for p in first}) == len(first) - len(cleared)
    codes = Counter(p.alarm["code"] for p in first)
    assert codes["CT-TUBE-TEMP"] > 20 and codes["MR-COLDHEAD-TEMP"] > 10
    assert "MR-QUENCH-RISK" not in codes
    assert "MR-QUENCH-RISK" in {p.alarm["code"] for p in alarm_stream(start, 120, run="b",
                                                                         critical=True)}


async def test_the_demo_fleets_faults_open_one_repair_each(api, tokens):
    stream = alarm_stream(datetime.now(timezone.utc), 120, run=run_label())
    played = await play(api, tokens["monitoring"], stream, realtime=False)
    assert played.refused == 0 and played.accepted > 100 and played.cleared > 20
    assert played.cases is not None and len(played.cases) == 3
    views = {}
    for case_id in played.cases:
        response = await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "supervisor"))
        views[response.json()["equipment"]["serial"]] = response.json()
    assert set(views) == {"CT-DH-0001", "MR-DH-0002", "MR-JB-0004"}
    tube = views["CT-DH-0001"]
    assert tube["intake"]["channel"] == "remote_monitoring"
    events = await timeline_of(api, tokens, tube["case_id"], at_least=3)
    assert events[-1]["event"] == "alarm-cleared" and events[-1]["data"]["self_resolvable"]
    assert views["MR-DH-0002"]["severity"] == "severe"
    assert views["MR-JB-0004"]["intake"]["symptom"].startswith("液氦液位接近限值")
