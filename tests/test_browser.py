"""The chat page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Type a question, wait for the streamed answer, click a citation, check the quoted passage is shown
highlighted in its context; request a briefing and open it. Screenshots go to tests/artifacts/.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

try:
    from tests.test_api import KEYS, guarded_server, main_server  # tests/ is a package
except ImportError:  # pragma: no cover - tests/ run as plain modules
    from test_api import KEYS, guarded_server, main_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is required for the browser test: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    return main_server(tmp_path_factory.mktemp("browser"))


def test_ask_stream_and_click_citation(browser, live):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.url + "/")
    page.fill("#question", "Is SenseTime sanctioned, and on which list?")
    page.press("#question", "Enter")

    answer = page.locator(".msg.assistant").last
    answer.locator(".sentence").first.wait_for(timeout=60_000)
    page.wait_for_selector(".msg.assistant[data-done='true']", timeout=60_000)
    text = answer.locator(".body").inner_text()
    assert "NS-CMIC" in text
    assert answer.locator(".sources li").count() >= 1

    cite = answer.locator("button.cite").first
    n = int(cite.get_attribute("data-n"))
    cite.click()
    panel = page.locator("#passage")
    panel.wait_for(state="visible")
    mark = page.locator("#passage-text mark")
    quote = mark.inner_text().strip()
    assert quote and len(quote) > 10
    assert page.locator("#passage-title").inner_text().startswith(f"[{n}]")
    # The quote is shown inside the whole passage (its context), and it is the citation's quote.
    context = page.locator("#passage-text").inner_text()
    assert len(context) >= len(quote) and quote in context
    done = page.evaluate("""() => {
        const m = [...document.querySelectorAll('.msg.assistant')].pop();
        return JSON.stringify(m.citations);
    }""")
    citations = json.loads(done)
    assert citations[str(n)]["quote"].strip() == quote
    assert page.locator("#passage-meta").inner_text()  # date / publisher shown
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

    # A follow-up in the same conversation, then a new conversation clears the page.
    page.fill("#question", "When was it listed?")
    page.press("#question", "Enter")
    page.wait_for_function("document.querySelectorAll(\".msg.assistant[data-done='true']\").length == 2",
                           timeout=60_000)
    assert "2021" in page.locator(".msg.assistant").last.inner_text()
    page.click("#new-conversation")
    assert page.locator(".msg").count() == 0
    assert not errors, errors
    page.close()


def test_narrow_screen_and_briefing(browser, live):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(live.url + "/")
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#question", "What is SenseTime's OFAC uid?")
    page.click("#ask-button")
    page.wait_for_selector(".msg.assistant[data-done='true']", timeout=60_000)
    page.locator(".msg.assistant button.cite").first.click()
    page.locator("#passage").wait_for(state="visible")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "chat-narrow.png"))
    page.click("#passage-close")

    page.click("#toggle-briefing")
    page.fill("#briefing-entity", "SenseTime")
    page.click("#briefing-form button[type=submit]")
    page.wait_for_selector("#briefing-dialog[open]", timeout=120_000)
    frame = page.frame_locator("#briefing-frame")
    assert "SenseTime" in frame.locator("h1").inner_text(timeout=10_000)
    assert frame.locator("h2").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "briefing-narrow.png"))
    page.close()


def test_untrusted_document_text_is_not_html(browser, live):
    """A document whose text carries markup shows as text in the passage panel, and runs nothing."""
    import httpx

    evil = ("---\ntitle: \"Test fixture: <img src=x onerror=window.__pwned=1> Brindlecomb Holdings\"\n"
            "date: 2025-01-10\n---\n\n"
            "Brindlecomb Holdings <script>window.__pwned=1</script> runs a <b>ferry</b> service to Lundy "
            "<img src=x onerror=\"window.__pwned=1\">.\n")
    with httpx.Client(base_url=live.url, timeout=120) as c:
        job = c.post("/v1/documents", files=[("files", ("brindlecomb.md", evil.encode()))]).json()
        import time

        for _ in range(300):
            info = c.get(f"/v1/jobs/{job['job_id']}").json()
            if info["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        assert info["status"] == "succeeded", info
    page = browser.new_page()
    page.goto(live.url + "/")
    page.fill("#question", "What service does Brindlecomb Holdings run?")
    page.press("#question", "Enter")
    page.wait_for_selector(".msg.assistant[data-done='true']", timeout=60_000)
    cite = page.locator(".msg.assistant button.cite").first
    cite.click()
    page.locator("#passage").wait_for(state="visible")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#passage-text img, #passage-text script, #passage-text b, .msg img").count() == 0
    shown = page.locator("#passage-text").inner_text() + page.locator("#passage-title").inner_text()
    assert "<" in shown  # the markup is shown as text
    page.close()


def test_page_asks_for_the_api_key(browser, tmp_path_factory):
    guarded = guarded_server(tmp_path_factory.mktemp("browser-guarded"))
    page = browser.new_page()
    page.goto(guarded.url + "/")  # the page itself is public; the API is not
    page.fill("#question", "Is SenseTime sanctioned?")
    page.press("#question", "Enter")
    page.wait_for_selector(".msg.assistant .error")
    assert page.locator("#key-box").get_attribute("open") is not None
    page.fill("#api-key", KEYS[2])
    page.dispatch_event("#api-key", "change")
    page.fill("#question", "Is SenseTime sanctioned?")
    page.press("#question", "Enter")
    page.wait_for_selector(".msg.assistant[data-done='true']", timeout=60_000)
    assert "do not say" in page.locator(".msg.assistant").last.inner_text()  # an empty store
    page.close()
