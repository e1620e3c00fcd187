"""The national system's file in a real browser: a county clerk uploads the county's
监测对象信息 workbook at a desk and watches the progress bar fill while a real Celery
worker (on Redis) imports it, until the page shows the households imported.

The progress is committed every 500 rows and each commit waits a little, so that the
bar is seen moving on a fast machine too. Screenshots go to test-output/national-*.png.
"""

import io

import openpyxl
import pytest
from django.urls import reverse

from apps.households.models import ImportStatus, MonitoredHousehold, NationalImport
from apps.households.national import NationalImporter
from tests.browser.conftest import DESKTOP, TIMEOUT_MS, pace_import
from tests.browser.test_review_flow import press, sign_in
from tests.conftest import ANDING, require_postgres
from tests.test_national import HEADER, person
from tests.test_outbox import broker, wait_until, worker  # noqa: F401 — real-worker fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

HOUSEHOLDS = 2_000


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"national-{name}.png"), full_page=True)


@pytest.fixture
def slow_progress(monkeypatch):
    pace_import(monkeypatch, NationalImporter, batch_rows=500, pause=0.3)


def national_file(path) -> None:
    """A county's file: 2,000 households of 窝沟村, a head and a spouse each."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for h in range(HOUSEHOLDS):
        code = f"62110200{h:04d}"
        sheet.append(person(2 * h, code))
        sheet.append(person(2 * h + 1, code, "配偶"))
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())


def test_a_county_clerk_imports_the_national_file_and_watches_the_progress_bar(
    browser,
    live_server,
    output_dir,
    regions,
    media,
    tmp_path,
    county_anding,
    worker,  # noqa: F811 — the fixture imported above
    slow_progress,
):
    require_postgres()
    path = tmp_path / "安定区监测对象信息.xlsx"
    national_file(path)
    desk = browser.new_context(**DESKTOP)
    desk.set_default_timeout(TIMEOUT_MS)
    try:
        page = desk.new_page()
        sign_in(page, live_server, county_anding, reverse("staff:home"))
        page.click("nav details.more summary")  # the import sits under "More"
        press(page, f"nav a[href='{reverse('national:list')}']")
        assert "全国防返贫监测信息系统" in page.content()
        shot(page, output_dir, "01-upload")
        page.select_option("#id_county", str(regions[ANDING].pk))
        page.set_input_files("#id_file", str(path))
        press(page, "form[action$='/upload/'] button[type=submit]")
        imp = NationalImport.objects.get()
        assert page.url.endswith(reverse("national:detail", args=[imp.pk]))

        # The bar moves: part-way, then the page reloads itself with the result.
        page.wait_for_function(
            "() => { const b = document.getElementById('roster-bar');"
            " return b && b.value > 5 && b.value < 95; }",
            timeout=60_000,
        )
        seen = page.eval_on_selector("#roster-bar", "b => b.value")
        shot(page, output_dir, "02-progress")
        page.wait_for_selector("#national-result", timeout=90_000)
        shot(page, output_dir, "03-done")
        assert 0 < seen < 100
        imp.refresh_from_db()
        assert imp.status == ImportStatus.DONE, imp.errors
        assert page.text_content("#national-households-created").strip() == str(HOUSEHOLDS)
        assert MonitoredHousehold.objects.filter(imported=True).count() == HOUSEHOLDS
    finally:
        desk.close()
    assert wait_until(lambda: not NationalImport.objects.exclude(file="").exists())
