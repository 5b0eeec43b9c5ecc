"""The live feed (GET /v1/live, server-sent events) and each person's notices: two API
processes on one database both follow what is recorded; a reconnect with Last-Event-ID loses
nothing; a person sees only what they may read; the inbox counts what is unread."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.store.models import Person
from caseflow.store.people import issue_token
from tests.console_driver import served
from tests.postgres import free_port
from tests.test_api import headers, intake_body, new_key
from tests.test_reports import new_hospital_unit

# A hang guard, not a speed claim: the feed polls twice a second.
WAIT = 30.0


@pytest.fixture(scope="module")
async def two_processes(database_url, dev_env, dev_worker) -> AsyncIterator[list[str]]:  # type: ignore[no-untyped-def]
    """Two API apps, each with its own live feed, on one database: two API processes."""
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test")
    async with served(create_app(settings, temporal=dev_env.client), free_port()) as first, \
            served(create_app(settings, temporal=dev_env.client), free_port()) as second:
        yield [first, second]


class Feed:
    """One connection to GET /v1/live, read event by event."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self.lines = lines
        self.last_id: str | None = None

    async def next(self) -> tuple[str, dict[str, Any]]:
        event, data = "message", ""
        async for line in self.lines:
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("id:"):
                self.last_id = line[3:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif line == "" and data:
                return event, json.loads(data)
        raise AssertionError("the feed ended")

    async def until(self, wanted) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        """The first event for which `wanted(event, data)` holds."""
        async def find() -> dict[str, Any]:
            while True:
                event, data = await self.next()
                if wanted(event, data):
                    return data
        return await asyncio.wait_for(find(), WAIT)


@asynccontextmanager
async def feed(base: str, token: str, last_id: str | None = None) -> AsyncIterator[Feed]:
    extra = {"Last-Event-ID": last_id} if last_id else {}
    async with httpx.AsyncClient(base_url=base, timeout=WAIT) as client, client.stream(
            "GET", "/v1/live", headers={"Authorization": f"Bearer {token}", **extra}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Feed(response.aiter_lines())


def of_case(case_id: str, event: str):  # type: ignore[no-untyped-def]
    return lambda kind, data: kind == "case" and data["case_id"] == case_id and \
        data["event"] == event


async def open_repair(base: str, tokens: dict[str, str], **extra: Any) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=WAIT) as client:
        created = await client.post("/v1/repairs", json=intake_body(**extra),
                                    headers=headers(tokens, "hotline", new_key()))
        assert created.status_code == 201, created.text
        return created.json()["case_id"]


async def act(base: str, tokens: dict[str, str], role: str, case_id: str, action: str,
              payload: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=WAIT) as client:
        done = await client.post(f"/v1/cases/{case_id}/actions/{action}", json=payload,
                                 headers=headers(tokens, role, new_key()))
        assert done.status_code == 200, done.text


async def test_every_api_process_follows_what_is_recorded(two_processes, tokens):
    first, second = two_processes
    async with feed(first, tokens["manager"]) as one, feed(second, tokens["supervisor"]) as two:
        await one.until(lambda kind, data: kind == "ready")
        await two.until(lambda kind, data: kind == "ready")
        case_id = await open_repair(first, tokens, severity="general")
        seen_one = await one.until(of_case(case_id, "opened"))
        seen_two = await two.until(of_case(case_id, "opened"))
        assert seen_one == seen_two
        assert seen_one["kind"] == "repair" and seen_one["hospital_id"] == "H-DH"
        assert "summary" not in seen_one, "the code and data, never a bilingual summary"
        assert seen_one["data"]["intake"]["symptom"] == intake_body()["symptom"]


async def test_a_reconnect_with_last_event_id_gets_what_happened_meanwhile(two_processes, tokens):
    first, second = two_processes
    async with feed(first, tokens["manager"]) as before:
        await before.until(lambda kind, data: kind == "ready")
        last = before.last_id
    assert last is not None
    case_id = await open_repair(first, tokens, severity="general")  # while nobody listens
    await act(first, tokens, "supervisor", case_id, "assign", {"engineer_id": "EN-01"})
    async with feed(second, tokens["manager"], last_id=last) as after:  # another process
        opened = await after.until(of_case(case_id, "opened"))
        assigned = await after.until(of_case(case_id, "assign"))
        assert opened["seq"] < assigned["seq"]
        assert assigned["data"]["engineer_id"] == "EN-01"


async def test_a_bad_last_event_id_is_a_422_naming_the_header(two_processes, tokens):
    async with httpx.AsyncClient(base_url=two_processes[0], timeout=WAIT) as client:
        refused = await client.get("/v1/live", headers={
            **headers(tokens, "manager"), "Last-Event-ID": "yesterday"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]


async def test_an_engineer_sees_only_cases_they_may_read_and_their_own_notices(
        two_processes, tokens, sessions):
    first = two_processes[0]
    hospital_id, serial = new_hospital_unit(sessions)
    suffix = uuid.uuid4().hex[:6]
    with sessions.begin() as session:
        session.add_all([
            Person(id=f"EN-L{suffix}", name="工程师 林", role="engineer", hospital_id=hospital_id,
                   channels=["log"]),
            Person(id=f"EN-M{suffix}", name="工程师 马", role="engineer", hospital_id=hospital_id,
                   channels=["log"])])
        session.flush()
        mine = issue_token(session, f"EN-L{suffix}", "live")[0]
    async with feed(first, mine) as engineer:
        await engineer.until(lambda kind, data: kind == "ready")
        elsewhere = await open_repair(first, tokens, severity="general")  # H-DH: not theirs
        here = await open_repair(first, tokens, serial=serial, hospital=hospital_id,
                                 severity="general")
        await act(first, tokens, "supervisor", here, "assign", {"engineer_id": f"EN-L{suffix}"})
        notice = await engineer.until(lambda kind, data: kind == "notice")
        assert notice["case_id"] == here and notice["event"] == "assign"
        assert notice["person_id"] == f"EN-L{suffix}"
        seen = [await engineer.until(lambda kind, data: kind == "case" and data["case_id"] in (
            elsewhere, here))]
        assert seen[0]["case_id"] == here, "a case of another hospital is not sent to them"

    async with httpx.AsyncClient(base_url=first, timeout=WAIT) as client:
        auth = {"Authorization": f"Bearer {mine}"}
        inbox = (await client.get("/v1/notices", headers=auth)).json()
        assert inbox["unread"] == 1 and inbox["items"][0]["event"] == "assign"
        assert inbox["items"][0]["data"]["engineer_id"] == f"EN-L{suffix}"
        marked = await client.post("/v1/notices/read", json={"up_to": inbox["items"][0]["id"]},
                                   headers=auth)
        assert marked.json() == {"marked": 1, "unread": 0}
        other = await client.get("/v1/notices", headers=headers(tokens, "engineer2"))
        assert here not in {n["case_id"] for n in other.json()["items"]}
        empty = await client.post("/v1/notices/read", json={}, headers=auth)
        assert empty.status_code == 422
