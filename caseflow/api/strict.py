"""Requests say only what a route takes: a query parameter the route does not know is refused
(422 naming it), as unknown body fields are, rather than silently ignored; no query or path
value carries control characters, and no text in a body carries a NUL (PostgreSQL cannot store
one: it would be a database error, not the client's 422)."""

from __future__ import annotations

import json
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
    for where, values in (("query", request.query_params.multi_items()),
                          ("path", request.path_params.items())):
        for name, value in values:
            if isinstance(value, str) and any(ord(c) < 32 or c == "\x7f" for c in value):
                raise InvalidPayload("must not contain control characters",
                                     field=f"{where}.{name or '(empty)'}")
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise InvalidPayload(f"unknown query parameter; this takes: {takes}",
                             field=f"query.{unknown[0] or '(empty)'}")


def _nul_at(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where in parsed JSON a text (or a key) holds a NUL, if anywhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return (*path, key)
        found = _nul_at(item, (*path, str(key)))
        if found is not None:
            return found
    return None


async def no_nul(request: Request) -> None:
    body = await request.body()
    if b"\\u0000" not in body:
        return
    try:
        found = _nul_at(json.loads(body))
    except ValueError:
        return  # not JSON: the route's own parsing answers
    if found is not None:
        raise InvalidPayload("must not contain a NUL character", field=".".join(found) or None)
