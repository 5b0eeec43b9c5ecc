"""Every error a client can cause, mapped to one HTTP status in one place."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from caseflow.api.limits import RateLimited
from caseflow.api.refusals import reason_of, value_reason
from caseflow.domain.errors import (
    ERROR_TYPES,
    DomainError,
    InvalidPayload,
    InvalidTransition,
    NotPermitted,
    UnknownCase,
    UnknownRecord,
)

log = structlog.get_logger(__name__)

STATUS: dict[type[DomainError], int] = {
    InvalidTransition: 409,
    NotPermitted: 403,
    InvalidPayload: 422,
    UnknownCase: 404,
    UnknownRecord: 404,
}


class ErrorBody(BaseModel):
    detail: str = Field(description="what went wrong and what to do")
    code: str | None = Field(default=None, description="NotPermitted, NotAssignee, "
                             "UnknownCase, InvalidTransition, RateLimited, ServiceUnavailable...")
    reason: str | None = Field(default=None, description="a stable code of the refusal "
                               "(not_in_status, case_closed, not_your_case...) to word it in "
                               "the client's language; `params` holds its values")
    params: dict[str, Any] | None = None


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='where: ["body", "verification", "..."], '
                                 '["query", "limit"], ["header", "Idempotency-Key"]')
    msg: str
    type: str
    reason: str | None = Field(default=None, description="a stable code of the refusal "
                               "(must_pass, must_be_future, missing, string_too_short...)")
    params: dict[str, Any] | None = None


class FieldErrors(BaseModel):
    detail: list[FieldError]


_RETRY = {"Retry-After": {"description": "seconds to wait before trying again",
                          "schema": {"type": "string"}}}
# The errors any guarded route may answer (docs/api.md "Errors"), in its OpenAPI description.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no token, or an unknown, expired or revoked one"},
    403: {"model": ErrorBody, "description": "this role or person may not do this"},
    404: {"model": ErrorBody, "description": "no such case (person, token, subscription...)"},
    409: {"model": ErrorBody, "description": "not allowed in the current state"},
    413: {"model": ErrorBody, "description": "request body too large (plain text when its "
          "Content-Length already says so)", "content": {"text/plain": {"schema": {
              "type": "string"}}}},
    422: {"model": FieldErrors, "description": "bad input: the field and the reason"},
    429: {"model": ErrorBody, "description": "too many requests from this token (or sign-in "
          "attempts from this address, or failed ones for this user name); the detail says "
          "which",
          "headers": _RETRY},
    503: {"model": ErrorBody, "description": "Temporal or the database cannot be reached now",
          "headers": _RETRY},
}
# What open routes (health, sign-in) may answer besides their own.
OPEN_ERRORS = {status: ERRORS[status] for status in (401, 413, 422, 429, 503)}


class ServiceUnavailable(Exception):
    """Temporal or the database cannot be reached now; the client may retry (HTTP 503)."""


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 400


def field_errors(error: ValidationError, prefix: tuple[str, ...] = ("body",)) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *map(str, e["loc"])], **_worded(e)} for e in error.errors()]


def _worded(error: Any) -> dict[str, Any]:
    """msg, type and the stable reason (pydantic's type, or ours for our validators)."""
    if error["type"] == "value_error":
        reason, params = value_reason(error["msg"])
    else:
        reason, params = error["type"], _context(error)
    return {"msg": error["msg"], "type": error["type"], "reason": reason, "params": params}


def _context(error: Any) -> dict[str, Any]:
    """What pydantic says about the rule a value broke (a length, a pattern, the choices),
    never the value itself."""
    return {name: value for name, value in (error.get("ctx") or {}).items()
            if isinstance(value, str | int | float | bool)}


def domain_error_from_update(error: WorkflowUpdateFailedError) -> DomainError:
    """The typed refusal a workflow validator raised, rebuilt on this side."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type in ERROR_TYPES:
        details = cause.details[0] if cause.details else {}
        field = details.get("field") if isinstance(details, dict) else None
        return ERROR_TYPES[cause.type](cause.message, field=field)
    message = cause.message if isinstance(cause, ApplicationError) else str(error)
    return InvalidTransition(f"the case refused the action: {message}")


async def domain_error_from_rpc(temporal: Client, error: RPCError,
                                case_id: str) -> DomainError | ServiceUnavailable:
    """What an RPC error of a call on the case's workflow means, by its status and, for
    NOT_FOUND, by what Temporal then says of the workflow (never by the text of a message):
    no such workflow is an unknown case (404); a workflow that is not running, or a run that
    ended as the call reached it (the case continued as new), is a case closed to the call
    (409: the caller may try its current run once more); anything else, Temporal away (503)."""
    if error.status == RPCStatusCode.FAILED_PRECONDITION:
        return InvalidTransition(f"case {case_id} is closed")
    if error.status != RPCStatusCode.NOT_FOUND:
        return ServiceUnavailable(f"Temporal did not answer: {error.message}")
    status = await workflow_status(temporal, case_id)
    if status is None:
        return UnknownCase(f"no case {case_id}")
    if isinstance(status, ServiceUnavailable):
        return status
    return InvalidTransition(f"case {case_id} is closed" if status != WorkflowExecutionStatus.RUNNING
                             else f"case {case_id} moved on to a new run; try again")


async def workflow_status(temporal: Client, workflow_id: str
                          ) -> WorkflowExecutionStatus | ServiceUnavailable | None:
    """The status of the workflow's latest run; None if Temporal knows no such workflow."""
    try:
        described = await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        return ServiceUnavailable(f"Temporal did not answer: {error.message}")
    return described.status


def location(field: str | None) -> list[str]:
    """Where a bad value is, FastAPI style: `header.Idempotency-Key`, `path.action`, else body."""
    if not field:
        return ["body"]
    head, _, rest = field.partition(".")
    if head in ("header", "path", "query") and rest:
        return [head, rest]
    return ["body", *field.split(".")]


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        """422 naming each bad field and why, without echoing the value sent back (it may be
        a secret, a password or a patient's details)."""
        return JSONResponse({"detail": [
            {"loc": list(e["loc"]), **_worded(e)} for e in error.errors()]}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own 400 (a body that is not JSON text at all, e.g. not UTF-8) is bad input
        like any other: 422 naming the body."""
        if error.status_code == 400:
            return JSONResponse({"detail": [{"loc": ["body"], "msg": "not valid JSON text "
                                             "(UTF-8)", "type": "json_invalid"}]},
                                status_code=422)
        return await http_exception_handler(request, error)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        status = status_of(error)
        reason, params = reason_of(error)
        body: dict[str, Any] = {"detail": error.message, "code": type(error).__name__,
                                "reason": reason, "params": params}
        if status == 422:
            body["detail"] = [{"loc": location(error.field), "msg": error.message,
                               "type": "value_error", "reason": reason, "params": params}]
            del body["reason"], body["params"]
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, error: RateLimited) -> JSONResponse:
        return JSONResponse({"detail": error.message, "code": "RateLimited"}, status_code=429,
                            headers={"Retry-After": str(error.retry_after)})

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, error: DBAPIError) -> JSONResponse:
        return unavailable(request, "the database is not available now; retry later", error)

    @app.exception_handler(RPCError)
    async def _temporal(request: Request, error: RPCError) -> JSONResponse:
        return unavailable(request, f"Temporal did not answer: {error.message}", error)

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, error: ServiceUnavailable) -> JSONResponse:
        return unavailable(request, str(error), error)


def unavailable(request: Request, message: str, cause: Exception) -> JSONResponse:
    """503 with Retry-After: the client may retry (with the same Idempotency-Key)."""
    log.warning("service unavailable", path=request.url.path, detail=message,
                cause=type(cause).__name__, case_id=request.path_params.get("case_id"))
    return JSONResponse({"detail": message, "code": "ServiceUnavailable"}, status_code=503,
                        headers={"Retry-After": "5"})
