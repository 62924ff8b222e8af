"""`make screenshots`: PNGs of the key pages in docs/screenshots/, from a real server and Chromium.

Starts a throwaway server (SQLite, scripted engine) with one account per role, then runs
each entry of SHOTS in order. To add a page, append a Shot: a file name, the user to sign
in as, and a function that drives the page to the moment worth showing.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.api.conftest import PASSWORD, seed_users  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, USERS  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.e2e.test_server import Server, free_port  # noqa: E402
from trainer.db.migrate import upgrade  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PERSONA = "Sergey Volkov"


@dataclass(frozen=True)
class Shot:
    name: str  # file name without .png
    user: str
    drive: Callable[[Any], None]  # brings the signed-in page to what the picture shows
    width: int = 1200
    height: int = 900
    full_page: bool = True


def _start_call(page: Any, mode: str = "practice") -> None:
    page.goto("/")
    card = page.locator("li.persona", has_text=PERSONA)
    card.locator("select[name=mode]").select_option(mode)
    card.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/calls/\d+.*"))


def _say_hint(page: Any) -> None:
    turns = page.locator("#transcript li.turn").count()
    page.get_by_role("button", name="Suggest a question").click()
    page.locator("#hint .hint-text").wait_for()
    page.get_by_role("button", name="Use this question").click()
    page.get_by_label("Your line").press("Enter")
    scorecard = page.locator("#scorecard")
    page.locator("#transcript li.turn").nth(turns + 1).or_(scorecard).first.wait_for()
    page.locator("#send:not([disabled])").or_(scorecard).first.wait_for()


def practice_mid_call(page: Any) -> None:
    _start_call(page)
    for text in ("Good afternoon! Do you have two minutes for a couple of questions?",
                 "How many trucks do you run?", "How do your dispatchers plan routes?"):
        page.get_by_label("Your line").fill(text)
        turns = page.locator("#transcript li.turn").count()
        page.get_by_label("Your line").press("Enter")
        page.locator("#transcript li.turn").nth(turns + 1).wait_for()
        page.locator("#send:not([disabled])").wait_for()
    page.locator("#nudges").wait_for(state="attached")
    page.get_by_role("button", name="Suggest a question").click()
    page.locator("#hint .hint-text").wait_for()
    page.locator("li.turn-trainee button.badge").nth(1).focus()


def scorecard(page: Any) -> None:
    _start_call(page)
    for _ in range(10):
        if "#scorecard" in page.url:
            break
        _say_hint(page)
    page.locator("#scorecard").wait_for()
    page.locator("#scorecard").scroll_into_view_if_needed()


def progress(page: Any) -> None:
    for _ in range(2):
        _start_call(page)
        for _ in range(3):
            _say_hint(page)
        page.get_by_role("button", name="Hang up").click()
        page.locator("#scorecard").wait_for()
    page.goto("/progress")
    page.locator("svg.totals").wait_for()


def practice_phone(page: Any) -> None:
    practice_mid_call(page)


SHOTS: list[Shot] = [
    Shot("practice", "tina", practice_mid_call),
    Shot("scorecard", "tina", scorecard),
    Shot("progress", "tina", progress),
    Shot("practice-phone", "tom", practice_phone, width=390, height=844),
]


def _sign_in(browser: Any, base: str, shot: Shot) -> Any:
    context = browser.new_context(locale="en-US", base_url=base,
                                  viewport={"width": shot.width, "height": shot.height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name=name]").fill(shot.user)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    return page


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        url = f"sqlite:///{data / 'screenshots.db'}"
        data.mkdir(parents=True)
        settings = make_settings(Path(tmp), data_dir=data, database_url=url)
        upgrade(settings.effective_database_url)
        seed_users(settings, USERS)
        server = Server(data, free_port(), database_url=url)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for shot in SHOTS:
                    page = _sign_in(browser, server.base, shot)
                    shot.drive(page)
                    path = OUT / f"{shot.name}.png"
                    page.screenshot(path=str(path), full_page=shot.full_page)
                    page.context.close()
                    print(f"wrote {path.relative_to(ROOT)}")
                browser.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
