"""The home visit in steps that fit a phone: prefilled members, the date today, "add
a member", each step saved on the server (Post/Redirect/Get), the idempotency key, the
location as proof of the visit, the photo without EXIF, and resumable uploads."""

import io

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.declarations import services as s
from apps.declarations.models import (
    ChunkedUpload,
    DocumentKind,
    FormSubmission,
    HouseholdVisit,
    State,
    UploadChunk,
    VisitDraft,
)
from apps.households.services import RosterMemberFacts, roster_household_add

from .conftest import ID_A, ID_B
from .review_steps import MONEY_KEYS, member_post, step_url, visit_by_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(case, grid_wogou):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    return case


@pytest.fixture
def worker(client, grid_wogou):
    client.force_login(grid_wogou)
    return client


def draft_of(case, user) -> dict:
    return VisitDraft.objects.get(declaration=case, author=user).values


def test_the_form_opens_at_its_first_step_with_today_as_the_date(worker, accepted):
    response = worker.get(reverse("staff:visit", args=[accepted.tracking_number]))
    assert response.status_code == 302
    assert response["Location"] == step_url(accepted, "date")
    page = worker.get(step_url(accepted, "date"))
    assert page.status_code == 200
    assert page.context["form"]["visit_date"].value() == timezone.localdate()
    assert "geolocation=(self)" in page["Permissions-Policy"]
    assert 'name="form_key"' in page.content.decode()


def test_members_are_prefilled_from_the_declaration_without_showing_the_id(worker, accepted):
    page = worker.get(step_url(accepted, "members"))
    formset = page.context["members"]
    assert [(f["name"].value(), f["ref"].value()) for f in formset] == [(accepted.name, "a")]
    html = page.content.decode()
    assert ID_A not in html  # the number on record is masked, not put in a field
    assert formset.forms[0].on_record and formset.forms[0].on_record != ID_A
    # No empty blocks: one member, and a button to add another.
    assert 'name="m-1-name"' not in html
    assert 'name="add"' in html


def test_members_are_prefilled_from_the_roster(worker, accepted, regions):
    roster = roster_household_add(
        village=accepted.village,
        number="0301",
        address_group="3组",
        members=[
            RosterMemberFacts(
                name="魏家常", relation="户主", id_number=ID_A, labour_capacity="partial"
            ),
            RosterMemberFacts(name="魏强", relation="儿子", id_number=ID_B, labour_capacity="full"),
        ],
    )
    accepted.roster_household = roster
    accepted.save(update_fields=["roster_household"])
    formset = worker.get(step_url(accepted, "members")).context["members"]
    assert [(f["name"].value(), f["labour_capacity"].value()) for f in formset] == [
        ("魏家常", "partial"),
        ("魏强", "full"),
    ]


def test_each_step_is_saved_on_its_own_and_redirects(worker, accepted, grid_wogou):
    day = (
        timezone.localdate().replace(day=1)
        if timezone.localdate().day > 1
        else timezone.localdate()
    )
    response = worker.post(step_url(accepted, "date"), {"visit_date": day.isoformat()})
    assert response.status_code == 302 and response["Location"] == step_url(accepted, "members")
    assert draft_of(accepted, grid_wogou)["visit_date"] == day.isoformat()
    # Coming back later: the form opens where the worker stopped.
    assert worker.get(reverse("staff:visit", args=[accepted.tracking_number]))["Location"] == (
        step_url(accepted, "members")
    )
    members = [{"name": "魏家常", "relation": "户主", "labour_capacity": "partial"}]
    response = worker.post(step_url(accepted, "members"), member_post(members))
    assert response["Location"] == step_url(accepted, "money")
    assert [m["name"] for m in draft_of(accepted, grid_wogou)["members"]] == ["魏家常"]
    # The saved members come back on the page, and nothing is recorded yet.
    page = worker.get(step_url(accepted, "members"))
    assert [f["name"].value() for f in page.context["members"]] == ["魏家常"]
    assert not accepted.visits.exists()


