"""A fleet's alarm burst: the monitoring integration posts `rate` alarms a second for `seconds`
(batches every `tick` seconds, sent on schedule whether or not earlier ones are answered) from a
fleet of units, among them `faults` fault episodes that each storm until the end of the burst
and the rest readings of record-only codes. Measured: every alarm accepted (none lost or
refused), exactly one repair per fault episode, and how long after its first alarm was posted
each episode's repair was opened (the answer carrying it: the workflow had started) while the
burst lasts; then a replayed batch changes nothing."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import text

from bench.load import spread
from bench.report import STACK, Grid, envelope, now, number, progress
from bench.stack import Stack, cpu_used
from caseflow.store.db import make_sessions
from caseflow.store.models import Equipment

FAULT_CODES = {"CT": ("CT-TUBE-TEMP", "CT-DETECTOR-TEMP"), "MR": ("MR-RF-AMP", "MR-COMPRESSOR")}
READING_CODES = {"CT": "CT-STATUS", "MR": "MR-STATUS"}


def register_fleet(stack: Stack, units: int) -> list[tuple[str, str]]:
    """`units` units of their own (half CT, half MR) at the demo hospital: (serial, modality)."""
    run = uuid.uuid4().hex[:6]
    fleet = [(f"{m}-B{run}-{n:04d}", m) for n in range(units) for m in ("CT", "MR")][:units]
    with make_sessions(stack.engine).begin() as session:
        session.add_all([Equipment(serial=serial, hospital_id="H-DH", modality=modality,
                                   brand="bench", model="bench", department="放射科",
                                   install_date=date(2025, 1, 1)) for serial, modality in fleet])
    return fleet


def plan_burst(fleet: list[tuple[str, str]], *, rate: int, seconds: float, tick: float,
               faults: int, seed: int) -> tuple[list[list[dict[str, Any]]], dict[str, int]]:
    """The batches (one per tick) and, per fault episode (`serial/code`), the tick of its
    first alarm. Faults start in the first half of the burst and storm to its end."""
    rng = random.Random(seed)
    ticks = round(seconds / tick)
    per_tick = round(rate * tick)
    start = datetime.now(timezone.utc)
    chosen = rng.sample(fleet, faults)
    episodes = {f"{serial}/{rng.choice(FAULT_CODES[modality])}": rng.randrange(ticks // 2)
                for serial, modality in chosen}
    batches: list[list[dict[str, Any]]] = []
    number = 0
    for index in range(ticks):
        at = (start + timedelta(seconds=index * tick)).isoformat()
        storming = [key for key, first in episodes.items() if first <= index]
        batch = []
        for slot in range(per_tick):
            number += 1
            if storming and (slot < len(storming) or rng.random() < 0.5):
                key = storming[slot % len(storming)] if slot < len(storming) else \
                    rng.choice(storming)
                serial, code = key.split("/")
                batch.append({"alarm_id": f"burst-{seed}-{number}", "serial": serial,
                              "code": code, "raised_at": at, "severity": "alarm",
                              "values": [{"name": "level", "value": 1.0, "high": 0.5}]})
            else:
                serial, modality = rng.choice(fleet)
                batch.append({"alarm_id": f"burst-{seed}-{number}", "serial": serial,
                              "code": READING_CODES[modality], "raised_at": at,
                              "severity": "info"})
        batches.append(batch)
    return batches, episodes


async def measure(stack: Stack, *, rate: int = 500, seconds: float = 10.0, tick: float = 0.1,
                  units: int = 200, faults: int = 40, seed: int = 22) -> dict[str, Any]:
    result = envelope("alarms", {"alarms_per_second": rate, "seconds": seconds,
                                 "batch_every_seconds": tick, "units": units,
                                 "fault_episodes": faults}, now())
    fleet = await asyncio.to_thread(register_fleet, stack, units)
    batches, episodes = plan_burst(fleet, rate=rate, seconds=seconds, tick=tick, faults=faults,
                                   seed=seed)
    first_tick: dict[int, list[str]] = {}
    for key, index in episodes.items():
        first_tick.setdefault(index, []).append(key)
    headers = {"Authorization": f"Bearer {stack.tokens['monitoring']}"}
    answers: list[tuple[int, float, float, int, dict[str, Any] | None]] = []
    async with httpx.AsyncClient(base_url=stack.api, timeout=60, headers=headers,
                                 limits=httpx.Limits(max_connections=64)) as client:
        async def send(index: int, batch: list[dict[str, Any]], due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            sent = time.monotonic()
            try:
                response = await client.post("/v1/alarms", json={"alarms": batch})
                body, status = (response.json() if response.status_code == 200 else None,
                                response.status_code)
            except httpx.HTTPError:
                body, status = None, 0
            answers.append((index, sent, time.monotonic(), status, body))

        cpu_before = await asyncio.to_thread(stack.cpu)
        begin = time.monotonic() + 0.5
        progress(f"alarms: {rate}/s for {seconds:g} s in batches every {tick:g} s, "
                 f"{faults} fault episodes on {units} units")
        await asyncio.gather(*(send(i, b, begin + i * tick) for i, b in enumerate(batches)))
        elapsed = max(a[2] for a in answers) - begin
        cpu = cpu_used(cpu_before, await asyncio.to_thread(stack.cpu))
        replayed = await client.post("/v1/alarms", json={"alarms": batches[len(batches) // 2]})

    ok = [a for a in answers if a[3] == 200 and a[4] is not None]
    bodies = [a[4] for a in ok if a[4] is not None]
    accepted = sum(b["accepted"] for b in bodies)
    # Each episode's repair: opened in the answer to the batch that carried its first alarm
    # (or, had that batch's start lost a race, in another answer: found by case id).
    opened_in: dict[str, float] = {}
    for _, _, answered, _, body in ok:
        assert body is not None
        for case_id in body["cases_opened"]:
            opened_in.setdefault(case_id, answered)
    first_latency = []
    for index, sent, _, _, body in ok:
        for key in first_tick.get(index, []):
            serial, code = key.split("/")
            assert body is not None
            case_ids = {item["case_id"] for item, alarm in zip(body["items"], batches[index],
                                                                strict=True)
                        if alarm["serial"] == serial and alarm["code"] == code}
            case_id = next(iter(case_ids - {None}), None)
            if case_id is not None and case_id in opened_in:
                first_latency.append(opened_in[case_id] - sent)

    def counted() -> dict[str, int]:
        with stack.engine.connect() as connection:
            def scalar(query: str) -> int:
                return connection.scalar(text(query), {"prefix": f"burst-{seed}-%"}) or 0
            return {
                "alarm_rows": scalar("SELECT count(*) FROM alarms WHERE alarm_id LIKE :prefix"),
                "episodes": scalar("SELECT count(DISTINCT episode_id) FROM alarms "
                                   "WHERE alarm_id LIKE :prefix AND episode_id IS NOT NULL"),
                "repairs": scalar("SELECT count(DISTINCT e.case_id) FROM alarm_episodes e "
                                  "JOIN alarms a ON a.episode_id = e.id "
                                  "WHERE a.alarm_id LIKE :prefix AND e.case_id IS NOT NULL"),
            }

    stored = await asyncio.to_thread(counted)
    sent_total = sum(len(b) for b in batches)
    replay = replayed.json() if replayed.status_code == 200 else {}
    result |= {
        "sent": sent_total, "batches": len(batches), "answered_ok": len(ok),
        "errors": len(answers) - len(ok),
        "error_statuses": sorted({a[3] for a in answers if a[3] != 200}),
        "accepted": accepted, "refused": sum(b["refused"] for b in bodies),
        "stored": stored["alarm_rows"], "lost": sent_total - stored["alarm_rows"],
        "fault_episodes": faults, "episodes_stored": stored["episodes"],
        "repairs_opened": len(opened_in), "repairs_of_the_episodes": stored["repairs"],
        "seconds_to_take_all": round(elapsed, 2),
        "accepted_per_second": round(accepted / elapsed, 1) if elapsed > 0 else None,
        "batch_latency_ms": spread((a[2] - a[1] for a in ok), 1000, 1),
        "first_alarm_to_case_ms": spread(first_latency, 1000, 1),
        "replayed_batch": {"duplicates": replay.get("duplicates"),
                           "accepted": replay.get("accepted"),
                           "cases_opened": len(replay.get("cases_opened", []))},
        "cpu_seconds": cpu,
        "cpu_ms_per_alarm": " / ".join(f"{1000 * cpu.get(name, 0) / sent_total:.2f}"
                                       for name in STACK),
    }
    return result


def grids(result: dict[str, Any]) -> list[Grid]:
    p = result["parameters"]
    latency, first = result["batch_latency_ms"], result["first_alarm_to_case_ms"]
    return [Grid(
        f"Alarm burst: {p['alarms_per_second']} alarms/s for {p['seconds']:g} s "
        f"({p['units']} units, {p['fault_episodes']} fault episodes)",
        ["sent", "accepted", "lost", "refused", "episodes", "repairs", "accepted/s",
         "batch p50 / p99 ms", "first alarm -> case p50 / p99 / max ms", "replayed batch",
         "CPU ms/alarm " + "/".join(STACK)],
        [[f"{result['sent']:,}", f"{result['accepted']:,}", str(result["lost"]),
          str(result["refused"]), str(result["episodes_stored"]),
          str(result["repairs_of_the_episodes"]), number(result["accepted_per_second"]),
          f"{number(latency['p50'], 0)} / {number(latency['p99'], 0)}",
          f"{number(first['p50'], 0)} / {number(first['p99'], 0)} / {number(first['max'], 0)}",
          f"{result['replayed_batch']['duplicates']} duplicates, "
          f"{result['replayed_batch']['cases_opened']} cases",
          result["cpu_ms_per_alarm"]]],
        "One repair per fault episode however many alarms; first alarm -> case: from posting "
        "the batch with an episode's first alarm to the answer that opened its repair (its "
        "workflow started). The promise: none lost, one case per episode, p99 under 2 s.")]
