"""The OpenAPI docs, /docs (Swagger UI) and /redoc (ReDoc), served with no CDN: hospitals'
intranets reach no internet. The Swagger UI and ReDoc bundles come from the `fastapi-offline`
package (its static files), under a Content-Security-Policy like the console's."""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ASSETS = Path(fastapi_offline.__file__).parent / "static"
PREFIX = "/docs-assets"
# Our scripts only, nothing framed, no form posted elsewhere. Swagger UI and ReDoc set styles
# inline (style attributes, styled-components), and ReDoc's search runs in a blob: worker.
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}

# Swagger UI is started by a script file of ours (no inline script under the policy).
SWAGGER_INIT = """window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi, dom_id: "#swagger-ui", deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout", persistAuthorization: false, validatorUrl: null,
  });
});
"""


class DocsAssets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


def _page(title: str, head: str, body: str, openapi: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title>"
        f"<link rel=\"icon\" href=\"{PREFIX}/favicon.png\">{head}</head>"
        f"<body data-openapi=\"{escape(openapi)}\">{body}</body></html>", headers=HEADERS)


def install(app: FastAPI) -> None:
    """/docs, /redoc and their assets (the app is made with docs_url=None, redoc_url=None)."""
    openapi = app.openapi_url or "/openapi.json"

    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _page(f"{app.title} - Swagger UI",
                     f"<link rel=\"stylesheet\" href=\"{root}{PREFIX}/swagger-ui.css\">",
                     f"<div id=\"swagger-ui\"></div>"
                     f"<script src=\"{root}{PREFIX}/swagger-ui-bundle.js\"></script>"
                     f"<script src=\"{root}{PREFIX}/swagger-init.js\"></script>", root + openapi)

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _page(f"{app.title} - ReDoc", "",
                     f"<redoc spec-url=\"{escape(root + openapi)}\"></redoc>"
                     f"<script src=\"{root}{PREFIX}/redoc.standalone.js\"></script>",
                     root + openapi)

    async def swagger_init(request: Request) -> Response:
        return Response(SWAGGER_INIT, media_type="text/javascript", headers=HEADERS)

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.add_route(f"{PREFIX}/swagger-init.js", swagger_init, include_in_schema=False)
    app.mount(PREFIX, DocsAssets(directory=ASSETS), name="docs-assets")
