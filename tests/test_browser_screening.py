"""Screening and briefings on the page, in a real headless Chromium (Debian's /usr/bin/chromium, Playwright)
against a real uvicorn server: a file of names uploaded, a decision recorded on a hit, the results exported
and the screening record opened and printed; a bad file refused with its row and column named. Screenshots
go to tests/artifacts/ (the README's are copied to docs/)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.test_api import main_server
from tests.test_browser import ARTIFACTS, browser  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow

NAMES = ("name,type,country,customer_ref\n"
         "SenseTime,company,,C-17\n"
         "\"Moreau, Elise\",person,FR,C-18\n")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    return main_server(tmp_path_factory.mktemp("browser-screening"))


def test_screening_a_file_recording_a_decision_and_printing_the_record(browser, live, tmp_path):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    names = tmp_path / "customers.csv"
    names.write_text(NAMES, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.url + "/")
    page.click("#toggle-screening")
    page.set_input_files("#screening-file", str(names))
    page.click("#screening-run")
    page.locator(".screening-table").wait_for(timeout=60_000)
    status = page.locator("#screening-status").inner_text()
    assert "2 names screened" in status and "Record scr_" in status
    hit = page.locator(".screening-table tr.hit").first
    assert "SENSETIME GROUP LIMITED" in hit.inner_text()
    assert "SenseTime" in hit.locator("td.why").inner_text()  # the explanation is shown with the hit
    assert "No candidates" in page.locator(".screening-table tr.clear").inner_text() or \
        page.locator(".screening-table tr").count() >= 3

    hit.locator("select.decision-choice").select_option("false_positive")
    hit.locator("input.decision-note").fill("different registry number")
    hit.locator("button.decision-save").click()
    said = hit.locator(".decision-said")
    said.filter(has_text="Recorded").wait_for()
    assert "False positive" in said.inner_text() and "different registry number" in said.inner_text()
    page.screenshot(path=str(ARTIFACTS / "screening.png"), full_page=True)

    with page.expect_download() as dl:
        page.click("#screening-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    decided = next(r for r in rows if r["decision"])
    assert decided["decision"] == "false positive" and decided["note"] == "different registry number"
    assert decided["customer_ref"] == "C-17" and {r["query"] for r in rows} == {"SenseTime", "Moreau, Elise"}
    with page.expect_download() as dl:
        page.click("#screening-json")
    assert '"decisions"' in Path(dl.value.path()).read_text(encoding="utf-8")

    page.click("#screening-record")
    frame_el = page.locator("#printable-frame")
    frame_el.wait_for()
    frame = frame_el.content_frame
    frame.locator("h1").wait_for()
    record = frame.locator("body").inner_text()
    rec_id = page.locator("#screening-status").inner_text().split("Record ")[1].rstrip(".")
    for text in (rec_id, "customers.csv", "NS-CMIC", "SHA-256", "false positive", "different registry number"):
        assert text in record, text
    # Print: the page calls print() on the record's frame (stubbed here: headless Chromium has no dialog)
    page.evaluate("() => { const w = document.getElementById('printable-frame').contentWindow;"
                  " w.print = () => { window.__printed = (window.__printed || 0) + 1; }; }")
    page.click("#printable-print")
    assert page.evaluate("window.__printed") == 1
    page.screenshot(path=str(ARTIFACTS / "screening-record.png"))
    # and as printed: the record's own HTML through Chromium's print-to-PDF
    printed = browser.new_page()
    printed.set_content(page.evaluate("document.getElementById('printable-frame').srcdoc"))
    pdf = printed.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    (ARTIFACTS / "screening-record.pdf").write_bytes(pdf)
    printed.close()
    assert not errors, errors
    page.close()


def test_a_bad_names_file_is_refused_naming_row_and_column(browser, live, tmp_path):  # noqa: F811
    bad = tmp_path / "names.csv"
    bad.write_text("name,birth_date\nAda Lovelace,1815-12-10\nCharles Babbage,26/12/1791\n", encoding="utf-8")
    page = browser.new_page()
    page.goto(live.url + "/")
    page.click("#toggle-screening")
    page.set_input_files("#screening-file", str(bad))
    page.click("#screening-run")
    status = page.locator("#screening-status")
    status.filter(has_text="Not screened").wait_for(timeout=30_000)
    assert "names.csv, row 3, column 'birth_date'" in status.inner_text()
    # pasted names work too (no file chosen)
    page.set_input_files("#screening-file", [])
    page.fill("#screening-names", "Japan Computer Vision\nSenseTime")
    page.click("#screening-run")
    status.filter(has_text="names screened").wait_for(timeout=30_000)
    assert page.locator(".screening-table tr[data-query]").count() >= 1
    page.close()
