"""Briefings, uploads and passages on the page, in a real headless Chromium against a real uvicorn server:
a briefing exported from the page as PDF and HTML and printed, its sources as links; one sidebar entry
per subject with its rating and versions; a mixed upload (one good file, one bad) reported file by file;
a cited Markdown passage shown as headings and lists, not symbols. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.test_api import main_server
from tests.test_browser import ARTIFACTS, browser  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    return main_server(tmp_path_factory.mktemp("browser-briefings"))


def brief(live, entity: str) -> str:
    with httpx.Client(base_url=live.url, timeout=120) as c:
        job = c.post("/v1/briefings", json={"entity": entity}).json()
        for _ in range(600):
            info = c.get(job["url"]).json()
            if info["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.3)
    assert info["status"] == "succeeded", info
    return info["result"]["briefing_id"]


def test_briefing_exported_and_printed_from_the_page_one_entry_per_subject(browser, live):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    first, latest = brief(live, "SenseTime"), brief(live, "sensetime")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.url + "/")
    entry = page.locator("#briefing-list > li[data-entity]").filter(has_text="SenseTime")
    entry.first.wait_for()
    assert entry.count() == 1  # one entry for the subject, however it was spelled
    assert int(entry.get_attribute("data-versions")) >= 2
    assert entry.locator(".rating").inner_text() in ("high", "medium", "low", "unrated")
    versions = entry.locator(".briefing-versions li")
    assert {versions.nth(i).get_attribute("data-version-id") for i in range(versions.count())} >= {first, latest}

    entry.locator("> button").click()
    page.wait_for_selector("#briefing-dialog[open]")
    frame = page.frame_locator("#briefing-frame")
    assert "sensetime" in frame.locator("h1").inner_text(timeout=10_000).lower()
    assert page.locator("#briefing-frame").get_attribute("data-briefing-id") == latest
    links = frame.locator(".sources a[href^='https://']")
    assert links.count() >= 1  # sources with a public page are links
    assert links.first.get_attribute("target") == "_blank"
    page.screenshot(path=str(ARTIFACTS / "briefing-export.png"))

    with page.expect_download() as dl:
        page.click("#briefing-pdf")
    pdf = Path(dl.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    with page.expect_download() as dl:
        page.click("#briefing-html")
    assert "<h1>Risk briefing:" in Path(dl.value.path()).read_text(encoding="utf-8")
    with page.expect_download() as dl:
        page.click("#briefing-md")
    assert Path(dl.value.path()).read_text(encoding="utf-8").startswith("# Risk briefing:")
    page.evaluate("() => { document.getElementById('briefing-frame').contentWindow.print ="
                  " () => { window.__printed = (window.__printed || 0) + 1; }; }")
    page.click("#briefing-print")
    assert page.evaluate("window.__printed") == 1
    page.click("#briefing-close")

    # an older version opens from the same entry
    entry.locator(f".briefing-versions li[data-version-id='{first}'] button").click()
    page.wait_for_selector("#briefing-dialog[open]")
    assert page.locator("#briefing-frame").get_attribute("data-briefing-id") == first
    assert not errors, errors
    page.close()


def test_mixed_upload_is_reported_per_file_and_passages_show_structure(browser, live, tmp_path):  # noqa: F811
    good = tmp_path / "vexley_note.md"
    good.write_text("---\ntitle: Vexley Maritime ownership note\ndate: 2025-03-02\n---\n\n"
                    "# Vexley Maritime ownership note\n\n## Who owns it\n\n"
                    "- Vexley Maritime Ltd is wholly owned by Corran Holdings of Ruritania.\n"
                    "- Corran Holdings bought the stake from Pellam Trust in January 2025.\n\n"
                    "## Fleet\n\nVexley Maritime operates four bulk carriers out of Port Aldwick.\n", encoding="utf-8")
    bad = tmp_path / "broken_list.xml"
    bad.write_text("<sdnList><sdnEntry><uid>1</uid>", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live.url + "/")
    page.click("#toggle-upload")
    page.set_input_files("#upload-files", [str(good), str(bad)])
    page.click("#upload-button")
    status = page.locator("#upload-status")
    status.filter(has_text="failed").wait_for(timeout=120_000)
    text = status.inner_text()
    assert text.startswith("1 added, 1 failed"), text
    assert "broken_list.xml: failed:" in text and "vexley_note.md: " in text and "could not be read" not in text
    page.screenshot(path=str(ARTIFACTS / "upload-mixed.png"))

    page.fill("#question", "Who owns Vexley Maritime?")
    page.press("#question", "Enter")
    page.wait_for_selector(".msg.assistant[data-done='true']", timeout=60_000)
    answer = page.locator(".msg.assistant").last
    assert "Corran Holdings" in answer.inner_text()
    first = answer.locator(".sentence").first.inner_text()
    assert not first.startswith(("-", "#")), first  # the sentence without its Markdown list marker
    answer.locator("button.cite").first.click()
    panel = page.locator("#passage-text")
    panel.wait_for(state="visible")
    shown = panel.inner_text()
    assert "##" not in shown and "\n- " not in shown and not shown.startswith("- ")
    assert panel.locator("li").count() >= 1 or panel.locator("h3, h4").count() >= 1
    assert "Corran Holdings" in panel.locator("mark").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "passage-rendered.png"))
    page.close()
