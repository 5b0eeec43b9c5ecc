"""A model of the competitors' escalation: a cron job that polls the database.

Help desks such as GLPI, Zammad and Znuny keep a ticket's escalation time in a column and run a
periodic job (every 1 to 5 minutes by default) that selects the tickets whose time has passed
and escalates them. This module is that job, reduced to its essence and given every advantage:
one indexed query, no per-ticket work, its own escalation time taken per row the moment the
row is written. It is not part of caseflow; the lateness benchmark runs it beside caseflow on
the very same deadlines, so the difference is the polling and nothing else.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
)

metadata = MetaData()

# The competitor's ticket table, reduced to what escalation reads: each case's due time, written
# when the case is opened, as a help desk writes a ticket's escalation time.
deadlines = Table(
    "baseline_deadlines", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("commitment", String(64), primary_key=True),
    Column("due_at", DateTime(timezone=True), nullable=False, index=True),
)
# What each poller escalated, and when: the poller's equivalent of caseflow's `escalations`.
escalations = Table(
    "baseline_escalations", metadata,
    Column("poller", String(32), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("commitment", String(64), primary_key=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("escalated_at", DateTime(timezone=True), nullable=False),
    Column("lateness_seconds", Float, nullable=False),
)

# One pass of the cron job: every due row not escalated by this poller yet, escalated now.
SCAN = text("""
    INSERT INTO baseline_escalations (poller, case_id, commitment, due_at, escalated_at,
                                      lateness_seconds)
    SELECT CAST(:poller AS varchar), d.case_id, d.commitment, d.due_at, clock_timestamp(),
           extract(epoch FROM clock_timestamp() - d.due_at)
    FROM baseline_deadlines d
    WHERE d.due_at <= clock_timestamp()
      AND NOT EXISTS (SELECT 1 FROM baseline_escalations e
                      WHERE e.poller = CAST(:poller AS varchar) AND e.case_id = d.case_id
                        AND e.commitment = d.commitment)
""")


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def record_deadline(engine: Engine, case_id: str, commitment: str, due_at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(insert(deadlines).values(case_id=case_id, commitment=commitment,
                                                    due_at=due_at))


class CronPoller:
    """Scans every `interval` seconds on a fixed schedule, like cron, from a random phase (a
    real job's schedule has nothing to do with when our cases happen to be due)."""

    def __init__(self, engine: Engine, interval: float, rng: random.Random) -> None:
        self.engine = engine
        self.interval = interval
        self.name = f"poll-{interval:g}s"
        self.phase = rng.uniform(0, interval)
        self.scans = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Scan at start + phase, + interval, + 2 intervals... until `stop` is set."""
        first = time.monotonic() + self.phase
        while not stop.is_set():
            wake = first + self.scans * self.interval
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, wake - time.monotonic()))
                return
            except TimeoutError:
                pass
            await asyncio.to_thread(self.scan)

    def scan(self) -> int:
        with self.engine.begin() as connection:
            done = connection.execute(SCAN, {"poller": self.name}).rowcount
        self.scans += 1
        return done

    def escalated(self) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(escalations)
                                     .where(escalations.c.poller == self.name)) or 0

    def lateness(self) -> list[float]:
        with self.engine.connect() as connection:
            return list(connection.scalars(select(escalations.c.lateness_seconds)
                                           .where(escalations.c.poller == self.name)))
