"""Recurring faults: repairs of one model with the same fault category, close together across
the whole fleet (seed 002: fault rates of a model reveal quality problems early).

A pattern starts at the first `repairs` repairs (sorted by when the fault was observed) that lie
within `within` of each other, and goes on while each further repair still has the `repairs - 1`
before it within `within`; a repair that does not ends it, and a later run starts a new pattern.
Its key (brand, model, fault category and first case) names it for good, so it is notified once.
Pure: given the repairs and their units.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel

from caseflow.domain.reliability import RepairFact, UnitInfo
from caseflow.domain.reliability_policy import RecurringFaults, wall_clock


class PatternCase(BaseModel):
    ref: str
    source: str
    serial: str
    hospital_id: str
    observed_at: datetime
    severity: str | None


class Pattern(BaseModel):
    key: str
    brand: str
    model: str
    fault_category: str
    cases: list[PatternCase]
    first_observed: datetime
    last_observed: datetime

    @property
    def count(self) -> int:
        return len(self.cases)


def find_patterns(repairs: list[tuple[UnitInfo, RepairFact]],
                  rule: RecurringFaults) -> list[Pattern]:
    """Every pattern among `repairs` (repairs without a fault category, or of a category the
    rule ignores, are left out)."""
    window = wall_clock(rule.within)
    need = rule.repairs
    groups: dict[tuple[str, str, str], list[tuple[UnitInfo, RepairFact]]] = defaultdict(list)
    ignored = {c.value for c in rule.ignore}
    for unit, repair in repairs:
        if repair.kind == "repair" and repair.fault_category and \
                repair.fault_category not in ignored:
            groups[(unit.brand, unit.model, repair.fault_category)].append((unit, repair))
    found: list[Pattern] = []
    for (brand, model, category), members in sorted(groups.items()):
        members.sort(key=lambda m: (m[1].observed_at, m[1].ref))
        current: list[tuple[UnitInfo, RepairFact]] | None = None
        for index, member in enumerate(members):
            fits = (index >= need - 1 and member[1].observed_at
                    - members[index - need + 1][1].observed_at <= window)
            if fits:
                if current is None:
                    current = members[index - need + 1:index + 1]
                else:
                    current.append(member)
            elif current is not None:
                found.append(_pattern(brand, model, category, current))
                current = None
        if current is not None:
            found.append(_pattern(brand, model, category, current))
    return found


def _pattern(brand: str, model: str, category: str,
             members: list[tuple[UnitInfo, RepairFact]]) -> Pattern:
    cases = [PatternCase(ref=r.ref, source=r.source, serial=u.serial, hospital_id=u.hospital_id,
                         observed_at=r.observed_at, severity=r.severity) for u, r in members]
    return Pattern(key=f"{brand}|{model}|{category}|{cases[0].ref}", brand=brand, model=model,
                   fault_category=category, cases=cases, first_observed=cases[0].observed_at,
                   last_observed=cases[-1].observed_at)


def ongoing(pattern: Pattern, rule: RecurringFaults, now: datetime) -> bool:
    """Whether the pattern is still going on (its last repair within the window of now): only
    such patterns are notified, not those found in old or imported history."""
    return pattern.last_observed >= now - wall_clock(rule.within)
