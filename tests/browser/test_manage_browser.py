"""A trainer in the browser: a persona saved with an error shows it at its line, then the fix saves;
transcripts filtered and downloaded as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx

from tests.browser.conftest import Site


def test_persona_error_at_its_line_then_fixed(site: Site) -> None:
    page = site.page_for("coach")
    page.get_by_role("link", name="Personas").click()
    page.wait_for_url("**/manage/personas")
    page.get_by_role("link", name="Edit: ", exact=False).first.wait_for()
    page.goto("/manage/personas/no-time")
    editor = page.get_by_label("Persona in YAML")
    text = editor.input_value()
    lines = text.split("\n")
    at = next(i for i, ln in enumerate(lines) if ln.startswith("difficulty:"))
    lines[at] = "difficulty: impossible"
    editor.fill("\n".join(lines))
    page.get_by_role("button", name="Save as a new version").click()
    bad = page.locator(f"#line-{at + 1}")
    bad.wait_for()
    assert "bad" in (bad.get_attribute("class") or "")
    assert "difficulty: impossible" in bad.inner_text()
    assert "difficulty" in bad.locator(".line-error").inner_text()
    assert "difficulty: impossible" in editor.input_value(), "the submitted text is kept"
    page.get_by_role("link", name=f"Line {at + 1}").click()
    assert page.evaluate("document.activeElement.id") == "yaml_text", "the link jumps into the editor"
    lines[at] = "difficulty: hard"
    editor.fill("\n".join(lines))
    page.get_by_role("button", name="Save as a new version").click()
    page.get_by_role("status").filter(has_text="Saved as a new version").wait_for()
    assert "v2" in page.locator("h1").inner_text()
    assert page.locator(".m-problems").count() == 0


def test_filter_transcripts_and_download_csv(site: Site) -> None:
    with httpx.Client(base_url=site.base) as api:
        for who, lang in (("tina", "en"), ("tom", "en"), ("tina", "ru")):
            auth = {"Authorization": f"Bearer {site.tokens[who]}"}
            res = api.post("/api/calls", json={"persona": "no-time", "lang": lang}, headers=auth)
            assert res.status_code == 201, res.text
            api.post(f"/api/calls/{res.json()['id']}/end", headers=auth)
    page = site.page_for("coach")
    page.get_by_role("link", name="Transcripts").click()
    page.wait_for_url("**/manage/calls")
    assert page.locator("#calls-table tbody tr").count() == 3
    page.get_by_label("Trainee").select_option("tina")
    page.get_by_label("Language").select_option("en")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/manage/calls?*trainee=tina*")
    assert page.locator("#calls-table tbody tr").count() == 1
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "calls.csv"
    body = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1 and rows[0]["user"] == "tina" and rows[0]["lang"] == "en"
