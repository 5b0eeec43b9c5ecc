"""The live feed behind the console's pages: what the database records (case events and
notifications), read by every API process on its own, sent to each reader as server-sent
events they may see.

Each API process runs one reader of the two tables while anyone is connected: it asks for the
rows after the newest id it has seen every `live_poll_seconds`, and hands each new row once to
every connection whose person may see it. So every process of a multi-process deployment
follows the same database, and nothing is pushed between processes.

Ids are taken when a row is inserted but become visible when its transaction commits, so a
row can appear after a higher id did (PostgreSQL). Ids skipped over are remembered as gaps and
asked for again for `GAP_SECONDS`, and a row found late is kept for `LATE_SECONDS` so that a
reader who reconnects gets it too (rolled-back inserts leave gaps that never fill).

A connection's event id is `<case event id>.<notification id>`, the newest of each it was
sent; a reconnect with it as `Last-Event-ID` is first sent every row after those ids (and the
late ones) before it follows the feed again; the console drops a row it already has by id.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from caseflow.domain.access import CaseScope
from caseflow.domain.cases import redact_event
from caseflow.domain.enums import Role
from caseflow.domain.kinds import KINDS
from caseflow.store import live

log = structlog.get_logger(__name__)

GAP_SECONDS = 30.0
LATE_SECONDS = 120.0
QUEUE_SIZE = 2000


@dataclass
class Gaps:
    """The ids of one table seen so far: all up to `newest` but the gaps, each with when it was
    first missed."""

    newest: int
    missing: dict[int, float] = field(default_factory=dict)

    def saw(self, ids: list[int], now: float) -> None:
        for found in sorted(ids):
            if found > self.newest:
                for skipped in range(self.newest + 1, found):
                    self.missing[skipped] = now
                self.newest = found
            else:
                self.missing.pop(found, None)
        for old in [i for i, since in self.missing.items() if now - since > GAP_SECONDS]:
            del self.missing[old]  # rolled back, most likely: it will never appear

    def wanted(self) -> list[int]:
        return sorted(self.missing)[:500]


@dataclass(eq=False)
class Viewer:
    """One connection: whose it is, which cases they may see, the queue of their messages."""

    person_id: str
    scope: CaseScope
    notified: set[str]
    reads_cases: bool = True
    role: Role | None = None  # what of a confidential kind's events they see (redact_event)
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def may_see(self, message: dict[str, Any]) -> bool:
        if message["type"] == "notice":
            if message["person_id"] != self.person_id:
                return False
            self.notified.add(message["case_id"])
            return True
        if not self.reads_cases:
            return False
        if not self.scope.limited:
            return True
        return (message["assignee_id"] == self.person_id
                or message["hospital_id"] == self.scope.hospital_id
                or message["case_id"] in self.notified)

    def shown(self, message: dict[str, Any]) -> dict[str, Any]:
        """A case event as this reader may see it (a review's deliberations hidden)."""
        if message["type"] != "case" or self.role is None:
            return message
        return redact_event(KINDS.get(message["kind"] or ""), self.role, message)

    def offer(self, message: dict[str, Any]) -> None:
        if not self.may_see(message):
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:  # a reader that stopped reading: end it; it reconnects
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait(None)


class LiveFeed:
    """One per API process: reads the tables while anyone listens, fans rows out."""

    def __init__(self, sessions: sessionmaker[Session], poll_seconds: float) -> None:
        self.sessions = sessions
        self.poll_seconds = poll_seconds
        self.viewers: set[Viewer] = set()
        self.cases: Gaps | None = None
        self.notices: Gaps | None = None
        self.late: deque[tuple[float, dict[str, Any]]] = deque()
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def position(self) -> tuple[int, int]:
        assert self.cases is not None and self.notices is not None
        return self.cases.newest, self.notices.newest

    async def join(self, viewer: Viewer) -> tuple[int, int]:
        """Start following for `viewer`; the ids it will be sent rows after."""
        self.viewers.add(viewer)
        if self.task is None or self.task.done():
            self.ready = asyncio.Event()
            self.task = asyncio.create_task(self._follow())
        await self.ready.wait()
        return self.position()

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    def late_rows(self) -> list[dict[str, Any]]:
        return [message for _, message in self.late]

    async def _follow(self) -> None:
        def start() -> tuple[int, int]:
            with self.sessions() as session:
                return live.high_water(session)

        cases, notices = await asyncio.to_thread(start)
        self.cases, self.notices = Gaps(cases), Gaps(notices)
        self.ready.set()
        while self.viewers:
            try:
                await self._poll()
            except Exception:  # the database may be away for a while; try again
                log.exception("live feed poll failed")
            await asyncio.sleep(self.poll_seconds)

    async def _poll(self) -> None:
        assert self.cases is not None and self.notices is not None
        cases, notices = self.cases, self.notices
        after_cases, gap_cases = cases.newest, cases.wanted()
        after_notices, gap_notices = notices.newest, notices.wanted()

        def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            with self.sessions() as session:
                found_notices = live.notifications(session, after=after_notices)
                if gap_notices:
                    found_notices += live.notifications(session, ids=gap_notices)
                found_cases = live.case_events(session, after=after_cases)
                if gap_cases:
                    found_cases += live.case_events(session, ids=gap_cases)
                return found_notices, found_cases

        found_notices, found_cases = await asyncio.to_thread(read)
        now = time.monotonic()
        for table, found, after in ((notices, found_notices, after_notices),
                                    (cases, found_cases, after_cases)):
            table.saw([m["id"] for m in found], now)
            for message in sorted(found, key=lambda m: m["id"]):
                if message["id"] <= after:
                    self.late.append((now, message))
                for viewer in list(self.viewers):
                    viewer.offer(message)
        while self.late and now - self.late[0][0] > LATE_SECONDS:
            self.late.popleft()


def parse_position(text: str | None) -> tuple[int, int] | None:
    """`<case event id>.<notification id>` as a Last-Event-ID; None if absent or not that."""
    if not text:
        return None
    head, _, tail = text.strip().partition(".")
    if not (head.isdigit() and tail.isdigit()) or len(head) > 18 or len(tail) > 18:
        return None
    return int(head), int(tail)


async def stream(feed: LiveFeed, viewer: Viewer,
                 since: tuple[int, int] | None) -> AsyncIterator[dict[str, Any]]:
    """The server-sent events of one connection: what it missed since `since`, then the feed."""
    position = await feed.join(viewer)
    sent: set[tuple[str, int]] = set()
    try:
        cases_at, notices_at = since if since is not None else position
        if since is not None:
            def missed() -> list[dict[str, Any]]:
                with feed.sessions() as session:
                    return (live.notifications(session, after=since[1], person_id=viewer.person_id,
                                               limit=1000)
                            + live.case_events(session, after=since[0], limit=1000))

            backlog = await asyncio.to_thread(missed)
            for message in backlog + feed.late_rows():
                if (message["type"], message["id"]) in sent or not viewer.may_see(message):
                    continue
                sent.add((message["type"], message["id"]))
                if message["type"] == "case":
                    cases_at = max(cases_at, message["id"])
                else:
                    notices_at = max(notices_at, message["id"])
                yield {"event": message["type"], "id": f"{cases_at}.{notices_at}",
                       "data": viewer.shown(message)}
        cases_at, notices_at = max(cases_at, position[0]), max(notices_at, position[1])
        yield {"event": "ready", "id": f"{cases_at}.{notices_at}", "data": {}}
        while True:
            message = await viewer.queue.get()
            if message is None:
                return  # too far behind: the client reconnects and catches up
            key = (message["type"], message["id"])
            if key in sent:
                continue
            if message["type"] == "case":
                cases_at = max(cases_at, message["id"])
            else:
                notices_at = max(notices_at, message["id"])
            yield {"event": message["type"], "id": f"{cases_at}.{notices_at}",
                   "data": viewer.shown(message)}
    finally:
        feed.leave(viewer)
