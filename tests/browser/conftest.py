"""Fixtures for the browser tests: Debian's chromium driven by Playwright's sync API.

Never a downloaded browser: without /usr/bin/chromium the tests skip, or fail when
REQUIRE_SERVICES is set (CI).
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A cheap Android phone, the form opened from WeChat's scanner.
PHONE = dict(
    viewport={"width": 360, "height": 740},
    device_scale_factor=2,
    is_mobile=True,
    has_touch=True,
    locale="zh-CN",
    timezone_id="Asia/Shanghai",
    user_agent=(
        "Mozilla/5.0 (Linux; Android 10; M2006C3LC Build/QP1A.190711.020; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 "
        "Mobile Safari/537.36 XWEB/5023 MMWEBSDK/20230202 MMWEBID/1234 "
        "MicroMessenger/8.0.33.2320(0x28002151) WeChat/arm64 Weixin NetType/4G "
        "Language/zh_CN ABI/arm64"
    ),
)
TIMEOUT_MS = 15_000


def _require_chromium():
    if not CHROMIUM.exists():
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"{CHROMIUM} is required (REQUIRE_SERVICES) but missing")
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def browser(django_db_setup):
    """One headless chromium for the module.

    Playwright's sync API keeps an event loop running on this thread, and Django then
    refuses ORM calls from it (SynchronousOnlyOperation). The test thread only touches
    the database while the browser waits, so allow it, but only while the browser is
    open: the module scope closes it before any other test module runs.
    """
    _require_chromium()
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _new_page(browser, **overrides):
    context = browser.new_context(**{**PHONE, **overrides})
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def phone_page(browser):
    """A page in a fresh phone-sized context, JavaScript on."""
    context, page = _new_page(browser)
    yield page
    context.close()


@pytest.fixture
def phone_page_no_js(browser):
    """The same phone with JavaScript switched off."""
    context, page = _new_page(browser, java_script_enabled=False)
    yield page
    context.close()


# An office PC: township staff and the county clerk work at a desk.
DESKTOP = dict(
    viewport={"width": 1280, "height": 900},
    device_scale_factor=1,
    is_mobile=False,
    has_touch=False,
    locale="zh-CN",
    timezone_id="Asia/Shanghai",
)


@pytest.fixture
def desktop_page(browser):
    """A page in a fresh desktop-sized context, JavaScript on."""
    context = browser.new_context(**DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def pace_import(monkeypatch, importer, batch_rows: int, pause: float) -> None:
    """Make an import report its progress in small steps, each held for `pause`
    seconds, so that the browser sees the bar part-way before it finishes."""
    import time

    monkeypatch.setattr(importer, "batch_rows", batch_rows)
    progress = importer.progress

    def paced(self, processed):
        progress(self, processed)
        time.sleep(pause)

    monkeypatch.setattr(importer, "progress", paced)


def sign_out(page) -> None:
    """Sign out from the staff menu, where the button sits under "更多" (More)."""
    from django.urls import reverse

    button = page.locator(f"form[action='{reverse('logout')}'] button[type=submit]")
    if not button.is_visible():
        page.click("nav details.more > summary")
    with page.expect_navigation():
        button.click()
