"""Tamper evidence for closed cases: a fingerprint of each case's record, chained.

Everything is fingerprinted in one canonical JSON encoding (keys sorted, no insignificant
spaces, UTF-8), so the same data always gives the same SHA-256 whatever tool wrote it.

Scheme 2 (every case sealed from now on) fingerprints the whole record an export shows: the
case's state, its timeline, each run of its workflow history (oldest first: a case that
continued as new has several) and its attachments (id, name, SHA-256). Each part has a fingerprint of
its own; the record's fingerprint is that of the manifest listing them, so `caseflow audit
verify` can name the part that differs. Scheme 1 (seals made before) fingerprinted only the
history's events; such seals still verify, for the history.

Each sealed case adds a link to one chain over all closed cases: the link's hash covers the
previous link's hash, so altering any sealed record, or removing one, breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

GENESIS = "0" * 64
SCHEME = 2  # the scheme new seals are made under


def canonical(value: Any) -> bytes:
    """The one encoding every fingerprint is taken of: JSON, keys sorted, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def canonical_history(history: dict[str, Any] | str | bytes) -> bytes:
    """The bytes a history's fingerprint is taken of: its events, canonically encoded."""
    data = json.loads(history) if isinstance(history, str | bytes) else history
    events = data.get("events", data) if isinstance(data, dict) else data
    return canonical(events)


def fingerprint(history: dict[str, Any] | str | bytes) -> str:
    return hashlib.sha256(canonical_history(history)).hexdigest()


def link_hash(previous: str, case_id: str, sealed_sha256: str, closed_at: datetime,
              scheme: int = 1) -> str:
    """The chain hash of one sealed case, over the link before it:
    SHA-256(previous | case id | fingerprint | close time), and `| scheme` from scheme 2 on."""
    parts = [previous, case_id, sealed_sha256, closed_at.isoformat()]
    if scheme >= 2:
        parts.append(str(scheme))
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


# ----- scheme 2: the whole record -----------------------------------------------------------------

SEALED_TIMELINE_SOURCES = ("case", "notification")  # the seal's own entry follows the seal


class RecordParts(BaseModel):
    """The manifest of a sealed record: the fingerprint of each part."""

    scheme: int = SCHEME
    case_id: str
    kind: str
    state: str
    timeline: str
    histories: list[str]
    attachments: list[dict[str, str]] = []

    @property
    def sha256(self) -> str:
        """The record's fingerprint: that of this manifest."""
        return sha256(self.model_dump(mode="json"))

    def differences(self, other: RecordParts) -> list[str]:
        """The parts of `other` that are not these, in words."""
        found = [name for name in ("case_id", "kind", "state", "timeline", "attachments")
                 if getattr(self, name) != getattr(other, name)]
        if len(self.histories) != len(other.histories):
            found.append(f"histories ({len(other.histories)} runs, sealed "
                         f"{len(self.histories)})")
        else:
            found += [f"history run {n}" for n, (a, b) in
                      enumerate(zip(self.histories, other.histories, strict=True), 1) if a != b]
        return found


UNSEALED_STATE = ("web_ui", "record")


def sealed_state(state: dict[str, Any]) -> dict[str, Any]:
    """The state as sealed: the view without where it can be looked at (`web_ui`, which depends
    on the installation) and without whether it is sealed (`record`, which sealing changes)."""
    return {name: value for name, value in state.items() if name not in UNSEALED_STATE}


def sealed_timeline(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline as sealed: every entry but the seal's own."""
    return [entry for entry in timeline if entry.get("source") in SEALED_TIMELINE_SOURCES]


def record_parts(*, case_id: str, kind: str, state: dict[str, Any],
                 timeline: list[dict[str, Any]], histories: list[dict[str, Any]],
                 attachments: list[dict[str, str]] | None = None) -> RecordParts:
    """The manifest of a record (state and timeline as JSON data, histories as Temporal's JSON,
    oldest run first)."""
    return RecordParts(case_id=case_id, kind=kind, state=sha256(sealed_state(state)),
                       timeline=sha256(sealed_timeline(timeline)),
                       histories=[fingerprint(h) for h in histories],
                       attachments=attachments or [])


class Seal(BaseModel):
    """One link of the chain: a closed case's record fingerprint (scheme 2), or its history's
    (scheme 1)."""

    position: int
    case_id: str
    kind: str
    workflow_id: str
    run_id: str = Field(description="the workflow's last run")
    closed_at: datetime
    scheme: int = 1
    history_sha256: str = Field(description="the fingerprint of the last run's history")
    record_sha256: str | None = Field(
        default=None, description="scheme 2: the fingerprint of the whole record (its manifest)")
    parts: RecordParts | None = Field(default=None,
                                      description="scheme 2: the fingerprint of each part")
    previous_hash: str
    chain_hash: str
    sealed_at: datetime

    @property
    def sealed_sha256(self) -> str:
        """What the link covers: the record's fingerprint, or under scheme 1 the history's."""
        return self.record_sha256 if self.scheme >= 2 and self.record_sha256 else \
            self.history_sha256


class ChainCheck(BaseModel):
    """What `caseflow audit verify` found: every link checked, or the first that is wrong."""

    links: int
    ok: bool
    first_bad: int | None = None
    case_id: str | None = None
    reason: str = ""
