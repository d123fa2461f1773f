"""The certificate pages people read, in a real browser at a phone's 390 px and a desktop's
1280 px, in Chinese and English: the learner's /certificates/ (date inputs hold ISO dates the
browser accepts, checkboxes beside their words, a serial wrapping between its groups only) and
the public verification page (the verdict at the top, the technical details folded, a typo
explained); no page wider than the screen."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from tests.browser.axe import axe_violations
from transfers.certificates.issuing import certificate_request
from transfers.models import Certificate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [390, 1280]
LANGUAGES = ["zh-hans", "en"]
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
# Set to a directory to keep a screenshot of each page (to read them, as a person would).
SHOTS = os.environ.get("CERTIFICATE_PAGE_SHOTS")


@pytest.fixture
def issued(certificate_world) -> Certificate:
    account = certificate_world["account"]
    certificate = certificate_request(
        account=account,
        actor=account.holder,
        kind=Certificate.Kind.HOURS_CERTIFICATE,
        period_from=datetime.date(2024, 1, 1),
        period_to=datetime.date(2024, 12, 31),
        disclose=["name", "items"],
    )
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.ISSUED
    return certificate


@pytest.fixture
def visit(browser, live_server):
    """A browser page of the given width and language, signed in as ``user`` if given."""
    contexts = []

    def open_page(width: int, language: str, user=None):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": 844}, locale="zh-CN"
        )
        contexts.append(context)
        cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language}]
        if user is not None:
            client = Client()
            client.force_login(user)
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
            cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session})
        context.add_cookies([{**c, "url": live_server.url} for c in cookies])
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def assert_fits(page, name: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], (name, widths)
    assert axe_violations(page) == [], name
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def serial_lines(page) -> int:
    """How many lines the first serial on the page takes."""
    return page.locator("code.serial").first.evaluate("code => code.getClientRects().length")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_the_certificates_page_fits_and_its_date_inputs_hold_iso_dates(
    visit, issued, width, language
):
    page = visit(width, language, user=issued.account.holder)
    page.goto("/certificates/")

    dates = page.locator('input[type="date"]')
    expect(dates).to_have_count(2)
    for value in dates.evaluate_all("inputs => inputs.map(i => i.value)"):
        assert ISO.fullmatch(value), value  # an input refusing its value shows ""
    assert dates.first.input_value() == f"{datetime.date.today().year}-01-01"
    # Each checkbox sits right by its words, on their line, not stretched across the form.
    for label in page.locator('label:has(> input[type="checkbox"])').all():
        box_width, gap, rise = label.evaluate(
            "l => { const box = l.querySelector('input').getBoundingClientRect();"
            " const r = document.createRange(); r.selectNodeContents(l);"
            " const text = [...r.getClientRects()].pop();"
            " return [box.width, text.left - box.right, Math.abs(text.top - box.top)]; }"
        )
        assert box_width < 40, box_width
        assert 0 <= gap < 16, gap
        assert rise < 20, rise
    # The issued certificate's state reads as a state.
    state = page.get_by_test_id("certificate-state")
    expect(state).to_have_text("已出具" if language == "zh-hans" else "Issued")
    # The serial wraps between its five groups at most, never a symbol a line.
    lines = serial_lines(page)
    assert lines <= 5 if width == 390 else lines == 1, lines
    assert_fits(page, f"certificates-{width}-{language}")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_the_verification_page_fits_with_the_verdict_first_and_details_folded(
    visit, issued, width, language
):
    page = visit(width, language)
    page.goto(f"/verify/{issued.serial}/")

    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_contain_text("目前有效" if language == "zh-hans" else "it holds today")
    expect(page.get_by_test_id("statement")).to_contain_text("120.0")
    # The verdict is on the first screen, at either width.
    box = verdict.bounding_box()
    assert box
    assert box["y"] + box["height"] <= 844
    technical = page.get_by_test_id("technical")
    expect(technical.locator("dl")).to_be_hidden()
    assert serial_lines(page) <= (5 if width == 390 else 1)
    assert_fits(page, f"verify-{width}-{language}")
    technical.locator("summary").click()
    expect(technical.locator("dl")).to_be_visible()
    expect(technical).to_contain_text("eddsa-rdfc-2022")
    assert_fits(page, f"verify-details-{width}-{language}")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_a_typed_serial_with_a_typo_is_explained_and_fits(visit, issued, width, language):
    groups = issued.serial.split("-")
    groups[1] = groups[1][:3]  # the second group typed one symbol short
    page = visit(width, language)
    page.goto("/verify/")

    page.locator("#serial").fill(" ".join(groups).lower())
    page.locator(".button--primary").click()

    hint = page.get_by_test_id("typo-hint")
    expect(hint).to_contain_text(
        f"第 2 组（“{groups[1].lower()}”）少了一个字符"
        if language == "zh-hans"
        else f"Group 2 (“{groups[1].lower()}”) is one character short"
    )
    assert_fits(page, f"verify-typo-{width}-{language}")
