"""Driving the web console in Debian's headless Chromium through Playwright: the browser
launch, signing in, and the console served over real HTTP by uvicorn in the test's loop."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium tries to reach Google's services, and this
# machine's closed network refuses its connections.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-default-apps", "--lang=zh-CN"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def chromium() -> str:
    """Debian's chromium (`make test` installs it with apt-get when it is missing)."""
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if found is None:
        raise RuntimeError("no /usr/bin/chromium: run `make chromium` (apt-get install chromium)")
    return found


@asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await launch(playwright)
        try:
            yield launched
        finally:
            await launched.close()


async def launch(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(executable_path=chromium(), args=ARGS)


@asynccontextmanager
async def served(app: FastAPI, port: int) -> AsyncIterator[str]:
    """The app over real HTTP on 127.0.0.1:`port`, in this event loop: its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it stopped
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def context(browser: Browser, *, viewport: dict[str, int] = DESKTOP, locale: str = "zh-CN",
                  timezone: str = "Asia/Shanghai") -> BrowserContext:
    made = await browser.new_context(viewport=viewport, locale=locale, timezone_id=timezone)
    made.set_default_timeout(15_000)
    return made


async def signed_in(made: BrowserContext, base: str, token: str) -> Page:
    """A new page of the console, signed in with an API token pasted on the sign-in page."""
    page = await made.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]  # read by the tests: no script errors
    await page.goto(f"{base}/console/")
    await page.fill("#token", token)
    await page.click("#token-form button[type=submit]")
    await page.wait_for_selector("#sign-out")
    return page
