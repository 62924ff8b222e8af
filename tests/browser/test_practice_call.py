"""A trainee signs in, holds a call in the browser, sees labels and the streamed reply, and hangs up."""

from __future__ import annotations

from tests.browser.conftest import Site


def test_practise_a_call_and_see_the_scorecard(site: Site) -> None:
    page = site.page_for("tina")
    page.locator("form.start").first.locator("button[type=submit]").click()
    page.wait_for_url("**/calls/*")
    transcript = page.locator("#transcript")
    assert transcript.locator("li.turn-client").count() == 1, "the client picks up first"
    box = page.get_by_label("Your line")
    box.fill("Good morning! How do you organise this today?")
    box.press("Enter")
    page.locator("li.turn-trainee .badge").first.wait_for()
    page.locator("li.turn-client").nth(1).wait_for()
    badge = page.locator("li.turn-trainee .badge").first
    assert badge.inner_text().strip() in {"S", "P", "I", "N", "·"}
    assert badge.get_attribute("title"), "the label's reason shows on hover"
    page.get_by_role("button", name="Hang up").click()
    page.locator("#scorecard").wait_for()
    assert "/100" in page.locator("#scorecard").inner_text()
