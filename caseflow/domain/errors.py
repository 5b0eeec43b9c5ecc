"""Typed domain errors. api/errors.py maps each to one HTTP status in one place.

Workflow validators raise them as Temporal ApplicationErrors whose `type` is the class name, so
the refusal travels to the API with its kind intact and nothing reaches the history.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal a client can cause."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidTransition(DomainError):
    """The action is not allowed in the case's current state (HTTP 409)."""


class NotPermitted(DomainError):
    """This person may not take this action on this case (HTTP 403)."""


class NotAssignee(NotPermitted):
    """Only the engineer assigned to the case may take this action (HTTP 403)."""


class InvalidPayload(DomainError):
    """The payload is well-formed but violates a rule; `field` names where (HTTP 422)."""


class UnknownCase(DomainError):
    """No case has this id (HTTP 404)."""


class UnknownRecord(DomainError):
    """No subscription, delivery or case event has this id (HTTP 404)."""


class UnknownReference(InvalidPayload):
    """A referenced hospital, equipment or person does not exist (HTTP 422)."""


ERROR_TYPES: dict[str, type[DomainError]] = {
    cls.__name__: cls
    for cls in (InvalidTransition, NotPermitted, NotAssignee, InvalidPayload, UnknownCase,
                UnknownRecord, UnknownReference)
}