def test_add_a_member_keeps_what_was_typed_and_adds_one_block(worker, accepted, grid_wogou):
    members = [{"name": "魏家常", "relation": "户主", "labour_capacity": "partial"}]
    response = worker.post(step_url(accepted, "members"), member_post(members) | {"add": "1"})
    assert response.status_code == 302 and response["Location"] == step_url(accepted, "members")
    page = worker.get(step_url(accepted, "members"))
    formset = page.context["members"]
    assert [f["name"].value() for f in formset] == ["魏家常", None]
    # The new block left empty is no member.
    data = member_post(members) | {"m-TOTAL_FORMS": "2", "m-1-name": "", "m-1-relation": ""}
    data |= {"m-1-labour_capacity": "", "m-1-schooling": "none"}
    response = worker.post(step_url(accepted, "members"), data)
    assert response.status_code == 302, response.context["members"].non_form_errors()
    assert len(draft_of(accepted, grid_wogou)["members"]) == 1


def test_bad_input_is_refused_at_its_field_and_nothing_of_the_step_is_saved(
    worker, accepted, grid_wogou
):
    worker.post(step_url(accepted, "date"), {"visit_date": timezone.localdate().isoformat()})
    before = draft_of(accepted, grid_wogou)
    response = worker.post(step_url(accepted, "money"), {k: "-5" for k in MONEY_KEYS})
    assert response.status_code == 400
    assert response.context["form"].errors["income_wages"]
    assert draft_of(accepted, grid_wogou) == before
    response = worker.post(
        step_url(accepted, "members"), member_post([{"name": "", "relation": "户主"}])
    )
    assert response.status_code == 400
    errors = response.context["members"].forms[0].errors
    assert "name" in errors and "labour_capacity" in errors
    assert draft_of(accepted, grid_wogou) == before
    # A date before the declaration, at the date's field, in Chinese.
    early = accepted.submitted_at.date().replace(year=accepted.submitted_at.year - 1)
    response = worker.post(step_url(accepted, "date"), {"visit_date": early.isoformat()})
    assert response.status_code == 400
    assert response.context["form"].errors["visit_date"] == ["核查日期不能早于申报日期。"]


def test_the_last_step_records_the_visit_through_the_service(worker, accepted, grid_wogou):
    response = visit_by_steps(worker, accepted)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:detail", args=[accepted.tracking_number])
    accepted.refresh_from_db()
    assert accepted.state == State.VERIFIED  # the service's rules and transition
    visit = accepted.visits.prefetch_related("members").get()
    assert [m.name for m in visit.members.all()] == ["魏家常", "李梅"]
    assert visit.income_farming == 12000 and visit.expense_medical == 9000
    assert visit.location == ""
    assert not VisitDraft.objects.filter(declaration=accepted).exists()
    assert accepted.transitions.filter(to_state=State.VERIFIED).exists()


def test_the_applicant_prefilled_keeps_the_id_on_record(worker, accepted):
    members = [
        {"name": accepted.name, "relation": "户主", "labour_capacity": "partial", "ref": "a"}
    ]
    assert visit_by_steps(worker, accepted, members=members).status_code == 302
    member = accepted.visits.get().members.get()
    assert member.id_number == ID_A


def test_a_ref_cannot_reach_another_households_member(worker, accepted):
    members = [{"name": "某人", "relation": "户主", "labour_capacity": "partial", "ref": "r999999"}]
    assert visit_by_steps(worker, accepted, members=members).status_code == 302
    assert accepted.visits.get().members.get().id_number == ""


def test_the_last_step_wants_the_earlier_ones(worker, accepted):
    response = worker.post(
        step_url(accepted, "findings"), {"risk_types": ["illness"], "findings": "有病。"}
    )
    assert response.status_code == 400
    assert not accepted.visits.exists()


def test_a_replayed_form_changes_nothing_and_gets_the_same_answer(worker, accepted, grid_wogou):
    visit_by_steps(worker, accepted, visit_date=None)
    VisitDraft.objects.all().delete()
    HouseholdVisit.objects.all().delete()
    # Back to where it was, then one form sent twice with one key.
    accepted.refresh_from_db()
    key = "5f0c8a3e2b7d4c1e9a6b0d2f4e8c1a37"
    date_post = {"visit_date": timezone.localdate().isoformat(), "form_key": key}
    first = worker.post(step_url(accepted, "date"), date_post)
    draft = VisitDraft.objects.get(declaration=accepted)
    saved_at = draft.updated_at
    again = worker.post(step_url(accepted, "date"), date_post | {"visit_date": "2000-01-01"})
    assert (first.status_code, again.status_code) == (302, 302)
    assert again["Location"] == first["Location"]
    draft.refresh_from_db()
    assert draft.updated_at == saved_at and draft.values["visit_date"] == date_post["visit_date"]
    assert FormSubmission.objects.filter(key=key).count() == 1


