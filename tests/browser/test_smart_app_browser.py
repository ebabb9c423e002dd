"""The SMART app in a real browser (Debian's chromium, Python playwright) against real servers on
loopback: the EHR simulator (SMART authorization server + FHIR proxy + order entry calling the
CDS service), sekmet-fhir behind it, and the VCF-CDS service serving /app/.

Seeded patient (tests/browser/scenario.py): osteoporosis, bone metastases, a new L2 fracture,
symptoms not documented - the MRI order cannot be rated until "symptomatic" is answered."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, Playwright, expect, sync_playwright

from tests.browser.browser import (
    CONTRAST_JS,
    TIMEOUT_MS,
    focus_indicator,
    has_visible_focus,
    launch_from_card,
    rating,
    session_storage,
    tab_to,
    wait_for_assessment,
)
from tests.browser.conftest import CHROMIUM_ARGS, Stack
from tests.browser.scenario import READ_PATIENT, WRITE_PATIENT

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "img" / "smart-app.png"
UNRATED = ""  # data-category of an order that cannot be rated yet
# axe-core rule set: WCAG 2.0 and 2.1, levels A and AA
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture(scope="module")
def pw(chromium_path: str) -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def context(
    pw: Playwright, chromium_path: str, user_data_dir: Path, stack: Stack
) -> Iterator[BrowserContext]:
    """One browser per module on a fresh, empty profile (user-data-dir)."""
    ctx = pw.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=chromium_path,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A new tab per test: the app keeps its SMART session in sessionStorage, which is per tab;
    cookies and localStorage (neither used by the app or the simulator) are cleared too."""
    context.clear_cookies()
    tab = context.new_page()
    try:
        yield tab
    finally:
        tab.evaluate("() => { try { localStorage.clear(); } catch (e) {} }")
        tab.close()


def _order_category(page: Page) -> str:
    return page.get_by_test_id("rating").first.get_attribute("data-category") or ""


def test_ehr_launch_from_card_renders_findings_variant_and_rating(page: Page, stack: Stack) -> None:
    tokens_before = len(stack.sim.tokens)
    app_context = launch_from_card(page, stack, READ_PATIENT)
    assert page.url.startswith(f"{stack.service_url}/app/index.html")
    assert "code=" not in page.url  # the app removed the code from the address bar
    session = session_storage(page)
    assert session["patient"] == READ_PATIENT and session["iss"] == stack.sim.fhir_base
    assert session["appContext"]["consultId"] == json.loads(app_context)["consultId"]
    assert len(stack.sim.tokens) > tokens_before  # a token was issued through /token (PKCE)
    # findings read from sekmet through the proxy, each with its source
    findings = page.get_by_test_id("findings")
    expect(findings).to_contain_text("L2")
    source = findings.locator("a").first
    expect(source).to_have_attribute(
        "href", f"{stack.sim.fhir_base}/Observation/{READ_PATIENT}-o-vcf"
    )
    # the variant: Variant 2 possible, decided by the missing "symptomatic"
    expect(page.get_by_test_id("variant-2")).to_have_attribute("data-status", "possible")
    # the order from the card's appContext, not rated yet, and the question that would rate it
    expect(page.get_by_test_id("order")).to_contain_text("MRI")
    assert _order_category(page) == UNRATED
    expect(page.get_by_test_id("question-symptomatic")).to_be_visible()
    expect(page.get_by_test_id("notices")).to_have_text("")


def test_answering_a_missing_finding_changes_the_rating(page: Page, stack: Stack) -> None:
    launch_from_card(page, stack, READ_PATIENT)
    before = rating(page)
    page.get_by_test_id("question-symptomatic").get_by_label("Yes").check()
    expect(page.get_by_test_id("rating")).to_have_attribute(
        "data-category", "Usually Appropriate", timeout=TIMEOUT_MS
    )
    after = rating(page)
    assert before != after and "Usually Appropriate" in after
    change = page.get_by_test_id("rating-change")
    expect(change).to_contain_text("→")
    # the notice states both ratings: before (not rated) and after (the category)
    was, now = change.get_attribute("data-before") or "", change.get_attribute("data-after") or ""
    assert was and "Appropriate" not in was and "Usually Appropriate" in now
    expect(page.get_by_test_id("variant-2")).to_have_attribute("data-status", "matched")
    # and back: "Unknown" un-answers it
    page.get_by_test_id("question-symptomatic").get_by_label("Unknown").check()
    expect(page.get_by_test_id("rating")).to_have_attribute("data-category", UNRATED)


def _symptomatic_observations(stack: Stack, patient: str) -> list[dict[str, Any]]:
    """The 'symptomatic' Observations of ``patient`` in sekmet itself (behind the proxy)."""
    r = httpx.get(
        f"{stack.fhir_upstream}/Observation",
        params={"patient": patient},
        headers={"Accept": "application/fhir+json"},
        trust_env=False,
        timeout=30,
    )
    r.raise_for_status()
    resources = [e["resource"] for e in r.json().get("entry", [])]
    return [
        o
        for o in resources
        if any(c.get("code") == "symptomatic" for c in o["code"].get("coding", []))
    ]


