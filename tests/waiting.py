"""Waiting for what a test can observe (a row, a timeline entry, a history event), never for a
fixed time: a test that sleeps and then asserts passes or fails by the machine's speed."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def until(ask: Callable[[], Any], what: str, seconds: float = 10.0) -> Any:
    """`ask()` (sync, run in a thread, or async) again until it answers something true; that
    answer. Fails naming `what` if it has not happened within `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        found = await ask() if inspect.iscoroutinefunction(ask) else await asyncio.to_thread(ask)
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        await asyncio.sleep(0.05)
