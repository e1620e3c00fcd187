"""A new kind of department data without a programmer, in a real browser, outside demo
mode (every sign-in passes its authenticator code): a provincial administrator defines
the feed "失业登记" on the admin's pages (its fields and its rule), a clerk of the
county's human-resources bureau (人社) uploads the month's file for it on the upload
page, and the grid worker of 窝沟村 finds the warning at the top of the worklist.
Screenshots go to test-output/feeddef-NN-*.png."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.regions.models import Role
from apps.screening.models import (
    BatchStatus,
    Department,
    DepartmentMember,
    FeedBatch,
    FeedDefinition,
    Warning,
)
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS
from tests.browser.test_review_flow import PASSWORD, press
from tests.conftest import ANDING, PROVINCE, WOGOU, make_staff
from tests.households_steps import new_id
from tests.test_feed_definitions import DEFINITION_PERMS
from tests.test_feeds import day, household, make_staff_user
from tests.test_warning_pages import medical

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def production_like(settings):
    settings.DEMO_MODE = False


def with_authenticator(user):
    """The user has enrolled an authenticator app (and a fresh password)."""
    user.password_changed_at = timezone.now()
    user.save()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def sign_in(page, live_server, user, device, next_url: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    press(page, "form button[type=submit]")
    assert reverse("accounts:verify") in page.url  # the second factor first
    page.fill("#id_token", f"{TOTP(device.bin_key).token():06d}")
    press(page, "form button[type=submit]")
    assert page.url == f"{live_server.url}{next_url}", page.url


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"feeddef-{name}.png"), full_page=True)


def add_inline(page, group: str, index: int, values: dict, selects=()) -> None:
    page.click(f"#{group}-group .add-row a")
    for name, value in values.items():
        if name in selects:
            page.select_option(f"#id_{group}-{index}-{name}", value)
        else:
            page.fill(f"#id_{group}-{index}-{name}", value)


def test_a_province_admin_defines_a_feed_a_clerk_uploads_it_and_the_village_sees_it_first(
    browser, live_server, output_dir, regions, tmp_path, grid_wogou, production_like
):
    admin = make_staff("prov-admin", regions[PROVINCE], Role.PROVINCE)
    admin.is_staff = True
    admin.save()
    admin.user_permissions.add(*Permission.objects.filter(codename__in=DEFINITION_PERMS))
    department = Department.objects.create(
        code="anding-renshe", name="安定区人社局", region=regions[ANDING], kinds=["unemployment"]
    )
    clerk = make_staff_user("renshe-clerk")
    DepartmentMember.objects.create(user=clerk, department=department)
    household(regions, "001", (101,))
    # An open warning of the village already: the new feed's must come above it.
    older = medical(regions, serial=5, paid=12000)
    devices = {u.pk: with_authenticator(u) for u in (admin, clerk, grid_wogou)}

    desk = browser.new_context(**DESKTOP)
    phone = browser.new_context(**PHONE)
    for context in (desk, phone):
        context.set_default_timeout(TIMEOUT_MS)
    try:
        # The provincial administrator defines the feed on the admin's add page.
        page = desk.new_page()
        add = reverse("admin:screening_feeddefinition_add")
        sign_in(page, live_server, admin, devices[admin.pk], add)
        page.fill("#id_code", "unemployment")
        page.fill("#id_name", "失业登记")
        page.fill("#id_department_kind", "人社")
        page.select_option("#id_subject", "person")
        page.select_option("#id_effect", "warning")
        fields = [
            {"key": "id_number", "label": "身份证号", "type": "id_number"},
            {"key": "name", "label": "姓名", "type": "name"},
            {"key": "date", "label": "登记日期", "type": "date"},
            {"key": "benefit", "label": "失业保险金", "aliases": "失业金", "type": "money"},
        ]
        for i, f in enumerate(fields):
            add_inline(page, "fields", i, {**f, "order": str(i)}, selects=("type",))
        add_inline(
            page,
            "rules",
            0,
            {
                "code": "unemployed",
                "kind": "threshold",
                "field": "benefit",
                "default_value": "1000",
                "reason": "{date}登记失业，领取失业保险金{benefit:,.0f}元",
                "factor": "失业",
                "weight": "60",
                "basis": "full",
            },
            selects=("kind", "basis"),
        )
        shot(page, output_dir, "01-define")
        press(page, "input[name=_save]")
        assert page.url.endswith(reverse("admin:screening_feeddefinition_changelist")), (
            page.locator(".errorlist").all_text_contents()
        )
        definition = FeedDefinition.objects.get(code="unemployment")
        assert definition.fields.count() == 4 and definition.rules.count() == 1
        shot(page, output_dir, "02-defined")

        # The clerk uploads the month's file for it.
        clerk_page = desk.new_page()
        desk.clear_cookies()
        sign_in(clerk_page, live_server, clerk, devices[clerk.pk], reverse("feeds:list"))
        assert "失业登记" in clerk_page.content()  # its columns are listed, with a template
        path = tmp_path / "失业登记2026年11月.csv"
        lines = ["身份证号,姓名,登记日期,失业金", f"{new_id(101)},张101,{day()},1500"]
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        clerk_page.select_option("#id_feed", f"{department.pk}:unemployment")
        clerk_page.set_input_files("#id_file", str(path))
        press(clerk_page, "form[action$='/upload/'] button[type=submit]")
        batch = FeedBatch.objects.get()
        clerk_page.wait_for_selector("#feed-result")
        batch.refresh_from_db()
        assert batch.status == BatchStatus.DONE, batch.errors
        assert clerk_page.text_content("#feed-warnings").strip() == "1"
        shot(clerk_page, output_dir, "03-uploaded")

        # The grid worker of 窝沟村, on a phone: the new warning first.
        new = Warning.objects.get(sources__rule="unemployed")
        assert new.village.code == WOGOU and new.score > older.score
        phone_page = phone.new_page()
        sign_in(phone_page, live_server, grid_wogou, devices[grid_wogou.pk], reverse("staff:home"))
        rows = phone_page.locator("#warnings tbody tr")
        assert rows.count() == 2
        link = reverse("screening:warning", args=[new.pk])
        assert rows.first.locator(f"a[href='{link}']").count() == 1
        shot(phone_page, output_dir, "04-worklist")
        press(phone_page, f"#warnings a[href='{link}']")
        assert "登记失业，领取失业保险金1,500元" in phone_page.content()
        shot(phone_page, output_dir, "05-warning")
    finally:
        desk.close()
        phone.close()