def test_the_visit_recorded_twice_with_one_key_is_one_visit(worker, accepted):
    key = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
    first = visit_by_steps(worker, accepted, form_key=key)
    again = worker.post(
        step_url(accepted, "findings"),
        {"risk_types": ["illness"], "findings": "x", "form_key": key},
    )
    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"]
    assert accepted.visits.count() == 1


def test_a_refused_form_keeps_no_key(worker, accepted):
    key = "11111111222233334444555555555555"
    response = worker.post(step_url(accepted, "date"), {"visit_date": "", "form_key": key})
    assert response.status_code == 400
    assert not FormSubmission.objects.filter(key=key).exists()
    ok = worker.post(
        step_url(accepted, "date"),
        {"visit_date": timezone.localdate().isoformat(), "form_key": key},
    )
    assert ok.status_code == 302


# --- visit proof ------------------------------------------------------------------------

LOCATION = "35.581234,104.612345,18"


def test_the_location_is_stored_encrypted_and_only_with_consent(
    worker, accepted, township_lujiagou, client
):
    worker.post(
        step_url(accepted, "date"),
        {
            "visit_date": timezone.localdate().isoformat(),
            "share_location": "on",
            "location": LOCATION,
        },
    )
    for step, data in [
        (
            "members",
            member_post([{"name": "魏家常", "relation": "户主", "labour_capacity": "partial"}]),
        ),
        ("money", {k: "0" for k in MONEY_KEYS}),
        ("findings", {"risk_types": ["illness"], "findings": "有病。"}),
    ]:
        assert worker.post(step_url(accepted, step), data).status_code == 302
    visit = accepted.visits.get()
    assert visit.location == LOCATION
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select location from declarations_householdvisit where id = %s", [visit.pk])
        stored = cursor.fetchone()[0]
    assert stored and "35.58" not in stored  # encrypted at rest
    # The grid worker's page says a location was recorded; the township sees it.
    detail = reverse("staff:detail", args=[accepted.tracking_number])
    mine = worker.get(detail).content.decode()
    assert "已记录位置" in mine and "35.581234" not in mine
    client.force_login(township_lujiagou)
    assert "35.581234, 104.612345" in client.get(detail).content.decode()


def test_a_location_without_consent_is_dropped(worker, accepted, grid_wogou):
    worker.post(
        step_url(accepted, "date"),
        {"visit_date": timezone.localdate().isoformat(), "location": LOCATION},
    )
    assert draft_of(accepted, grid_wogou)["location"] == ""


def test_a_visit_without_location_says_so(worker, accepted):
    visit_by_steps(worker, accepted)
    page = worker.get(reverse("staff:detail", args=[accepted.tracking_number]))
    assert "未记录位置" in page.content.decode()


# --- the photo and resumable uploads ----------------------------------------------------


