"""Every event worth auditing writes exactly one row of its action: who, from where, on
what, with which result (refusals too).

One table: each `@event` below does one thing as a user would and returns the row it
expects (`Row`). To cover a new event, add a function; nothing else changes. The
fixtures named in `@event(...)` are made before the rows are counted, e.g.:

    @event("grid_wogou")
    def lockout(w):
        for _ in range(5):
            w.client.post(reverse("login"), {"username": "grid-wogou", "password": "x"})
        return Row(Action.LOCKOUT, None, "", Result.DENIED, actor_name="grid-wogou")
"""

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Max
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import Action, AuditEntry, Result
from apps.declarations.models import DocumentKind, VisitDocument
from apps.households.models import HouseholdDocument
from apps.regions.models import Role, StaffMembership
from apps.screening.api import department_token_issue
from apps.screening.models import Department

from .conftest import ANDING, LUJIAGOU, PROVINCE, WOGOU, make_staff
from .households_steps import new_id
from .test_roster_import import FAMILIES, csv_bytes
from .test_warning_pages import medical

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"
IP = "127.0.0.1"  # the test client's address


@dataclass
class Row:
    action: str
    actor: object  # the user, or None
    target: str | object  # a model instance or "app.model:pk"
    result: str = Result.OK
    actor_name: str = ""  # when there is no user


class World:
    """The test's client and fixtures, fetched when an event asks for them."""

    def __init__(self, request, client):
        self._request = request
        self.client = client

    def __getattr__(self, name):
        return self._request.getfixturevalue(name)

    def login(self, user):
        self.client.force_login(user)
        return user


EVENTS = {}


def event(*fixtures):
    """An event of the table; `fixtures` are made before the rows are counted."""

    def register(fn):
        EVENTS[fn.__name__] = (fn, ("regions", *fixtures))
        return fn

    return register


