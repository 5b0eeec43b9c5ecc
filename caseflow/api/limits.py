"""Per-token rates of creating cases, reporting steps and signing in (429 with Retry-After).
(The cap on request bodies is FastAPI's own `max_body_size`: 413.)"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


class RateLimited(Exception):
    """Too many requests of one kind from one token; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float


class Limiter:
    """Token buckets per (kind, key): `per_minute` requests a minute on average, up to that
    many at once. Kept in the API process: with N API processes a token gets N times the rate
    (docs/security.md). A rate of 0 means no limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self.buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, kind: str, key: str, per_minute: int, what: str) -> None:
        if per_minute <= 0:
            return
        now, rate = self.clock(), per_minute / 60.0
        bucket = self.buckets.get((kind, key))
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self._forget_full(now, rate)
            bucket = self.buckets[(kind, key)] = _Bucket(tokens=float(per_minute), at=now)
        bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        wait = math.ceil((1.0 - bucket.tokens) / rate)
        raise RateLimited(f"too many requests: at most {per_minute} {what} a minute per token; "
                          f"retry in {wait} s", retry_after=wait)

    def _forget_full(self, now: float, rate: float) -> None:
        """Drop idle buckets (those that would be full again): they hold nothing to remember."""
        for key, bucket in list(self.buckets.items()):
            if (now - bucket.at) * rate >= 60 * rate:
                del self.buckets[key]
