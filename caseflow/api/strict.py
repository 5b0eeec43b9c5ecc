"""Requests say only what a route takes: a query parameter the route does not know is refused
(422 naming it), as unknown body fields are, rather than silently ignored."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from caseflow.domain.errors import InvalidPayload

_KNOWN: dict[int, frozenset[str]] = {}


def _names(dependant: Any) -> set[str]:
    names: set[str] = set()
    for param in dependant.query_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {field.alias or name for name, field in annotation.model_fields.items()}
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


async def known_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _KNOWN.get(id(route))
    if known is None:
        known = _KNOWN[id(route)] = frozenset(_names(route.dependant))
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise InvalidPayload(f"unknown query parameter; this takes: {takes}",
                             field=f"query.{unknown[0] or '(empty)'}")