def staff(name, region_code, role, *perms, regions):
    user = make_staff(name, regions[region_code], role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    return user


def identity_document(w, kind=DocumentKind.ID_CARD):
    return VisitDocument.objects.create(
        declaration=w.case,
        kind=kind,
        file=ContentFile(b"\xff\xd8\xff\xe0 a photo", name="id.jpg"),
        content_type="image/jpeg",
        sha256="0" * 64,
        uploaded_by=w.grid_wogou,
    )


# --- signing in and out ----------------------------------------------------------------


@event("grid_wogou")
def sign_in(w):
    user = w.grid_wogou
    w.client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    return Row(Action.SIGN_IN, user, user)


@event("grid_wogou")
def failed_sign_in(w):
    w.client.post(reverse("login"), {"username": "grid-wogou", "password": "wrong"})
    return Row(Action.SIGN_IN_FAILED, None, "", Result.FAILED, actor_name="grid-wogou")


@event("grid_wogou")
def sign_out(w):
    user = w.login(w.grid_wogou)
    w.client.post(reverse("logout"))
    return Row(Action.SIGN_OUT, user, user)


@event("grid_wogou")
def lockout(w):
    for _ in range(w.settings.AXES_FAILURE_LIMIT):
        w.client.post(reverse("login"), {"username": "grid-wogou", "password": "wrong"})
    return Row(Action.LOCKOUT, None, "username:grid-wogou", Result.DENIED, actor_name="grid-wogou")


@event("grid_wogou")
def unlock(w):
    for _ in range(w.settings.AXES_FAILURE_LIMIT):
        w.client.post(reverse("login"), {"username": "grid-wogou", "password": "wrong"})
    admin = w.login(make_staff("secadmin", w.regions[PROVINCE], Role.SECURITY_ADMIN))
    w.client.post(reverse("security:locks"), {"kind": "username", "value": "grid-wogou"})
    return Row(Action.UNLOCK, admin, "username:grid-wogou")


@event("grid_wogou")
def second_factor_backup_codes(w):
    user = w.login(w.grid_wogou)
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    session = w.client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    w.client.post(reverse("accounts:backup_codes"))
    return Row(Action.SECOND_FACTOR, user, user)


@event("grid_wogou")
def password_change(w):
    user = w.login(w.grid_wogou)
    new = "Wogou-Cun-2026!"
    w.client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    return Row(Action.PASSWORD_CHANGE, user, user)


# --- pages showing a person's data -----------------------------------------------------


@event("grid_wogou", "case")
def view_declaration(w):
    user = w.login(w.grid_wogou)
    assert w.client.get(reverse("staff:detail", args=[w.case.tracking_number])).status_code == 200
    return Row(Action.VIEW, user, w.case)


@event("case")
def view_declaration_in_the_admin(w):
    clerk = w.login(staff("clerk", ANDING, Role.COUNTY, "view_declaration", regions=w.regions))
    url = reverse("admin:declarations_declaration_change", args=[w.case.pk])
    assert w.client.get(url).status_code == 200
    return Row(Action.VIEW, clerk, w.case)


@event("grid_wogou", "household")
def view_household(w):
    user = w.login(w.grid_wogou)
    url = reverse("households:detail", args=[w.household.pk])
    assert w.client.get(url).status_code == 200
    return Row(Action.VIEW, user, w.household)


@event("grid_wogou")
def view_warning(w):
    warning = medical(w.regions)
    user = w.login(w.grid_wogou)
    assert w.client.get(reverse("screening:warning", args=[warning.pk])).status_code == 200
    return Row(Action.VIEW, user, warning)


# --- reveals and downloads -------------------------------------------------------------


@event("grid_wogou", "case")
def reveal(w):
    user = w.login(w.grid_wogou)
    w.client.post(reverse("staff:reveal", args=[w.case.tracking_number, "phone"]))
    return Row(Action.REVEAL, user, w.case)


@event("township_lujiagou", "case")
def reveal_without_permission(w):
    user = w.login(w.township_lujiagou)
    response = w.client.post(reverse("staff:reveal", args=[w.case.tracking_number, "phone"]))
    assert response.status_code == 403
    return Row(Action.REVEAL, user, w.case, Result.DENIED)


@event("media", "grid_wogou", "case")
def id_card_download(w):
    doc = identity_document(w)
    user = w.login(w.grid_wogou)
    assert w.client.get(reverse("staff:document", args=[doc.pk])).status_code == 200
    return Row(Action.DOWNLOAD, user, doc)


@event("media", "township_lujiagou", "case")
def id_card_download_without_permission(w):
    doc = identity_document(w)
    user = w.login(w.township_lujiagou)
    assert w.client.get(reverse("staff:document", args=[doc.pk])).status_code == 403
    return Row(Action.DOWNLOAD, user, doc, Result.DENIED)


@event("media", "grid_wogou", "household")
def household_document_download(w):
    doc = HouseholdDocument.objects.create(
        household=w.household,
        file=ContentFile(b"\xff\xd8\xff\xe0 a receipt", name="r.jpg"),
        content_type="image/jpeg",
        original_name="r.jpg",
        size=10,
        uploaded_by=w.grid_wogou,
    )
    user = w.login(w.grid_wogou)
    assert w.client.get(reverse("households:document", args=[doc.pk])).status_code == 200
    return Row(Action.DOWNLOAD, user, doc)


# --- exports, imports, the API ----------------------------------------------------------


@event("province_user")
def supervision_export(w):
    user = w.login(w.province_user)
    response = w.client.get(reverse("supervision:export", args=[PROVINCE]))
    assert response.status_code == 200
    return Row(Action.EXPORT, user, w.regions[PROVINCE])


@event("media", "township_lujiagou")
def roster_import(w):
    user = w.login(w.township_lujiagou)
    response = w.client.post(
        reverse("roster:upload"),
        {
            "region": w.regions[LUJIAGOU].pk,
            "file": SimpleUploadedFile("roster.csv", csv_bytes(FAMILIES)),
        },
    )
    assert response.status_code == 302
    from apps.households.models import RosterImport

    return Row(Action.IMPORT, user, RosterImport.objects.get())


def _api_post(w, token):
    body = {
        "batch_id": "b-1",
        "records": [
            {
                "id_number": new_id(9),
                "name": "张九",
                "date": "2026-11-20",
                "total_cost": 30000,
                "out_of_pocket": 15000,
            }
        ],
    }
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return w.client.post(
        reverse("feeds_api:submit", args=["medical"]),
        json.dumps(body),
        content_type="application/json",
        **headers,
    )


@pytest.fixture
def yibao(regions):
    return Department.objects.create(
        code="yibao", name="医保局", region=regions[ANDING], kinds=["medical"]
    )


@event("yibao")
def api_call(w):
    token = department_token_issue(department=w.yibao)
    assert _api_post(w, token).status_code == 202
    return Row(Action.API, None, w.yibao, actor_name="department:yibao")


@event("yibao")
def api_import(w):
    token = department_token_issue(department=w.yibao)
    _api_post(w, token)
    from apps.screening.models import FeedBatch

    return Row(Action.IMPORT, None, FeedBatch.objects.get(), actor_name="department:yibao")


@event("yibao")
def api_call_without_a_token(w):
    assert _api_post(w, "not-a-token").status_code == 401
    return Row(Action.API, None, reverse("feeds_api:submit", args=["medical"]), Result.DENIED)


# --- administration ---------------------------------------------------------------------


@pytest.fixture
def sysadmin(regions):
    return staff("anding-sysadmin", ANDING, Role.SYSTEM_ADMIN, regions=regions)


def account_change(w, target, **fields):
    """Save an account's admin page with its one membership as it is, and `fields`."""
    membership = target.memberships.get()
    return w.client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        {
            "username": target.username,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "08:00:00",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "1",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": membership.pk,
            "memberships-0-user": target.pk,
            "memberships-0-region": membership.region_id,
            "memberships-0-role": membership.role,
            "memberships-0-is_active": "on",
            **fields,
        },
    )


