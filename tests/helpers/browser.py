"""Debian's headless chromium driven by playwright (never ``playwright install``): the
dashboard's browser check and its screenshots. Every request other than the file
itself and data: URIs is refused and recorded, so a page that reaches for the network
fails the check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = "TWIN_REQUIRE_BROWSER"
MISSING = f"no {CHROMIUM}: install Debian's chromium (apt-get install chromium) to run the browser check"


def chromium_missing() -> str | None:
    """Why the browser check cannot run here, or None when it can."""
    return None if CHROMIUM.exists() else MISSING


def browser_required() -> bool:
    """CI sets TWIN_REQUIRE_BROWSER=1: a missing chromium is then a failure, not a skip."""
    return os.environ.get(REQUIRE_BROWSER) == "1"


@dataclass
class Problems:
    """What went wrong in the page: uncaught errors, console errors, network requests."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return self.page_errors + self.console_errors + self.network


@contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator[tuple[object, Problems]]:
    """A playwright page in headless chromium and the problems it records."""
    from playwright.sync_api import sync_playwright

    problems = Problems()

    def route(route_request) -> None:
        url = route_request.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route_request.continue_()
        else:
            problems.network.append(url)
            route_request.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
            page.on("console", lambda m: problems.console_errors.append(m.text) if m.type == "error" else None)
            page.route("**/*", route)
            yield page, problems
        finally:
            browser.close()
