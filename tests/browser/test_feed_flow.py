"""Department data in a real browser: a clerk of the medical-insurance bureau (医保)
uploads the month's CSV at a desk and watches the progress bar fill while a real Celery
worker (on Redis) imports it; then the grid worker of the village signs in on a phone
and finds the warning at the top of the worklist on the home page.

The progress is committed every 2,000 rows and each commit waits a little, so that the
bar is seen moving on a fast machine too. Screenshots go to test-output/feed-NN-*.png.
"""

import datetime as dt

import pytest
from django.urls import reverse

from apps.screening.feeds import FeedImporter
from apps.screening.models import BatchStatus, Department, DepartmentMember, FeedBatch, Warning
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS, pace_import
from tests.browser.test_review_flow import assert_no_horizontal_overflow, press, sign_in
from tests.conftest import ANDING
from tests.test_feeds import HEADERS, day, household, make_staff_user, medical
from tests.test_outbox import broker, wait_until, worker  # noqa: F401 — real-worker fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

ROWS = 40_000


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"feed-{name}.png"), full_page=True)


@pytest.fixture
def slow_progress(monkeypatch):
    pace_import(monkeypatch, FeedImporter, batch_rows=2_000, pause=0.15)


def feed_file(path) -> None:
    """The month's file: two people of 窝沟村 over the line — one of a household where
    nobody can work (the higher score) — among many people who are not rural."""
    from apps.core.identity import id_check_digit

    lines = [",".join(HEADERS["medical"])]
    lines.append(",".join(str(c) for c in medical(201, 12000, name="李福")))
    lines.append(",".join(str(c) for c in medical(101, 26000, name="张101")))
    for n in range(ROWS):
        birth = dt.date(1990, 1, 1) + dt.timedelta(days=n % 10_000)
        first17 = f"620102{birth:%Y%m%d}{n // 10_000:03d}"  # 城关区: not of the roster
        number = first17 + id_check_digit(first17)
        lines.append(f"{number},王某,{day()},300.00,{n % 90}.00")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def test_a_clerk_uploads_a_file_and_the_grid_worker_sees_the_warning_first(
    browser,
    live_server,
    output_dir,
    regions,
    media,
    tmp_path,
    grid_wogou,
    worker,  # noqa: F811 — the fixture imported above
    slow_progress,
):
    department = Department.objects.create(
        code="anding-yibao", name="安定区医疗保障局", region=regions[ANDING], kinds=["medical"]
    )
    clerk = make_staff_user("yibao-clerk")
    DepartmentMember.objects.create(user=clerk, department=department)
    household(regions, "001", (101, 102, 103))  # 张101's household: two cannot work
    household(regions, "002", (201,))
    path = tmp_path / "医保2026年11月.csv"
    feed_file(path)

    desk = browser.new_context(**DESKTOP)
    phone = browser.new_context(**PHONE)
    for context in (desk, phone):
        context.set_default_timeout(TIMEOUT_MS)
    try:
        page = desk.new_page()
        sign_in(page, live_server, clerk, reverse("feeds:list"))
        assert "部门数据" in page.content()
        shot(page, output_dir, "01-upload")
        page.set_input_files("#id_file", str(path))
        press(page, "form[action$='/upload/'] button[type=submit]")
        batch = FeedBatch.objects.get()
        assert page.url.endswith(reverse("feeds:detail", args=[batch.pk]))

        # The bar moves: part-way, then the page reloads itself with the result.
        page.wait_for_function(
            "() => { const b = document.getElementById('roster-bar');"
            " return b && b.value > 5 && b.value < 95; }",
            timeout=60_000,
        )
        seen = page.eval_on_selector("#roster-bar", "b => b.value")
        shot(page, output_dir, "02-progress")
        page.wait_for_selector("#feed-result", timeout=90_000)
        shot(page, output_dir, "03-done")
        assert 0 < seen < 100
        batch.refresh_from_db()
        assert batch.status == BatchStatus.DONE, batch.errors
        assert (batch.total_rows, batch.records_matched, batch.warnings_raised) == (
            ROWS + 2,
            2,
            2,
        )
        assert page.text_content("#feed-warnings").strip() == "2"

        # The grid worker of 窝沟村, on a phone: the warning first in the worklist.
        first = Warning.objects.order_by("-score").first()
        assert first.person_name == "张101"
        phone_page = phone.new_page()
        sign_in(phone_page, live_server, grid_wogou, reverse("staff:home"))
        rows = phone_page.locator("#warnings tbody tr")
        assert rows.count() == 2
        link = reverse("screening:warning", args=[first.pk])
        assert rows.first.locator(f"a[href='{link}']").count() == 1
        assert "张101" in rows.first.text_content()
        assert_no_horizontal_overflow(phone_page)
        shot(phone_page, output_dir, "04-worklist")
        press(phone_page, f"#warnings a[href='{link}']")
        shot(phone_page, output_dir, "05-warning")
    finally:
        desk.close()
        phone.close()
    assert wait_until(lambda: not FeedBatch.objects.exclude(file="").exists())
