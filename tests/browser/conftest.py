"""Browser tests: a real server on loopback and Debian's Chromium driven by Playwright.

Never downloads a browser. Without /usr/bin/chromium the tests skip on a user's
machine and fail in CI (CI=true), where .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import PASSWORD, seed_users
from tests.conftest import make_settings
from tests.e2e.test_server import Server, free_port
from trainer.db.migrate import upgrade

CHROMIUM = os.environ.get("SPIN_TRAINER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
USERS = {"admin": "admin", "coach": "trainer", "tina": "trainee", "tom": "trainee"}


def _need_chromium() -> None:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required in CI at {CHROMIUM} (Debian package 'chromium')")
        pytest.skip(f"no Chromium at {CHROMIUM}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Site:
    """A running server with one account per role; `page_for(name)` gives a signed-in tab."""

    def __init__(self, server: Server, browser: Any, tokens: dict[str, str]) -> None:
        self.server = server
        self.base = server.base
        self.browser = browser
        self.tokens = tokens

    def new_page(self, locale: str = "en-US") -> Any:
        context = self.browser.new_context(locale=locale, base_url=self.base, accept_downloads=True)
        context.set_default_timeout(10_000)
        return context.new_page()

    def page_for(self, name: str, locale: str = "en-US") -> Any:
        page = self.new_page(locale)
        page.goto("/login")
        page.get_by_label("User name").fill(name) if locale.startswith("en") else page.locator(
            "input[name=name]").fill(name)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(f"{self.base}/")
        return page


@pytest.fixture
def site(tmp_path: Path, browser: Any) -> Iterator[Site]:
    data = tmp_path / "data"
    settings = make_settings(tmp_path, data_dir=data)
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, USERS)
    server = Server(data, free_port(), settings.effective_database_url)
    try:
        yield Site(server, browser, tokens)
    finally:
        server.stop()
