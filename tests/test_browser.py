"""The chat page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Type a question, wait for the streamed answer, click a citation, check the quoted passage is shown
highlighted in its context; request a briefing and open it. And as analysts use chat tools: conversations
listed and reopened from the server, "New conversation" keeping the old one, briefings listed and opened any
number of times in a row, Stop while an answer streams, copy as Markdown with the citations, uploads with
progress, the question's length counted against the server's limit, errors in plain words, a refusal's
closest passages opened like citations. Screenshots go to tests/artifacts/.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

try:
    from tests.test_api import KEYS, guarded_server, main_server  # tests/ is a package
    from tests.test_sse import hung_model  # noqa: F401  (a fixture: a model endpoint that never answers)
except ImportError:  # pragma: no cover - tests/ run as plain modules
    from test_api import KEYS, guarded_server, main_server
    from test_sse import hung_model  # noqa: F401

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
    # The history is a toggle on a narrow screen: hidden, then shown, still no wider than the screen.
    assert page.locator("#sidebar").is_hidden()
    page.click("#toggle-history")
    page.locator("#conversation-list .label").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#toggle-history")

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
    shown = page.locator(".msg.assistant").last.inner_text()
    assert "do not say" in shown or "Cannot say" in shown, shown  # an empty store: no list to say either way
    page.close()


# --- the chat page as analysts use chat tools (issue 13) ---------------------------------------------------

def ask_on(page, question: str, n: int) -> None:
    """Type a question, send it with Enter, wait until the n-th answer on the page is finished."""
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.wait_for_function(f"document.querySelectorAll(\".msg.assistant[data-done='true']\").length >= {n}",
                           timeout=90_000)


def test_conversations_listed_reopened_and_kept(browser, live):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.url + "/")
    first_q = "Is SenseTime on the NS-CMIC list?"
    ask_on(page, first_q, 1)
    ask_on(page, "When was it listed?", 2)
    page.wait_for_function(f"[...document.querySelectorAll('#conversation-list .label')].some(e => e.textContent === {json.dumps(first_q)})")
    assert page.locator("#conversation-list li.current .label").inner_text() == first_q
    assert page.locator("#conversation-list li.current time").inner_text()  # when it was

    # "New conversation" starts afresh and keeps the old one in the list.
    page.click("#new-conversation")
    assert page.locator(".msg").count() == 0
    ask_on(page, "What is SenseTime's OFAC uid?", 1)
    page.wait_for_function("document.querySelector('#conversation-list li.current .label')?.textContent"
                           " === \"What is SenseTime's OFAC uid?\"")
    labels = page.locator("#conversation-list .label").all_inner_texts()
    assert labels.index("What is SenseTime's OFAC uid?") < labels.index(first_q)  # latest first

    # A fresh page (the history is the server's) reopens the first conversation with its turns.
    page.goto(live.url + "/")
    page.locator("#conversation-list .label", has_text=first_q).first.click()
    page.wait_for_selector(".msg.assistant[data-done='true'] >> nth=1")
    assert page.locator(".msg.user").all_inner_texts() == [first_q, "When was it listed?"]
    assert "2021" in page.locator(".msg.assistant").nth(1).inner_text()
    page.locator(".msg.assistant").first.locator("button.cite").first.click()
    assert page.locator("#passage-text mark").inner_text().strip()
    # ... and goes on with it: the follow-up is understood in its context, and saved as its third turn.
    ask_on(page, "Which program is it listed under?", 3)
    assert "CMIC" in page.locator(".msg.assistant").last.inner_text()
    conv_id = page.evaluate("state.conversationId")
    import httpx

    turns = httpx.get(f"{live.url}/v1/conversations/{conv_id}", timeout=30).json()["turns"]
    assert [t["question"] for t in turns][0] == first_q and len(turns) == 3
    page.screenshot(path=str(ARTIFACTS / "chat-history.png"))
    assert not errors, errors
    page.close()


def test_copy_answer_as_markdown(browser, live):
    ctx = browser.new_context()
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page = ctx.new_page()
    page.goto(live.url + "/")
    ask_on(page, "Is SenseTime sanctioned, and on which list?", 1)
    page.click(".msg.assistant .copy-md")
    page.wait_for_function("document.querySelector('.msg.assistant .copy-md').textContent === 'Copied'")
    md = page.evaluate("navigator.clipboard.readText()")
    answer = json.loads(page.evaluate("JSON.stringify(document.querySelector('.msg.assistant').answer)"))
    assert md.startswith(answer["answer"].strip())
    assert "[1]" in md and "\nSources:\n" in md
    for c in answer["citations"]:
        assert f"[{c['n']}] {c['title']}" in md and c["quote"].strip() in md
    assert "https://sanctionssearch.ofac.treas.gov/" in md  # the list entry's public link
    ctx.close()


def test_question_limit_shown_and_errors_in_plain_words(browser, live):
    page = browser.new_page()
    page.goto(live.url + "/")
    page.wait_for_function("document.querySelector('#counter').textContent === '0 / 2,000'")
    # A blank question says so.
    page.press("#question", "Enter")
    assert page.locator("#composer-error").inner_text() == "Type a question first."
    # 3,000 characters: the counter shows it against the server's limit before sending; nothing is sent or lost.
    long_q = ("Is SenseTime sanctioned? " * 120)[:2999] + "?"
    page.fill("#question", long_q)
    assert page.locator("#counter").inner_text() == "3,000 / 2,000"
    assert "over" in page.locator("#counter").get_attribute("class")
    assert page.locator("#ask-button").is_disabled()
    assert "2,000" in page.locator("#composer-error").inner_text()
    page.press("#question", "Enter")
    page.wait_for_timeout(300)
    assert page.locator(".msg").count() == 0 and page.input_value("#question") == long_q
    # Should the server refuse it anyway (a limit lowered since the page loaded): plain words, the box kept.
    page.evaluate("state.limits.max_question_chars = 5000; updateCounter()")
    page.click("#ask-button")
    page.wait_for_selector(".msg.assistant .error")
    shown = page.locator(".msg.assistant .error").inner_text()
    assert "too long" in shown and "REGBRIEF" not in shown and "_" not in shown
    assert page.input_value("#question") == long_q
    assert page.locator("#ask-button").is_visible() and page.locator("#stop-button").is_hidden()
    page.close()


def test_refusal_closest_passages_open_like_citations(browser, live):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live.url + "/")
    ask_on(page, "What is the boiling point of mercury on Mars?", 1)
    msg = page.locator(".msg.assistant").last
    assert "do not say" in msg.inner_text()
    closest = msg.locator(".closest button")
    assert closest.count() >= 1
    title = closest.first.inner_text()
    closest.first.click()
    page.locator("#passage").wait_for(state="visible")
    assert page.locator("#passage-title").inner_text().startswith("Closest passage: ")
    assert title.split(" (")[0] in page.locator("#passage-title").inner_text()
    assert len(page.locator("#passage-text").inner_text().strip()) > 40
    page.close()


def test_upload_with_progress_then_ask(browser, live, tmp_path):
    doc = tmp_path / "quorvale_notice.md"
    doc.write_text("---\ntitle: Quorvale Shipping fined for false manifests\ndate: 2025-02-14\n---\n\n"
                   "Quorvale Shipping Ltd was fined 2.4 million euros by the Maltese regulator on 14 February 2025 "
                   "for filing false cargo manifests on three voyages to Tartus.\n", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live.url + "/")
    page.click("#toggle-upload")
    page.evaluate("""() => { window.__statuses = [];
        new MutationObserver(() => window.__statuses.push(document.querySelector('#upload-status').textContent))
          .observe(document.querySelector('#upload-status'), {childList: true, characterData: true, subtree: true}); }""")
    page.set_input_files("#upload-files", str(doc))
    page.click("#upload-button")
    page.wait_for_function("document.querySelector('#upload-status').textContent.startsWith('Done')", timeout=120_000)
    assert "1 document added" in page.locator("#upload-status").inner_text()
    assert page.evaluate("document.querySelector('#upload-progress').value") == 100
    assert page.locator("#upload-progress").is_visible()
    statuses = page.evaluate("window.__statuses")
    assert any(s.startswith("Uploading") for s in statuses), statuses
    ask_on(page, "How much was Quorvale Shipping fined?", 1)
    answer = page.locator(".msg.assistant").last
    assert "2.4 million" in answer.inner_text()
    answer.locator("button.cite").first.click()
    assert "quorvale_notice.md" in page.locator("#passage-link").inner_text()  # the file's own name
    page.close()


def test_briefings_listed_and_opened_in_a_row(browser, live):
    import httpx

    ids = {}
    with httpx.Client(base_url=live.url, timeout=120) as c:
        for entity in ("SenseTime", "SoftBank"):
            job = c.post("/v1/briefings", json={"entity": entity}).json()
            for _ in range(600):
                info = c.get(job["url"]).json()
                if info["status"] in ("succeeded", "failed"):
                    break
                time.sleep(0.3)
            assert info["status"] == "succeeded", info
            ids[entity] = info["result"]["briefing_id"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live.url + "/")
    page.wait_for_selector(f"#briefing-list li[data-id='{ids['SoftBank']}']")
    for entity in ("SenseTime", "SoftBank", "SenseTime", "SoftBank"):  # any number, in a row
        page.click(f"#briefing-list li[data-id='{ids[entity]}'] > button")
        page.wait_for_selector("#briefing-dialog[open]")
        frame = page.frame_locator("#briefing-frame")
        assert entity in frame.locator("h1").inner_text(timeout=10_000)
        assert frame.locator("h2").count() >= 3
        assert page.locator("#briefing-dialog-title").inner_text() == f"Briefing: {entity}"
        # What the user sees, not only the frame's DOM: reusing one frame painted the second briefing blank
        # with its DOM intact (a blank frame's screenshot is ~3 KB of PNG, a painted briefing ~70 KB).
        page.wait_for_timeout(300)
        assert len(page.locator("#briefing-frame").screenshot()) > 15_000, f"the {entity} briefing shows blank"
        page.click("#briefing-close")
    page.close()


@pytest.fixture(scope="module")
def hung(tmp_path_factory, hung_model):
    """A server whose model endpoint accepts and never answers: an answer streams for as long as we like."""
    from tests.conftest import DEMO
    from tests.test_api import LiveServer

    srv = LiveServer("browser-hung", tmp_path_factory.mktemp("hung") / "home", llm="openai",
                     openai_base_url=hung_model, openai_model="stuck", llm_timeout_s=5, rate_limit_per_minute=100000)
    assert srv.rb.ingest([DEMO / "lists"]).ok
    yield srv
    # The stopped answer's worker thread gives up on the model after llm_timeout_s and stops at its next step;
    # let it get there before the session ends (a thread inside the store's native code when Python exits
    # aborts the process). The server goes with the session, like the others.
    time.sleep(8)


def test_stop_button_while_streaming(browser, hung):
    page = browser.new_page()
    page.goto(hung.url + "/")
    q = "Is SenseTime sanctioned?"
    page.fill("#question", q)
    page.press("#question", "Enter")
    page.locator("#stop-button").wait_for(state="visible")
    assert page.locator("#ask-button").is_hidden()
    page.wait_for_timeout(800)  # the answer is being worked out (the model never replies)
    assert page.locator(".msg.assistant .pending").count() == 1
    page.click("#stop-button")
    page.wait_for_selector(".msg.assistant[data-done='stopped']", timeout=5_000)
    assert "Stopped" in page.locator(".msg.assistant").last.inner_text()
    assert page.locator("#ask-button").is_visible() and page.locator("#stop-button").is_hidden()
    assert page.input_value("#question") == q  # ready to send again or edit
    assert page.evaluate("state.conversationId") is None  # nothing was saved to come back to
    assert page.locator("#conversation-list .label").count() == 0
    page.close()
