"""三权分立: the system, security and audit administrators each see only what their
duty needs, whatever permissions their accounts were given; the superuser, for
installation only, is audited and alerted at each request."""

import io
import logging

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.models import Action, AuditEntry, Result
from apps.audit.services import record
from apps.regions.models import Role

from .conftest import ANDING, PROVINCE, make_staff

pytestmark = pytest.mark.django_db

# Work permissions a careless installer might give an administrator by hand.
WORK_PERMISSIONS = ["view_declaration", "view_monitoredhousehold", "view_warning", "view_message"]


def administrator(regions, role, code=PROVINCE):
    user = make_staff(f"{role}-{code}", regions[code], role, reveal=True)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=WORK_PERMISSIONS))
    return user


def admin_models(client) -> set[str]:
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {
        f"{app['app_label']}.{m['object_name']}"
        for app in response.context["app_list"]
        for m in app["models"]
    }


CASE_ADMIN_PAGES = [
    "admin:declarations_declaration_changelist",
    "admin:households_monitoredhousehold_changelist",
    "admin:screening_warning_changelist",
    "admin:notifications_message_changelist",
]


def assert_no_case_data(client, case):
    for name in CASE_ADMIN_PAGES:
        assert client.get(reverse(name)).status_code == 403, name
    assert client.get(reverse("staff:detail", args=[case.tracking_number])).status_code == 404
    response = client.post(reverse("staff:reveal", args=[case.tracking_number, "phone"]))
    assert response.status_code == 404


def test_the_system_administrator_keeps_accounts_and_settings_and_nothing_else(
    client, regions, case
):
    client.force_login(administrator(regions, Role.SYSTEM_ADMIN))
    assert admin_models(client) == {
        "accounts.User",
        "regions.Region",
        "regions.StaffMembership",
        "deadlines.CalendarYear",
        "deadlines.CalendarDay",
        "deadlines.DeadlinePolicy",
        # The procedure's documents and notice periods per step: a setting, no case data.
        "declarations.StepPolicy",
    }
    assert_no_case_data(client, case)
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 403


def test_a_county_system_administrator_has_no_provincial_settings(client, regions):
    client.force_login(administrator(regions, Role.SYSTEM_ADMIN, ANDING))
    assert admin_models(client) == {"accounts.User", "regions.Region", "regions.StaffMembership"}
    assert client.get(reverse("admin:deadlines_deadlinepolicy_changelist")).status_code == 403
    assert client.get(reverse("admin:regions_region_add")).status_code == 403


def test_the_security_administrator_sees_nothing_of_accounts_cases_or_the_log(
    client, regions, case
):
    client.force_login(administrator(regions, Role.SECURITY_ADMIN))
    # The staff's second-factor devices (to withdraw a lost one), nothing else.
    assert admin_models(client) == {"otp_static.StaticDevice", "otp_totp.TOTPDevice"}
    assert_no_case_data(client, case)
    for name in (
        "admin:accounts_user_changelist",
        "admin:regions_staffmembership_changelist",
        "admin:audit_auditentry_changelist",
    ):
        assert client.get(reverse(name)).status_code == 403, name


def test_the_audit_administrator_reads_searches_and_exports_the_log_and_nothing_else(
    client, regions, case, grid_wogou
):
    auditor = administrator(regions, Role.AUDIT_ADMIN)
    record(Action.REVEAL, actor=grid_wogou, target=case, field="phone")
    record(Action.SIGN_IN, actor=auditor)
    client.force_login(auditor)
    assert admin_models(client) == {"audit.AuditEntry"}
    assert_no_case_data(client, case)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403

    listing = reverse("admin:audit_auditentry_changelist")
    found = client.get(listing, {"q": "grid-wogou", "action__exact": Action.REVEAL})
    assert [e.target for e in found.context["cl"].queryset] == [
        f"declarations.declaration:{case.pk}"
    ]
    assert 'name="at__gte"' in found.content.decode()  # the date range, beside the filters
    today = timezone.localdate(found.context["cl"].queryset.get().at)
    in_range = client.get(listing, {"at__gte": today.isoformat(), "q": "grid-wogou"})
    assert in_range.context["cl"].result_count >= 1
    before = client.get(listing, {"at__lt": today.isoformat(), "q": "grid-wogou"})
    assert before.context["cl"].result_count == 0

    export = client.get(
        reverse("admin:audit_auditentry_export"),
        {"q": "grid-wogou", "action__exact": Action.REVEAL},
    )
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.values)[2:]  # under the title and the period
    assert len(rows) == 2 and rows[1][1] == "grid-wogou"
    exported = AuditEntry.objects.get(action=Action.EXPORT)
    assert exported.actor == auditor and exported.detail["rows"] == 1
    # Nobody changes or deletes a row, the auditor included.
    entry = AuditEntry.objects.filter(action=Action.REVEAL).get()
    delete = client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    assert delete.status_code == 403


def test_work_staff_see_no_audit_log_and_manage_no_accounts(client, regions):
    clerk = make_staff("clerk", regions[ANDING], Role.COUNTY)
    clerk.is_staff = True
    clerk.save()
    client.force_login(clerk)
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:regions_staffmembership_add")).status_code == 403


def test_each_request_of_the_superuser_is_audited_and_alerted(client, settings, caplog, regions):
    settings.ADMINS = [("On duty", "duty@example.org")]
    root = User.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(root)
    with caplog.at_level(logging.WARNING, logger="apps.audit.alerts"):
        client.get(reverse("admin:index"))
        client.get(reverse("admin:accounts_user_changelist"))
    rows = AuditEntry.objects.filter(action=Action.SUPERUSER).order_by("pk")
    assert [(r.actor, r.target, r.result) for r in rows] == [
        (root, reverse("admin:index"), Result.OK),
        (root, reverse("admin:accounts_user_changelist"), Result.OK),
    ]
    alerts = [r for r in caplog.records if r.name == "apps.audit.alerts"]
    assert len(alerts) == 2 and all(r.levelno == logging.WARNING for r in alerts)
    assert len(mail.outbox) == 2 and mail.outbox[0].to == ["duty@example.org"]
