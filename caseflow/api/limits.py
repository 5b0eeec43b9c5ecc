"""Per-token rates of creating cases and reporting steps, and the guard of sign-in (per client
address, and growing delays after failures), each a 429 with Retry-After. (The cap on request
bodies is FastAPI's own `max_body_size`: 413.)"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


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

    def take(self, kind: str, key: str, per_minute: int, what: str, per: str = "token") -> None:
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
        raise RateLimited(f"too many requests: at most {per_minute} {what} a minute per {per}; "
                          f"retry in {wait} s", retry_after=wait)

    def _forget_full(self, now: float, rate: float) -> None:
        """Drop idle buckets (those that would be full again): they hold nothing to remember."""
        for key, bucket in list(self.buckets.items()):
            if (now - bucket.at) * rate >= 60 * rate:
                del self.buckets[key]


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


@dataclass
class _Known:
    """Addresses a user name signed in from (newest last), with when."""

    addresses: dict[str, float] = field(default_factory=dict)


class SignInGuard:
    """Who may try a password now, so that guessing is slow and nobody can lock a person out.

    - Per client address, `per_minute` attempts a minute whatever the names (a token bucket):
      one address cannot spray names.
    - Per (address, user name), after `free` failures in a row each further attempt waits
      1 s, 2 s, 4 s... (up to 15 minutes) after the last failure; a success clears it. This
      slows a guesser at their own address, never the person at theirs.
    - Per user name over all addresses, after `name_free` failures the same growing delays, but
      only for addresses the name has not signed in from before: guessing from many addresses
      is slowed, while the person keeps signing in from where they always do.

    User names are compared case-insensitively (as sign-in compares them). Failures older than
    an hour are forgotten. Kept in the API process, like the other limits.
    """

    MAX_DELAY = 900.0
    FORGET_AFTER = 3600.0

    def __init__(self, clock: Callable[[], float] = time.monotonic, free: int = 3,
                 name_free: int = 10, max_keys: int = 10_000) -> None:
        self.clock = clock
        self.free = free
        self.name_free = name_free
        self.max_keys = max_keys
        self.addresses = Limiter(clock, max_keys)
        self.pairs: dict[tuple[str, str], _Failures] = {}
        self.names: dict[str, _Failures] = {}
        self.known: dict[str, _Known] = {}

    @staticmethod
    def name_of(username: str) -> str:
        return username.strip().casefold()

    def check(self, address: str, username: str, per_minute: int) -> None:
        """Before the password is checked: RateLimited if this attempt must wait (0: no
        limits at all, as benchmarks run)."""
        if per_minute <= 0:
            return
        name = self.name_of(username)
        self.addresses.take("sign-in", address, per_minute, "sign-in attempts",
                            per="client address")
        wait = self._wait(self.pairs.get((address, name)), self.free)
        if wait:
            raise RateLimited(f"too many failed sign-ins for this user name from this address; "
                              f"retry in {wait} s", retry_after=wait)
        if address not in self.known.get(name, _Known()).addresses:
            wait = self._wait(self.names.get(name), self.name_free)
            if wait:
                raise RateLimited(
                    "too many failed sign-ins for this user name from addresses it has not "
                    f"signed in from; retry in {wait} s", retry_after=wait)

    def failed(self, address: str, username: str) -> None:
        name, now = self.name_of(username), self.clock()
        self._prune(now)
        self._count(self.pairs.setdefault((address, name), _Failures()), now)
        self._count(self.names.setdefault(name, _Failures()), now)

    def _count(self, found: _Failures, now: float) -> None:
        if now - found.last > self.FORGET_AFTER:
            found.count = 0
        found.count += 1
        found.last = now

    def succeeded(self, address: str, username: str) -> None:
        name = self.name_of(username)
        self.pairs.pop((address, name), None)
        known = self.known.setdefault(name, _Known())
        known.addresses.pop(address, None)
        known.addresses[address] = self.clock()
        while len(known.addresses) > 20:
            known.addresses.pop(next(iter(known.addresses)))

    def _wait(self, found: _Failures | None, free: int) -> int:
        if found is None or found.count < free:
            return 0
        now = self.clock()
        if now - found.last > self.FORGET_AFTER:
            return 0
        delay = min(2.0 ** (found.count - free), self.MAX_DELAY)
        left = found.last + delay - now
        return math.ceil(left) if left > 0 else 0

    def _prune(self, now: float) -> None:
        """Keep memory bounded: once a table is full, forget old failures, then the oldest."""
        tables: tuple[dict, ...] = (self.pairs, self.names)
        for table in tables:
            if len(table) < self.max_keys:
                continue
            for key, found in list(table.items()):
                if now - found.last > self.FORGET_AFTER:
                    del table[key]
            while len(table) >= self.max_keys:
                del table[next(iter(table))]
        if len(self.known) >= self.max_keys:
            del self.known[next(iter(self.known))]
