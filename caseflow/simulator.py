"""`caseflow simulate-alarms`: plays realistic alarm streams of the demo fleet into
`POST /v1/alarms`, as a remote-monitoring integration would (docs/monitoring.md).

Every unit sends a status reading every 10 seconds; on top of that, in one run:

- CT-DH-0001's X-ray tube overheats: a storm of CT-TUBE-TEMP alarms (a few arcing ones among
  them, the same fault by the policy's group) that clears by itself before anyone acts: one
  repair, which a supervisor may close as self-resolved;
- MR-DH-0002's cold head warms: MR-COLDHEAD-TEMP and MR-MAGNET-TEMP alarms, one fault: one
  severe repair, still active at the end;
- MR-JB-0004's helium level falls towards its 60 % limit (fast, then within the margin): the
  trend rule raises one preventive repair, however many readings follow;
- with `--critical`, MR-JB-0004 also reports a quench risk: a critical repair whose emergency
  pages the on-call chain.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

READING_EVERY = 10  # seconds between two status readings of a unit
BATCH_SECONDS = 1.0  # alarms of one second go in one POST


@dataclass(frozen=True)
class Planned:
    """One alarm to send `at` seconds into the run."""

    at: float
    alarm: dict[str, Any]


def _reading(serial: str, code: str, at: datetime, name: str, value: float, unit: str,
             low: float | None = None, high: float | None = None) -> dict[str, Any]:
    return {"serial": serial, "code": code, "severity": "info", "raised_at": at.isoformat(),
            "values": [{"name": name, "value": round(value, 2), "unit": unit, "low": low,
                        "high": high}]}


def alarm_stream(start: datetime, seconds: int, *, run: str, critical: bool = False,
                 seed: int = 7) -> Iterator[Planned]:
    """The alarms of the demo fleet over `seconds` from `start`, in time order (deterministic
    for a seed); `run` makes the alarm ids of this run unique."""
    rng = random.Random(seed)
    planned: list[Planned] = []

    def add(offset: float, alarm: dict[str, Any]) -> None:
        alarm.setdefault("alarm_id", f"sim-{run}-{len(planned):06d}")  # a clearing keeps its id
        planned.append(Planned(offset, alarm))

    for offset in range(0, seconds, READING_EVERY):
        at = start + timedelta(seconds=offset)
        add(offset, _reading("CT-DH-0001", "CT-STATUS", at, "detector_temp",
                             28 + rng.uniform(-0.3, 0.3), "°C", low=18, high=35))
        add(offset, _reading("CT-JB-0003", "CT-STATUS", at, "tube_temp",
                             62 + rng.uniform(-2, 2), "°C", high=95))
        add(offset, _reading("MR-DH-0002", "MR-STATUS", at, "helium_level",
                             82 - offset / 3600, "%", low=60))
        # MR-JB-0004's helium falls from 68 % towards its limit, past the 65 % trend margin
        helium = 68 - 7 * offset / max(seconds, 1)
        add(offset, _reading("MR-JB-0004", "MR-STATUS", at, "helium_level", helium, "%", low=60))

    storm_from, storm_to = seconds * 0.1, seconds * 0.45
    tube: list[dict[str, Any]] = []
    offset = storm_from
    while offset < storm_to:
        at = start + timedelta(seconds=offset)
        code = "CT-TUBE-ARC" if rng.random() < 0.1 else "CT-TUBE-TEMP"
        alarm = {"serial": "CT-DH-0001", "code": code, "severity": "alarm",
                 "raised_at": at.isoformat(), "message": "球管温度过高",
                 "values": [{"name": "tube_temp", "value": round(96 + rng.uniform(0, 6), 1),
                             "unit": "°C", "high": 95}]}
        add(offset, alarm)
        tube.append(alarm)
        offset += rng.uniform(0.2, 1.5)
    cleared_at = (start + timedelta(seconds=storm_to + 2)).isoformat()
    for alarm in tube:  # the tube cools down: every alarm of the storm clears
        add(storm_to + 2, {**alarm, "cleared_at": cleared_at})

    offset = seconds * 0.3
    while offset < seconds * 0.9:
        at = start + timedelta(seconds=offset)
        code = "MR-COLDHEAD-TEMP" if rng.random() < 0.7 else "MR-MAGNET-TEMP"
        add(offset, {"serial": "MR-DH-0002", "code": code, "severity": "warning",
                     "raised_at": at.isoformat(), "message": "冷头温度升高",
                     "values": [{"name": "coldhead_temp", "value": round(4.4 + offset / seconds, 2),
                                 "unit": "K", "high": 4.5}]})
        offset += rng.uniform(1, 4)

    if critical:
        at = start + timedelta(seconds=seconds * 0.6)
        add(seconds * 0.6, {"serial": "MR-JB-0004", "code": "MR-QUENCH-RISK",
                            "severity": "critical", "raised_at": at.isoformat(),
                            "message": "磁体失超风险",
                            "values": [{"name": "magnet_pressure", "value": 4.9, "unit": "psi",
                                        "high": 4.0}]})
    return iter(sorted(planned, key=lambda p: p.at))


@dataclass
class Played:
    batches: int = 0
    accepted: int = 0
    duplicates: int = 0
    cleared: int = 0
    refused: int = 0
    cases: list[str] | None = None


async def play(client: httpx.AsyncClient, token: str, stream: Iterator[Planned], *,
               realtime: bool = True, on_batch: Any = None) -> Played:
    """Send the stream a second's batch at a time (at its pace if `realtime`), retrying a
    batch that was not answered or answered 503 (the API takes nothing twice)."""
    played, cases = Played(), []
    begun = time.monotonic()
    pending = list(stream)
    while pending:
        second = pending[0].at // BATCH_SECONDS
        batch = [p.alarm for p in pending if p.at // BATCH_SECONDS == second]
        pending = pending[len(batch):]
        if realtime:
            await asyncio.sleep(max(0.0, second * BATCH_SECONDS - (time.monotonic() - begun)))
        body = await _post(client, token, batch)
        played.batches += 1
        for name in ("accepted", "duplicates", "cleared", "refused"):
            setattr(played, name, getattr(played, name) + body[name])
        cases += [c for c in body["cases_opened"] if c not in cases]
        if on_batch is not None:
            on_batch(body)
    played.cases = cases
    return played


async def _post(client: httpx.AsyncClient, token: str, batch: list[dict[str, Any]]) -> dict:
    for attempt in range(8):
        try:
            answer = await client.post("/v1/alarms", json={"alarms": batch},
                                       headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code == 200:
            return answer.json()
        if answer is not None and answer.status_code not in (429, 503):
            answer.raise_for_status()
        await asyncio.sleep(min(0.25 * 2 ** attempt, 5))
    raise RuntimeError("the API did not take a batch of alarms after 8 tries")


def run_label(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S")
