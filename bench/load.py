"""The load generator: people using the API over real HTTP (opening repairs, reporting steps),
each request timed, and the percentiles of what was measured."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.stack import Stack, repair_intake

# The steps of a repair from intake (severity known) to closed, by whom: the docs/api.md walk.
PASSING_VERIFICATION = {
    "function_test": {"passed": True}, "image_quality": {"passed": True},
    "accuracy": [{"parameter": "CT值 水模", "measured": 1.5, "reference": 0.0,
                  "tolerance": 4.0, "unit": "HU"}],
    "stability_run": {"passed": True, "note": "连续运行2小时正常"},
    "electrical_safety": {"passed": True},
}
WALK: list[tuple[str, str, dict[str, Any]]] = [
    ("supervisor", "assign", {"engineer_id": "EN-01"}),
    ("engineer", "acknowledge", {}),
    ("hotline", "confirm-handover", {}),
    ("engineer", "arrive", {"mode": "remote"}),
    ("engineer", "report-site", {"condition": "远程接入正常"}),
    ("supervisor", "approve-start", {}),
    ("engineer", "diagnose", {"findings": "探测器散热风扇故障", "fault_category": "other"}),
    ("engineer", "progress", {"note": "风扇已到货,准备更换"}),
    ("engineer", "resolve", {"summary": "更换风扇,复测正常", "verification": PASSING_VERIFICATION}),
    ("hotline", "confirm", {"confirmed_by": "李医生"}),
    ("hotline", "callback", {"satisfaction": 4, "comment": "响应及时"}),
]


def http_client(url: str, connections: int) -> httpx.AsyncClient:
    """A client of `url` keeping up to `connections` connections open."""
    return httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections))


@dataclass(frozen=True)
class Call:
    """One request: what it was, how long it took, and its answer."""

    what: str
    role: str
    seconds: float
    status: int  # 0: no answer (connection error, timeout)
    body: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Api:
    """An HTTP client of the stack's API acting with the bench's tokens."""

    def __init__(self, stack: Stack, connections: int = 64) -> None:
        self.tokens = stack.tokens
        self.client = http_client(stack.api, connections)

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def call(self, role: str, method: str, path: str, what: str,
                   body: dict[str, Any] | None = None) -> Call:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        started = time.perf_counter()
        try:
            response = await self.client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError:
            return Call(what, role, time.perf_counter() - started, 0)
        seconds = time.perf_counter() - started
        return Call(what, role, seconds, response.status_code,
                    response.json() if response.headers.get("content-type", "").startswith(
                        "application/json") else None)

    async def open_repair(self, severity: str, number: int = 0) -> Call:
        return await self.call("hotline", "POST", "/v1/repairs", "open",
                               repair_intake(severity, number))

    async def act(self, role: str, case_id: str, action: str, payload: dict[str, Any]) -> Call:
        return await self.call(role, "POST", f"/v1/cases/{case_id}/actions/{action}", action,
                               payload)

    async def case(self, case_id: str, patience: float = 60.0) -> Call:
        """GET the case page; a 503 (the case did not answer in time) is asked again, for up
        to `patience` seconds."""
        until = time.monotonic() + patience
        while True:
            done = await self.call("manager", "GET", f"/v1/cases/{case_id}", "read")
            if done.status != 503 or time.monotonic() > until:
                return done
            await asyncio.sleep(0.5)

    async def walk(self, case_id: str) -> list[Call]:
        """Report every step of WALK on one case, in order; stop at the first refusal."""
        calls = []
        for role, action, payload in WALK:
            done = await self.act(role, case_id, action, payload)
            calls.append(done)
            if not done.ok:
                break
        return calls


class BareApi:
    """A client of the bare pipeline (bench/bare.py), shaped like `Api` for the load functions:
    it opens bare cases and walks them through the steps of WALK (one update and one query
    each). `features`: of bench.bare.FEATURES, for the cases it opens."""

    def __init__(self, url: str, connections: int = 64, features: tuple[str, ...] = ()) -> None:
        self.opening = f"/bare?features={','.join(features)}" if features else "/bare"
        self.client = http_client(url, connections)

    async def __aenter__(self) -> BareApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def _post(self, what: str, role: str, path: str, expected: int) -> Call:
        started = time.perf_counter()
        try:
            response = await self.client.post(path)
        except httpx.HTTPError:
            return Call(what, role, time.perf_counter() - started, 0)
        return Call(what, role, time.perf_counter() - started, response.status_code,
                    response.json() if response.status_code == expected else None)

    async def open_repair(self, severity: str, number: int = 0) -> Call:
        return await self._post("open", "bare", self.opening, 201)

    async def walk(self, name: str) -> list[Call]:
        calls = []
        for role, action, _ in WALK:
            done = await self._post(action, role, f"/bare/{name}/steps/{action}", 200)
            calls.append(done)
            if not done.ok:
                break
        return calls


async def walk_cases(api: Api | BareApi, case_ids: list[str], people: int) -> tuple[list[Call], float]:
    """`people` walk the cases through to closed at the same time, each one case after another;
    returns every call and the wall time taken."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for case_id in case_ids:
        queue.put_nowait(case_id)
    calls: list[Call] = []

    async def person() -> None:
        while not queue.empty():
            calls.extend(await api.walk(queue.get_nowait()))

    started = time.perf_counter()
    await asyncio.gather(*(person() for _ in range(people)))
    return calls, time.perf_counter() - started


async def open_cases(api: Api | BareApi, count: int, severity: str, clients: int) -> tuple[list[Call], float]:
    """`clients` hotline tools open `count` repairs between them as fast as they are answered."""
    numbers = iter(range(count))
    calls: list[Call] = []

    async def client() -> None:
        for number in numbers:
            calls.append(await api.open_repair(severity, number))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return calls, time.perf_counter() - started


async def open_paced(api: Api, count: int, severity: str, seconds: float) -> list[Call]:
    """Open `count` repairs at a steady pace over `seconds`, as calls come in to a hotline."""
    begin = time.monotonic()
    step = seconds / max(count - 1, 1)

    async def one(number: int) -> Call:
        await asyncio.sleep(max(0.0, begin + number * step - time.monotonic()))
        return await api.open_repair(severity, number)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def spread(values: Iterable[float], scale: float = 1.0, digits: int = 3) -> dict[str, Any]:
    """n, p50, p95, p99, max and mean of `values` (times `scale`), rounded."""
    ordered = sorted(v * scale for v in values)
    if not ordered:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    return {"n": len(ordered),
            **{name: round(percentile(ordered, q), digits)
               for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))},
            "max": round(ordered[-1], digits),
            "mean": round(sum(ordered) / len(ordered), digits)}
