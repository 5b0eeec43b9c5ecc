"""Tamper evidence for closed cases: a fingerprint of each exported history, chained.

A case's history is fingerprinted in a canonical form (the JSON of its events, keys sorted, no
insignificant spaces, UTF-8), so the same history always gives the same SHA-256 whatever tool
exported it (our API, `temporal workflow show --output json`). Each sealed case adds a link to
one chain over all closed cases: the link's hash covers the previous link's hash, so altering
any sealed record, or removing one, breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

GENESIS = "0" * 64


def canonical_history(history: dict[str, Any] | str | bytes) -> bytes:
    """The bytes a history's fingerprint is taken of: its events, canonically encoded."""
    data = json.loads(history) if isinstance(history, str | bytes) else history
    events = data.get("events", data) if isinstance(data, dict) else data
    return json.dumps(events, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def fingerprint(history: dict[str, Any] | str | bytes) -> str:
    return hashlib.sha256(canonical_history(history)).hexdigest()


def link_hash(previous: str, case_id: str, history_sha256: str, closed_at: datetime) -> str:
    """The chain hash of one sealed case, over the link before it."""
    text = "|".join((previous, case_id, history_sha256, closed_at.isoformat()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Seal(BaseModel):
    """One link of the chain: a closed case's history fingerprint."""

    position: int
    case_id: str
    kind: str
    workflow_id: str
    run_id: str
    closed_at: datetime
    history_sha256: str
    previous_hash: str
    chain_hash: str
    sealed_at: datetime


class ChainCheck(BaseModel):
    """What `caseflow audit verify` found: every link checked, or the first that is wrong."""

    links: int
    ok: bool
    first_bad: int | None = None
    case_id: str | None = None
    reason: str = ""
