"""Security headers on every response, and templates with nothing inline for the
Content-Security-Policy to refuse (the browser test, tests/browser/
test_content_security_policy.py, checks the pages themselves)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/healthz",
        "/no-such-page/",  # a 404
        "/accounts/login/",
        "/admin/login/",
        "/status/",
    ],
)
def test_every_response_carries_the_csp_and_permissions_policy(client, url):
    response = client.get(url)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in permissions
    # Security keys (WebAuthn) stay usable on this site's own pages.
    assert "publickey-credentials-get=(self)" in permissions
    assert "publickey-credentials-create=(self)" in permissions


def test_the_permissions_policy_follows_the_setting(client, settings):
    settings.PERMISSIONS_POLICY = {"camera": [], "fullscreen": ["self"]}
    response = client.get("/healthz")
    assert response.headers["Permissions-Policy"] == "camera=(), fullscreen=(self)"


# Inline style attributes or elements, scripts without src (a JSON data block, as
# json_script writes, is not a script), event-handler attributes, javascript: URLs.
INLINE = re.compile(
    r"""style\s*=|<style|<script(?![^>]*\b(?:src=|type="application/json"))[^>]*>"""
    r"""|\son[a-z]+\s*=|javascript:""",
    re.IGNORECASE,
)


def test_no_template_has_inline_script_or_style():
    templates = Path(settings.BASE_DIR) / "templates"
    found = [
        f"{path.relative_to(templates)}: {match.group(0)}"
        for path in sorted(templates.rglob("*.html"))
        for match in INLINE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
