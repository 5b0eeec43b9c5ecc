"""Stable reason codes for refusals: the API's error bodies carry `reason` (and its `params`)
beside the English message, so a client words a refusal in its own language.

The messages come from many places (update validators in the workflows, routes, the
directory), so the codes are read off (error type, field, message) here, in one table; a new
message without a row gets the reason of its error type (`not_allowed_now`, `not_permitted`,
`invalid`...), which a client can still word generically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

from caseflow.domain.errors import (
    DomainError,
    InvalidPayload,
    InvalidTransition,
    NotAssignee,
    NotPermitted,
    UnknownCase,
    UnknownRecord,
    UnknownReference,
)


@dataclass(frozen=True)
class Reason:
    error: type[DomainError]
    code: str
    message: str = ".*"  # a regular expression over the whole message; named groups are params
    field: str | None = None  # a glob over the field ("verification.*"); None: any


# Most specific first; the first row that matches gives the reason.
REASONS: tuple[Reason, ...] = (
    Reason(InvalidTransition, "not_in_status",
           r"cannot (?P<action>[\w-]+) while the case is (?P<status>\w+); allowed now: "
           r"(?P<allowed>.*)"),
    Reason(InvalidTransition, "case_closed", r"case (?P<case_id>\S+) is closed"),
    Reason(InvalidTransition, "clock_already_paused", r"the clock is already paused.*"),
    Reason(InvalidTransition, "clock_not_paused", r"the clock is not paused"),
    Reason(InvalidTransition, "clock_resumes_on_quote_decision",
           r"the clock resumes when the customer decides on the quotation"),
    Reason(InvalidTransition, "clock_paused_resume_first", r"the clock is paused .*"),
    Reason(InvalidTransition, "handover_already_confirmed",
           r"the hand-over of the current assignment is already confirmed"),
    Reason(InvalidTransition, "no_parts_on_order", r"no parts are on order"),
    Reason(InvalidTransition, "parts_not_arrived", r"ordered parts have not arrived yet"),
    Reason(InvalidTransition, "not_self_resolvable",
           r"only a repair whose alarms cleared before anyone acted closes as self-resolved"),
    Reason(InvalidTransition, "action_already_done",
           r"corrective action (?P<action_id>\S+) is already done"),
    Reason(InvalidTransition, "first_feedback_given", r"the first feedback was already given"),
    Reason(InvalidTransition, "actions_all_done", r"every corrective action is done"),
    Reason(InvalidTransition, "safety_measures_first",
           r"record the immediate safety measures before the unit is restored"),
    Reason(InvalidTransition, "actions_still_open", r"improvement actions still open.*"),
    Reason(InvalidTransition, "both_signed", r"both parties have signed"),
    Reason(InvalidTransition, "party_signed", r"the (?P<party>\w+) has signed already"),
    Reason(InvalidTransition, "plan_ended", r"the plan of (?P<serial>\S+) has ended"),
    Reason(InvalidTransition, "policy_in_force", r"policy .* is in force already"),
    Reason(InvalidTransition, "id_taken", r"a person with id .*"),
    Reason(InvalidTransition, "not_allowed_now"),
    Reason(NotAssignee, "not_your_case", r"(?P<action>[\w-]+): case (?P<case_id>\S+) is not "
                                          r"assigned to you"),
    Reason(NotAssignee, "not_on_team", r"(?P<action>[\w-]+): you are not on the team of .*"),
    Reason(NotAssignee, "not_action_owner", r"corrective action (?P<action_id>\S+) is owned by "
                                            r"(?P<owner>.*)"),
    Reason(NotAssignee, "no_open_action", r"you own no open improvement action of .*"),
    Reason(NotPermitted, "role_may_not",
           r"role (?P<role>\w+) may not (?P<what>[\w -]+); allowed: (?P<allowed>.*)"),
    Reason(NotPermitted, "not_your_hospital", r".*neither assigned to you nor at a hospital.*"),
    Reason(NotPermitted, "not_your_hospital", r".* is at a hospital you do not serve"),
    Reason(NotPermitted, "not_permitted"),
    Reason(UnknownCase, "unknown_case"),
    Reason(UnknownRecord, "unknown_record"),
    Reason(UnknownReference, "unknown_reference"),
    Reason(InvalidPayload, "must_pass", r"must pass before the repair is resolved",
           "verification.*"),
    Reason(InvalidPayload, "out_of_tolerance", r"(?P<parameter>.*): (?P<measured>\S+) is "
                                               r"outside (?P<reference>\S+) ± (?P<tolerance>\S+)"),
    Reason(InvalidPayload, "must_be_future", r"must be in the future"),
    Reason(InvalidPayload, "must_be_after", r"must be after (?P<after>\S+)"),
    Reason(InvalidPayload, "key_reused", r"already used for a different request"),
    Reason(InvalidPayload, "already_assigned", r"this engineer is already assigned"),
    Reason(InvalidPayload, "same_value", r"the (severity|category) is already .*"),
    Reason(InvalidPayload, "pause_reason_not_allowed", r"not a pause reason of this contract.*"),
    Reason(InvalidPayload, "unknown_action", r"unknown action .*"),
    Reason(InvalidPayload, "site_item_missing", r"a \S+ site needs (?P<item>\S+) checked"),
    Reason(InvalidPayload, "site_item_not_applicable", r"(?P<item>\S+) does not apply to .*"),
    Reason(InvalidPayload, "training_topics_missing", r"training must cover .*"),
    Reason(InvalidPayload, "no_such_action", r"no corrective action .*", "action_id"),
    Reason(InvalidPayload, "not_yourself", r"an admin cannot deactivate or demote themselves"),
    Reason(InvalidPayload, "invalid"),
)


def reason_of(error: DomainError) -> tuple[str, dict[str, Any]]:
    """The stable reason code of a refusal and the values its wording needs."""
    for row in REASONS:
        if not isinstance(error, row.error):
            continue
        if row.field is not None and not fnmatch(error.field or "", row.field):
            continue
        found = re.fullmatch(row.message, error.message, re.DOTALL)
        if found is not None:
            return row.code, {k: v for k, v in found.groupdict().items() if v is not None}
    return "invalid", {}


# Messages of our own pydantic validators (pydantic reports them as `value_error`).
VALUE_REASONS: tuple[tuple[str, str], ...] = (
    (r"must be 10 to 200 characters", "password_length"),
    (r"must mix letters with digits or signs", "password_mix"),
    (r"must include a time zone.*", "needs_time_zone"),
    (r"must be between the years 1970 and 2200", "year_out_of_range"),
    (r"must be written like (?P<example>.*?)(, not as a number)?", "written_like"),
    (r"must not contain quotes, backslashes or control characters", "plain_text_only"),
    (r"give the specification range: low, high or both", "range_needed"),
    (r"'(?P<zone>.*)' is not a known time zone.*", "unknown_time_zone"),
)


def value_reason(message: str) -> tuple[str, dict[str, Any]]:
    """The reason of a `value_error` of one of our validators, by its message."""
    text = message.removeprefix("Value error, ")
    for pattern, code in VALUE_REASONS:
        found = re.fullmatch(pattern, text, re.DOTALL)
        if found is not None:
            return code, {k: v for k, v in found.groupdict().items() if v is not None}
    return "value_error", {}