def test_keyboard_only_answer_write_back_and_read_back(page: Page, stack: Stack) -> None:
    """Tab/Space/Enter only, with a visible focus indicator at each control used; the answer is
    written as an Observation through the proxy (found in sekmet) and a re-launch reads it."""
    assert _symptomatic_observations(stack, WRITE_PATIENT) == []
    launch_from_card(page, stack, WRITE_PATIENT)
    assert _order_category(page) == UNRATED
    page.locator("body").focus()
    tab_to(page, "q-symptomatic-yes")
    assert has_visible_focus(focus_indicator(page)), focus_indicator(page)
    page.keyboard.press("Space")
    expect(page.get_by_test_id("rating")).to_have_attribute(
        "data-category", "Usually Appropriate", timeout=TIMEOUT_MS
    )
    # focus stays on the answered control after the re-run (the form is rebuilt)
    assert focus_indicator(page)["id"] == "q-symptomatic-yes"
    tab_to(page, "write-back")
    assert has_visible_focus(focus_indicator(page)), focus_indicator(page)
    writes_before = len(stack.sim.writes)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("write-status")).to_contain_text("written to the record")
    posted = [w for w in stack.sim.writes[writes_before:] if w.path == "Observation"]
    assert posted and all(w.method == "POST" and w.status == 201 for w in posted)
    [stored] = _symptomatic_observations(stack, WRITE_PATIENT)
    assert stored["valueBoolean"] is True
    assert stored["subject"]["reference"] == f"Patient/{WRITE_PATIENT}"
    # a new launch (new token, no answers in the page) reads the answer back from the record
    launch_from_card(page, stack, WRITE_PATIENT)
    assert _order_category(page) == "Usually Appropriate"
    findings = page.get_by_test_id("findings")
    expect(findings.locator(f'a[href$="/Observation/{stored["id"]}"]')).to_have_count(1)


def test_standalone_launch_with_patient_picker(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.service_url}/app/launch.html")
    expect(page.get_by_test_id("standalone-form")).to_be_visible()
    page.get_by_label("FHIR server").select_option(stack.sim.fhir_base)
    page.get_by_role("button", name="Sign in and choose a patient").click()
    expect(page).to_have_title("Select a patient")  # the simulator's picker page
    page.locator(f'button[data-patient="{READ_PATIENT}"]').click()
    wait_for_assessment(page)
    session = session_storage(page)
    assert session["patient"] == READ_PATIENT and session["appContext"]["orders"] == []
    expect(page.get_by_test_id("findings")).to_contain_text("L2")
    expect(page.get_by_test_id("orders")).to_contain_text("No draft order")


def test_print_stylesheet(page: Page, stack: Stack, tmp_path: Path) -> None:
    launch_from_card(page, stack, READ_PATIENT)
    page.emulate_media(media="print")
    # navigation and controls are not printed; the summary, rating and ACR table are
    for hidden in ("#section-nav", "#print-button", "#write-back", ".skip-link"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.get_by_test_id("rating")).to_be_visible()
    expect(page.get_by_test_id("acr-tables")).to_be_visible()
    banner_bg = page.evaluate(
        "() => getComputedStyle(document.querySelector('.banner')).backgroundColor"
    )
    assert banner_bg in ("rgba(0, 0, 0, 0)", "transparent")  # no dark band on paper
    pdf = tmp_path / "summary.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=False)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 5_000
    page.emulate_media(media="screen")
    expect(page.locator("#section-nav")).to_be_visible()


def _serious(results: Any) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} - {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_accessibility_axe_and_contrast(page: Page, stack: Stack) -> None:
    axe = Axe()
    page.goto(f"{stack.service_url}/app/launch.html")
    expect(page.get_by_test_id("standalone-form")).to_be_visible()
    launch_page = axe.run(page, options=AXE_OPTIONS)
    assert _serious(launch_page) == [], launch_page.generate_report()
    launch_from_card(page, stack, READ_PATIENT)
    # the assessment after an answer: everything of the first view plus the change notice
    page.get_by_test_id("question-symptomatic").get_by_label("Yes").check()
    expect(page.get_by_test_id("rating-change")).to_contain_text("→")
    answered = axe.run(page, options=AXE_OPTIONS)
    assert _serious(answered) == [], answered.generate_report()
    # our own check of what clinicians read first: WCAG AA 4.5:1 for normal-size text
    measured = page.evaluate(
        CONTRAST_JS,
        [
            ".rating",
            "#headline",
            ".hint",
            "legend",
            "label",
            "a",
            "button",
            ".badge",
            "#rating-change",
            ".banner p",
        ],
    )
    assert len(measured) >= 10
    low = [m for m in measured if m["ratio"] < 4.5]
    assert low == [], low


def test_screenshot(page: Page, stack: Stack, tmp_path: Path) -> None:
    """The README's screenshot: the app after an answer changed the rating. Written into the
    test's temporary directory; VCF_CDS_UPDATE_SCREENSHOT=1 also refreshes docs/img/."""
    launch_from_card(page, stack, READ_PATIENT)
    page.get_by_test_id("question-symptomatic").get_by_label("Yes").check()
    expect(page.get_by_test_id("rating-change")).to_contain_text("→")
    shot = tmp_path / "smart-app.png"
    page.screenshot(path=str(shot), full_page=False)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    if os.environ.get("VCF_CDS_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 20_000, (
        "docs/img/smart-app.png is missing: run with VCF_CDS_UPDATE_SCREENSHOT=1"
    )