@event("sysadmin", "township_lujiagou")
def admin_change(w):
    user = w.login(w.sysadmin)
    target = w.township_lujiagou
    response = account_change(w, target, full_name="鲁家沟镇干部")
    assert response.status_code == 302
    return Row(Action.ADMIN_CHANGE, user, target)


@event("sysadmin", "township_lujiagou")
def role_granted(w):
    user = w.login(w.sysadmin)
    target = w.township_lujiagou
    response = w.client.post(
        reverse("admin:regions_staffmembership_add"),
        {"user": target.pk, "region": w.regions[WOGOU].pk, "role": Role.GRID, "is_active": "on"},
    )
    assert response.status_code == 302
    return Row(Action.ROLE_CHANGE, user, StaffMembership.objects.get(user=target, role=Role.GRID))


@event("sysadmin", "township_lujiagou")
def role_grant_refused(w):
    """A county sysadmin trying to make a county staff member a province member."""
    user = w.login(w.sysadmin)
    response = w.client.post(
        reverse("admin:regions_staffmembership_add"),
        {
            "user": w.township_lujiagou.pk,
            "region": w.regions[PROVINCE].pk,
            "role": Role.PROVINCE,
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    return Row(Action.ROLE_CHANGE, user, "regions.staffmembership", Result.DENIED)


@event()
def admin_change_refused(w):
    """A county clerk given the add permission by hand, forging the add form."""
    clerk = w.login(staff("clerk", ANDING, Role.COUNTY, "add_staffmembership", regions=w.regions))
    url = reverse("admin:regions_staffmembership_add")
    data = {"user": clerk.pk, "region": w.regions[PROVINCE].pk, "role": Role.PROVINCE}
    assert w.client.post(url, data).status_code == 403
    return Row(Action.ADMIN_CHANGE, clerk, url, Result.DENIED)


@event("sysadmin", "township_lujiagou")
def permission_granted(w):
    """The reveal permission, given on the account's page."""
    user = w.login(w.sysadmin)
    target = w.township_lujiagou
    reveal = Permission.objects.get(codename="reveal_personal_data")
    response = account_change(w, target, user_permissions=[reveal.pk])
    assert response.status_code == 302
    return Row(Action.ROLE_CHANGE, user, target)


@event("sysadmin", "township_lujiagou")
def role_deactivated(w):
    user = w.login(w.sysadmin)
    membership = w.township_lujiagou.memberships.get()
    response = w.client.post(
        reverse("admin:regions_staffmembership_change", args=[membership.pk]),
        {"user": membership.user_id, "region": membership.region_id, "role": membership.role},
    )
    assert response.status_code == 302
    return Row(Action.ROLE_CHANGE, user, membership)


@event()
def superuser_request(w):
    from apps.accounts.models import User

    root = User.objects.create_superuser("root", password=PASSWORD)
    w.login(root)
    w.client.get(reverse("admin:index"))
    return Row(Action.SUPERUSER, root, reverse("admin:index"))


@event()
def audit_log_export(w):
    auditor = w.login(staff("auditor", PROVINCE, Role.AUDIT_ADMIN, regions=w.regions))
    assert w.client.get(reverse("admin:audit_auditentry_export")).status_code == 200
    return Row(Action.EXPORT, auditor, "audit.auditentry")


@event("sysadmin")
def audit_log_export_refused(w):
    sysadmin = w.login(w.sysadmin)
    assert w.client.get(reverse("admin:audit_auditentry_export")).status_code == 403
    return Row(Action.EXPORT, sysadmin, "audit.auditentry", Result.DENIED)


# --- the test -----------------------------------------------------------------------------


def _target(value) -> str:
    if isinstance(value, str):
        return value
    return f"{value._meta.label_lower}:{value.pk}"


@pytest.mark.parametrize("name", list(EVENTS))
def test_each_event_writes_one_row_of_its_action(name, request, client):
    do, fixtures = EVENTS[name]
    for fixture in fixtures:
        request.getfixturevalue(fixture)
    before = AuditEntry.objects.aggregate(last=Max("pk"))["last"] or 0
    expected = do(World(request, client))
    rows = list(AuditEntry.objects.filter(pk__gt=before, action=expected.action))
    assert len(rows) == 1, rows
    row = rows[0]
    assert row.actor == expected.actor
    assert row.actor_name == (
        expected.actor.get_username() if expected.actor else expected.actor_name
    )
    assert row.target == _target(expected.target)
    assert row.result == expected.result
    assert row.ip == IP
