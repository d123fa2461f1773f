"""The Content-Security-Policy in a real browser: the pages, their inline style and the
interactive API docs work under it, and the browser reports no violation."""

import pytest

from tests.people import PASSWORD, otp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any script of the page (Playwright injects it outside the page's policy).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def watched(page):
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.console_messages = console
    return page


def violations(page) -> list[str]:
    found = page.evaluate("window.__violations")
    reported = [m for m in page.console_messages if "Content Security Policy" in m]
    return found + reported


def test_the_public_pages_load_without_a_policy_violation(watched):
    for path in ("/", "/login/", "/register/", "/catalogue/", "/verify/"):
        watched.goto(path)
        watched.wait_for_load_state("networkidle")
        assert violations(watched) == [], path

    # The stylesheet applied: the page is laid out by portal.css, not the browser's defaults.
    font = watched.evaluate("getComputedStyle(document.body).fontFamily")
    assert font != ""
    assert "Times" not in font


def test_the_interactive_api_docs_run_under_the_policy(watched):
    watched.goto("/api/v1/docs/")

    watched.locator(".swagger-ui .opblock").first.wait_for()
    # Swagger UI draws only what is on the screen once an API is this large (virtualised
    # lists): count the operations it loaded and lists, not the ones drawn.
    loaded = watched.evaluate(
        "() => ui.specSelectors.taggedOperations()"
        ".reduce((n, tag) => n + tag.get('operations').size, 0)"
    )
    assert loaded > 100
    assert violations(watched) == []


def test_the_notifications_page_inline_style_applies(watched, reviewer):
    watched.goto("/login/")
    watched.get_by_role("button", name="English").click()
    watched.get_by_label("Account number, email or mobile phone").fill("rita")
    watched.get_by_label("Password").fill(PASSWORD)
    watched.get_by_role("button", name="Sign in").click()
    watched.get_by_label("6-digit code from your authenticator app").fill(otp_code(reviewer))
    watched.get_by_role("button", name="Continue").click()

    watched.goto("/notifications/")

    # .notices { list-style: none } comes from the page's own <style> with the nonce.
    style = watched.evaluate(
        "(() => { const s = document.createElement('ul'); s.className = 'notices';"
        " document.body.append(s); return getComputedStyle(s).listStyleType; })()"
    )
    assert style == "none"
    assert violations(watched) == []
