"""The whole trainee journey in Chromium: hints, badges as each line is sent, a streamed reply,
the timer, a booked meeting, the scorecard with its timeline, trying again, progress, Russian."""

from __future__ import annotations

import re

from tests.browser.conftest import Site


def _start(page: object, persona_name: str, mode: str = "practice") -> None:
    card = page.locator("li.persona", has_text=persona_name)  # type: ignore[attr-defined]
    card.locator("select[name=mode]").select_option(mode)
    card.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/calls/\d+.*"))  # type: ignore[attr-defined]


def test_practise_a_whole_call_with_hints_and_see_the_scorecard(site: Site) -> None:
    page = site.page_for("tina")
    _start(page, "Sergey Volkov")
    assert page.locator("#timer").get_attribute("data-band") == "below"
    assert page.get_by_role("timer").is_visible()
    sent = 0
    while sent < 12:
        page.get_by_role("button", name="Suggest a question").click()
        page.locator("#hint .hint-text").wait_for()
        page.get_by_role("button", name="Use this question").click()
        box = page.get_by_label("Your line")
        assert box.input_value(), "the hint fills the line"
        box.press("Enter")
        sent += 1
        scorecard = page.locator("#scorecard")
        page.locator("#transcript li.turn-client").nth(sent).or_(scorecard).first.wait_for()
        page.locator("#send:not([disabled])").or_(scorecard).first.wait_for()
        if scorecard.count():
            break
        assert page.locator("li.turn-trainee").nth(sent - 1).locator("button.badge").count() == 1
    page.locator("#scorecard").wait_for()
    assert "meeting booked" in page.locator(".call-head").inner_text()
    assert page.locator("#scorecard svg.timeline .mk").count() >= 4, "each question is a mark on the timeline"
    letters = page.locator("#scorecard svg.timeline .mk text").all_text_contents()
    assert {"S", "P", "I", "N"} <= set(letters)
    first_badge = page.locator("li.turn-trainee button.badge").first
    first_badge.focus()
    assert page.locator("li.turn-trainee .why").first.is_visible(), "the reason shows on keyboard focus"
    page.get_by_role("button", name=re.compile("Try again from here: turn 3")).click()
    page.locator("#say").wait_for()
    assert re.search(r"/calls/\d+#say$", page.url), page.url
    assert page.locator("#transcript li.turn").count() == 3, "the new call keeps the turns before that line"
    assert page.get_by_label("Your line").is_visible()
    page.get_by_role("link", name="My progress").click()
    page.locator("svg.totals").wait_for()
    assert page.locator("#meetings .stat-value").inner_text() == "1"


def test_stream_shows_the_badge_then_the_reply_and_exam_hides_labels(site: Site) -> None:
    page = site.page_for("tina")
    _start(page, "Sergey Volkov")
    box = page.get_by_label("Your line")
    box.fill("How many trucks do you run?")
    box.press("Shift+Enter")
    assert "\n" in box.input_value(), "Shift+Enter starts a new line"
    box.fill("How many trucks do you run?")
    box.press("Enter")
    badge = page.locator("li.turn-trainee button.badge").first
    badge.wait_for()
    assert badge.inner_text() == "S" and "Situation" in (badge.get_attribute("aria-label") or "")
    page.locator("li.turn-client").nth(1).wait_for()
    assert "84" in page.locator("li.turn-client").nth(1).inner_text()
    badge.click()
    assert badge.get_attribute("aria-expanded") == "true", "a tap shows the reason too"
    page.goto("/")
    _start(page, "Sergey Volkov", "exam")
    assert page.locator("#coach").count() == 0
    box = page.get_by_label("Your line")
    box.fill("How many trucks do you run?")
    box.press("Enter")
    page.locator("li.turn-client").nth(1).wait_for()
    assert page.locator("li.turn-trainee .badge").count() == 0, "no badge during an exam"
    page.get_by_role("button", name="Hang up").click()
    page.locator("#scorecard").wait_for()
    assert page.locator("li.turn-trainee .badge").count() == 1, "labels appear once the exam is over"


def test_switch_to_russian(site: Site) -> None:
    page = site.page_for("tina")
    page.get_by_role("link", name="Русский").click()
    page.get_by_role("link", name="Мой прогресс").wait_for()
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.get_by_role("heading", level=1).inner_text() == "Потренироваться"
    page.locator("form.start").first.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/calls/\d+.*"))
    page.get_by_label("Ваша реплика").wait_for()  # visible within the timeout, on a loaded machine too
    page.get_by_role("button", name="Подсказать вопрос").wait_for()
    page.get_by_role("link", name="Мой прогресс").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Мой прогресс"
