"""The web console: static HTML, CSS and JavaScript modules served under /console. It is a
client of the /v1 API with the bearer token of its sign-in (docs/console.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

FILES = Path(__file__).parent.parent / "console"

# Only our own files run, nothing is framed, and the token never leaves for another origin.
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class ConsoleFiles(StaticFiles):
    """The console's files, with the headers every one of its pages gets."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"  # revalidate: a new release shows at once
        return response


def install(app: FastAPI) -> None:
    async def home(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/console/",
                                status_code=307)

    app.add_route("/", home, include_in_schema=False)  # people type the address alone
    app.mount("/console", ConsoleFiles(directory=FILES, html=True), name="console")
