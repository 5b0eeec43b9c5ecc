"""The OpenAPI docs work with no internet (a hospital's intranet): /docs (Swagger UI) and
/redoc (ReDoc) render every operation in Debian's Chromium while every request to another
origin is refused, and their pages carry a Content-Security-Policy like the console's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Route

from caseflow.api.app import create_app
from caseflow.config import Settings
from tests.console_driver import browser, context, served
from tests.postgres import free_port


@pytest.fixture(scope="module")
async def docs_site(database_url, dev_env) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, environment="test")
    async with served(create_app(settings, temporal=dev_env.client), free_port()) as base:
        yield base


@pytest.fixture(scope="module")
async def offline_browser() -> AsyncIterator[Browser]:
    async with browser() as launched:
        yield launched


RENDER_MS = 60_000  # how long a docs page may take to lay the document out

async def open_offline(chromium: Browser, base: str, path: str):  # type: ignore[no-untyped-def]
    """The page in a browser that reaches only our server: requests elsewhere are aborted and
    listed, as are script errors."""
    made = await context(chromium)
    elsewhere: list[str] = []

    async def only_ours(route: Route) -> None:
        if route.request.url.startswith(base):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await made.route("**/*", only_ours)
    page = await made.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = await page.goto(f"{base}{path}")
    assert response is not None and response.status == 200
    return made, page, response, elsewhere, errors


async def test_swagger_ui_renders_every_operation_offline(docs_site, offline_browser):
    made, page, response, elsewhere, errors = await open_offline(offline_browser, docs_site,
                                                                 "/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Swagger UI lays out the whole document (~130 operations) in the page: 8-10 s on an idle
    # 2-core machine, longer when the rest of the suite runs beside it.
    await page.wait_for_selector(".opblock-summary-path[data-path='/v1/repairs']", timeout=RENDER_MS)
    assert await page.locator(".opblock").count() > 40
    assert "caseflow" in await page.inner_text(".info .title")
    assert elsewhere == [] and errors == [], (elsewhere, errors)
    await made.close()


async def test_redoc_renders_every_operation_offline(docs_site, offline_browser):
    made, page, response, elsewhere, errors = await open_offline(offline_browser, docs_site,
                                                                 "/redoc")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # (no wait_for_function: Playwright evaluates its text, which the policy forbids)
    await page.get_by_text("/v1/repairs", exact=True).first.wait_for(timeout=RENDER_MS)
    assert await page.locator("[data-section-id^='operation/']").count() > 40
    # ReDoc's "powered by" logo points at its CDN: the policy keeps the browser from asking.
    logo = [e for e in errors if "cdn.redoc.ly/redoc/logo-mini.svg" in e
            and "violates the following Content Security Policy" in e]
    assert elsewhere == [] and [e for e in errors if e not in logo] == [], (elsewhere, errors)
    await made.close()
