"""Reads an SLA policy file, validates it, and pins it to a case with its holidays resolved.

A bad file raises `PolicyError` naming the file, the field and the reason, so a worker or API
started with it stops at once instead of running on a policy nobody wrote.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from caseflow.domain.calendar import WorkingCalendar
from caseflow.domain.policy import WEEKDAYS, CalendarSpec, CasePolicy, SlaPolicy

# Deadlines are at most weeks long; holidays of the intake year and the next two cover them.
_HOLIDAY_YEARS_AHEAD = 2


class PolicyError(Exception):
    """The policy file cannot be used: names the file, the field and the reason."""


class PolicyBook(BaseModel):
    """A validated policy file: defaults plus one complete policy per contract."""

    model_config = ConfigDict(frozen=True)

    version: str
    source: str
    defaults: SlaPolicy
    contracts: dict[str, SlaPolicy]
    # The document as written: its text (YAML) and its data as JSON, as PUT /v1/policy takes it.
    text: str = Field(default="", repr=False)
    document: dict[str, Any] = Field(default_factory=dict, repr=False)
    _pinned: dict[tuple[str | None, int, str | None], CasePolicy] = PrivateAttr(default_factory=dict)

    def for_contract(self, contract_code: str | None) -> SlaPolicy:
        if contract_code and contract_code in self.contracts:
            return self.contracts[contract_code]
        return self.defaults

    def pin(self, contract_code: str | None, at: datetime, kind: str | None = None) -> CasePolicy:
        """The policy in force for a contract at `at`, with calendars resolved, for one case:
        with `kind`, only that kind's section (a case never reads another kind's commitments,
        and the pinned policy is part of its start event: half a repair's intake history was
        the other kinds' sections)."""
        key = (contract_code, at.year, kind)
        if key not in self._pinned:  # resolving holidays is slow; a book's pins never change
            whole = self.pin(contract_code, at) if kind is not None else \
                self._pin(contract_code, at.year)
            self._pinned[key] = whole.only(kind) if kind is not None else whole
        return self._pinned[key]

    def _pin(self, contract_code: str | None, year: int) -> CasePolicy:
        policy = self.for_contract(contract_code)
        years = range(year, year + _HOLIDAY_YEARS_AHEAD + 1)
        calendars = {
            name: resolve_calendar(name, spec, policy.timezone, years)
            for name, spec in policy.calendars.items()
        }
        return CasePolicy(
            policy_version=self.version,
            contract_code=contract_code if contract_code in self.contracts else None,
            timezone=policy.timezone,
            calendars=calendars,
            ladder=policy.ladder,
            pause_reasons=policy.pause_reasons,
            repair=policy.repair,
            complaint=policy.complaint,
            emergency=policy.emergency,
            installation=policy.installation,
            maintenance=policy.maintenance,
            regulatory=policy.regulatory,
            review=policy.review,
        )


def resolve_calendar(name: str, spec: CalendarSpec, default_tz: str,
                     years: range) -> WorkingCalendar:
    days_off: set[date] = set(spec.extra_holidays)
    days_on: set[date] = set(spec.extra_workdays)
    if spec.holidays_country and not spec.always_open:
        import holidays  # heavy: imported only when a policy is pinned, never in workflows

        country = holidays.country_holidays(spec.holidays_country, years=list(years))
        days_off.update(country.keys())
        days_on.update(d for d in getattr(country, "weekend_workdays", ()) if d.year in years)
    return WorkingCalendar(
        name=name,
        timezone=spec.timezone or default_tz,
        always_open=spec.always_open,
        workdays=tuple(WEEKDAYS.index(d) for d in spec.workdays),
        opens=spec.opens,
        closes=spec.closes,
        holidays=tuple(sorted(days_off - days_on)),
        extra_workdays=tuple(sorted(days_on)),
    )


# A commitment has exactly one of these; an override naming one replaces the other.
_EXCLUSIVE = ("within", "by")


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    if any(key in override for key in _EXCLUSIVE):
        for key in _EXCLUSIVE:
            merged.pop(key, None)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(source: str, prefix: str, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in (prefix, *item["loc"]) if p != "")
        lines.append(f"{source}: {where or '(top level)'}: {item['msg']}")
    return "\n".join(lines)


def parse_policy(raw: Any, source: str, text: str = "") -> PolicyBook:
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: (top level): expected a mapping with 'version' and 'defaults'")
    unknown = set(raw) - {"version", "defaults", "contracts"}
    if unknown:
        raise PolicyError(f"{source}: {min(unknown)}: unknown top-level key")
    if not isinstance(raw.get("version"), str | int | float):
        raise PolicyError(f"{source}: version: required (a string naming this policy revision)")
    defaults_raw = raw.get("defaults")
    if not isinstance(defaults_raw, dict):
        raise PolicyError(f"{source}: defaults: required mapping")
    try:
        defaults = SlaPolicy.model_validate(defaults_raw)
    except ValidationError as exc:
        raise PolicyError(_describe(source, "defaults", exc)) from None
    if not isinstance(raw.get("contracts") or {}, dict):
        raise PolicyError(f"{source}: contracts: expected a mapping of contract code to overrides")
    contracts: dict[str, SlaPolicy] = {}
    for code, override in (raw.get("contracts") or {}).items():
        if not isinstance(override, dict):
            raise PolicyError(f"{source}: contracts.{code}: expected a mapping of overrides")
        try:
            contracts[str(code)] = SlaPolicy.model_validate(_deep_merge(defaults_raw, override))
        except ValidationError as exc:
            raise PolicyError(_describe(source, f"contracts.{code}", exc)) from None
    digest = hashlib.sha256(repr(raw).encode()).hexdigest()[:12]
    document = json.loads(json.dumps(raw, ensure_ascii=False, default=str))  # dates as ISO text
    return PolicyBook(version=f"{raw['version']}#{digest}", source=source, defaults=defaults,
                      contracts=contracts, text=text or policy_text(document),
                      document=document)


def parse_text(text: str, source: str) -> PolicyBook:
    """A policy from its YAML (or JSON) text: the same text always gives the same version."""
    return parse_policy(read_yaml(text, source), source, text)


def policy_text(document: dict[str, Any]) -> str:
    """A policy document (e.g. sent as JSON) as the YAML a policy file is."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def load_policy(path: str | Path | None = None) -> PolicyBook:
    """Load the policy file at `path`, or the packaged default policy."""
    if path is None:
        text = resources.files("caseflow.policy").joinpath("default.yaml").read_text("utf-8")
        source = "caseflow/policy/default.yaml"
    else:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise PolicyError(f"{source}: cannot read: {exc.strerror}") from None
    return parse_policy(read_yaml(text, source), source, text)


def read_yaml(text: str, source: str) -> Any:
    """YAML text as data, or PolicyError (also for nesting too deep to read)."""
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise PolicyError(f"{source}: not valid YAML: {reason}") from None
