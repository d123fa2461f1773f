"""Security headers and cookies: a Content-Security-Policy that allows only this server (inline
code only with the response's nonce), no framing, no MIME sniffing, no referrer sent away;
and in production HSTS and cookies that are Secure, SameSite and (session, CSRF) HttpOnly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.people import login_verified
from tests.processes import PRODUCTION_ENV, subprocess_env

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def csp_of(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    directives = (part.strip().split(" ", 1) for part in policy.split(";"))
    return dict(directives)


def test_every_page_says_it_may_load_things_only_from_this_server(client):
    response = client.get("/login/")

    csp = csp_of(response)
    assert csp["default-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert csp["base-uri"] == "'self'"
    # No CDN and no escape hatch anywhere in the policy.
    policy = response.headers["Content-Security-Policy"]
    assert "http" not in policy
    assert "*" not in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_each_response_has_its_own_nonce_and_the_inline_style_carries_it(client, reviewer):
    login_verified(client, reviewer)

    first, second = client.get("/notifications/"), client.get("/notifications/")

    nonces = [
        re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]) for r in (first, second)
    ]
    assert nonces[0] is not None
    assert nonces[1] is not None
    assert nonces[0].group(1) != nonces[1].group(1)
    assert f'<style nonce="{nonces[1].group(1)}">' in second.content.decode()


def test_the_api_docs_inline_script_and_style_carry_the_nonce(client):
    response = client.get("/api/v1/docs/")

    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    page = response.content.decode()
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in page
    assert f'<style nonce="{nonce.group(1)}">' in page


def test_no_template_has_inline_code_the_policy_would_block():
    """Inline <script>/<style> need the nonce; event-handler attributes, style attributes and
    javascript: URLs cannot be allowed by a nonce at all."""
    found = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
            if "src=" not in tag and "nonce=" not in tag:
                found.append(f"{template.relative_to(TEMPLATES)}: {tag}")
        for attribute in re.findall(r"""\s(on[a-z]+=|style=|href=["']javascript:)""", text):
            found.append(f"{template.relative_to(TEMPLATES)}: {attribute}")

    assert found == []


def test_pages_and_the_api_refuse_framing_sniffing_and_referrers(client):
    for response in (client.get("/"), client.get("/api/v1/catalogue/")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_pages_and_the_api_deny_the_browser_features_the_portal_never_uses(client):
    for response in (client.get("/login/"), client.get("/api/v1/catalogue/")):
        policy = dict(
            part.strip().split("=", 1) for part in response.headers["Permissions-Policy"].split(",")
        )
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert policy[feature] == "()", feature


# --- Production ---------------------------------------------------------------------------------

# Runs in a process of its own with the production variables: asks for the sign-in page over
# plain HTTP and over HTTPS (as the TLS proxy forwards it), chooses English, and has the session
# middleware write a session, then prints what came back. The session is kept in a signed cookie
# there so that no database is needed (the cookie's flags come from the SESSION_COOKIE_* settings
# whatever the engine), and static files are named without the manifest collectstatic writes.
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory

settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
host = {"HTTP_HOST": "creditbank.example.cn"}
https = {**host, "HTTP_X_FORWARDED_PROTO": "https"}
client = Client()
plain = client.get("/login/", **host)
page = client.get("/login/", **https)
language = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, **https)

def write_session(request):
    request.session["probe"] = 1
    return HttpResponse()

request = RequestFactory().get("/", **https)
session = SessionMiddleware(write_session)(request)

def flags(cookie):
    return {k: cookie[k] for k in ("secure", "httponly", "samesite")}

print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location", "")],
    "headers": dict(page.headers),
    "csrf": flags(page.cookies[settings.CSRF_COOKIE_NAME]),
    "language": flags(language.cookies[settings.LANGUAGE_COOKIE_NAME]),
    "session": flags(session.cookies[settings.SESSION_COOKIE_NAME]),
}))
"""


@pytest.fixture(scope="module")
def production() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env=subprocess_env(DJANGO_SETTINGS_MODULE="creditbank.settings", **PRODUCTION_ENV),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_production_sends_plain_http_to_https(production):
    status, location = production["plain"]

    assert status == 301
    assert location == "https://creditbank.example.cn/login/"


@pytest.mark.slow
def test_production_pages_carry_hsts_and_the_security_headers(production):
    headers = production["headers"]

    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.slow
def test_production_session_cookie_is_secure_httponly_and_samesite(production):
    assert production["session"] == {"secure": True, "httponly": True, "samesite": "Lax"}


@pytest.mark.slow
def test_production_csrf_cookie_is_secure_httponly_and_samesite(production):
    # HttpOnly: no script of the portal reads the token; forms carry it in a hidden field.
    assert production["csrf"] == {"secure": True, "httponly": True, "samesite": "Lax"}


@pytest.mark.slow
def test_production_language_cookie_is_secure_and_samesite(production):
    # Not HttpOnly: it holds only "en" or "zh-hans", nothing worth stealing.
    assert production["language"]["secure"] is True
    assert production["language"]["samesite"] == "Lax"