def gps_jpeg(size=(3000, 2000)) -> bytes:
    image = Image.new("RGB", size, (120, 160, 200))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (35.0, 34.0, 52.0), 3: "E", 4: (104.0, 36.0, 44.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload_in_chunks(client, data: bytes, chunk=64 * 1024) -> str:
    created = client.post(reverse("staff:upload_create"), HTTP_UPLOAD_LENGTH=str(len(data)))
    assert created.status_code == 201
    upload_id = created.json()["id"]
    url = reverse("staff:upload_chunk", args=[upload_id])
    for offset in range(0, len(data), chunk):
        r = client.patch(
            url,
            data[offset : offset + chunk],
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET=str(offset),
        )
        assert r.status_code == 200
    return upload_id


def test_a_chunked_upload_resumes_from_the_servers_offset(worker):
    data = gps_jpeg((400, 300)) * 1  # a few KB
    data = data + bytes(200_000 - len(data)) if len(data) < 200_000 else data
    created = worker.post(reverse("staff:upload_create"), HTTP_UPLOAD_LENGTH=str(len(data)))
    url = reverse("staff:upload_chunk", args=[created.json()["id"]])
    chunk = 64 * 1024
    assert (
        worker.patch(
            url,
            data[:chunk],
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET="0",
        ).status_code
        == 200
    )
    # The answer was lost; the phone sends the same piece again: refused with where to go on.
    again = worker.patch(
        url, data[:chunk], content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0"
    )
    assert again.status_code == 409 and again.json()["offset"] == chunk
    assert worker.head(url)["Upload-Offset"] == str(chunk)
    offset = chunk
    while offset < len(data):
        r = worker.patch(
            url,
            data[offset : offset + chunk],
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET=str(offset),
        )
        offset = r.json()["offset"]
    upload = ChunkedUpload.objects.get()
    assert upload.complete
    received = b"".join(c.file.open("rb").read() for c in UploadChunk.objects.order_by("offset"))
    assert received == data  # every byte once, in order


def test_someone_elses_upload_is_not_found(worker, township_lujiagou, client):
    created = worker.post(reverse("staff:upload_create"), HTTP_UPLOAD_LENGTH="10")
    client.force_login(township_lujiagou)
    url = reverse("staff:upload_chunk", args=[created.json()["id"]])
    assert client.head(url).status_code == 404


def test_an_upload_too_large_is_refused(worker, settings):
    response = worker.post(
        reverse("staff:upload_create"), HTTP_UPLOAD_LENGTH=str(settings.UPLOAD_MAX_BYTES + 1)
    )
    assert response.status_code == 400
    assert not ChunkedUpload.objects.exists()


def test_the_visit_photo_is_stored_without_exif(
    worker, accepted, django_capture_on_commit_callbacks
):
    upload_id = upload_in_chunks(worker, gps_jpeg())
    with django_capture_on_commit_callbacks(execute=True):
        response = visit_by_steps(worker, accepted, photo_upload=upload_id)
    assert response.status_code == 302
    document = accepted.documents.get(kind=DocumentKind.VISIT_PHOTO)
    with document.file.open("rb") as f:
        stored = f.read()
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif()
    assert b"Exif" not in stored[:200]
    # The pieces are gone once the photo is kept.
    assert not ChunkedUpload.objects.exists()


def test_an_unfinished_upload_is_refused_at_the_photo(worker, accepted):
    created = worker.post(reverse("staff:upload_create"), HTTP_UPLOAD_LENGTH="1000")
    response = visit_by_steps(worker, accepted, photo_upload=created.json()["id"])
    assert response.status_code == 400
    assert response.context["form"].errors["photo"]
    assert not accepted.visits.exists()


def test_the_service_worker_is_served_for_the_staff_pages(client):
    response = client.get(reverse("staff:service_worker"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"addEventListener" in b"".join(
        response.streaming_content if response.streaming else [response.content]
    )


def test_an_outsider_cannot_open_the_visit_form(client, outsider, accepted):
    client.force_login(outsider)
    assert client.get(step_url(accepted, "date")).status_code == 404
    assert client.post(step_url(accepted, "date"), {"visit_date": "2026-01-01"}).status_code == 404
    assert not VisitDraft.objects.exists()


def test_the_sweep_forgets_old_keys_and_unused_uploads(worker, grid_wogou):
    import datetime as dt

    import time_machine

    from apps.declarations.resumable import sweep

    with time_machine.travel(timezone.now() - dt.timedelta(days=31)):
        FormSubmission.objects.create(
            key="22222222333344445555666666666666", user=grid_wogou, path="/"
        )
        old_upload = upload_in_chunks(worker, b"x" * 1000)
    FormSubmission.objects.create(key="33333333444455556666777777777777", user=grid_wogou, path="/")
    recent_upload = upload_in_chunks(worker, b"y" * 1000)
    files = [c.file.name for c in UploadChunk.objects.filter(upload_id=old_upload)]
    assert sweep() == {"keys": 1, "uploads": 1}
    assert FormSubmission.objects.count() == 1
    assert [str(u.id) for u in ChunkedUpload.objects.all()] == [recent_upload]
    from django.core.files.storage import default_storage

    assert files and not any(default_storage.exists(name) for name in files)
