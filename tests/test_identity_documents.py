"""Attack 4: photos of ID cards and household registers carry a person's identity. They
are shown only to staff who may reveal personal data, in the case's scope; every
download is recorded, and every refusal."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from apps.audit.models import Action, AuditEntry, Result
from apps.declarations.models import DocumentKind, VisitDocument

from .conftest import make_staff

pytestmark = pytest.mark.django_db

PHOTO = b"\xff\xd8\xff\xe0 the photo of an ID card"


def document(case, user, kind):
    return VisitDocument.objects.create(
        declaration=case,
        kind=kind,
        file=ContentFile(PHOTO, name="photo.jpg"),
        content_type="image/jpeg",
        sha256="0" * 64,
        uploaded_by=user,
    )


def downloads():
    return list(
        AuditEntry.objects.filter(action=Action.DOWNLOAD).values_list(
            "actor__username", "target", "result"
        )
    )


@pytest.mark.parametrize("kind", [DocumentKind.ID_CARD, DocumentKind.HOUSEHOLD_REGISTER])
def test_a_township_user_without_the_reveal_permission_cannot_download_an_identity_photo(
    client, media, case, grid_wogou, township_lujiagou, kind
):
    doc = document(case, grid_wogou, kind)
    client.force_login(township_lujiagou)  # sees the case, lacks the permission
    response = client.get(reverse("staff:document", args=[doc.pk]))
    assert response.status_code == 403
    assert PHOTO not in b"".join(getattr(response, "streaming_content", [response.content]))
    assert downloads() == [
        ("township-lujiagou", f"declarations.visitdocument:{doc.pk}", Result.DENIED)
    ]
    page = client.get(reverse("staff:detail", args=[case.tracking_number])).content.decode()
    assert reverse("staff:document", args=[doc.pk]) not in page


def test_with_the_permission_the_photo_downloads_and_the_download_is_recorded(
    client, media, case, grid_wogou
):
    doc = document(case, grid_wogou, DocumentKind.ID_CARD)
    client.force_login(grid_wogou)
    response = client.get(reverse("staff:document", args=[doc.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PHOTO
    assert downloads() == [("grid-wogou", f"declarations.visitdocument:{doc.pk}", Result.OK)]


def test_the_permission_does_not_reach_outside_the_scope(client, media, regions, case, grid_wogou):
    doc = document(case, grid_wogou, DocumentKind.ID_CARD)
    other = make_staff("grid-dongguan", regions["621121100201"], "grid", reveal=True)
    client.force_login(other)
    assert client.get(reverse("staff:document", args=[doc.pk])).status_code == 404
    assert downloads() == [("grid-dongguan", f"declarations.visitdocument:{doc.pk}", Result.DENIED)]


def test_other_documents_stay_open_to_whoever_sees_the_case(
    client, media, case, grid_wogou, township_lujiagou
):
    doc = document(case, grid_wogou, DocumentKind.MINUTES)
    client.force_login(township_lujiagou)
    assert client.get(reverse("staff:document", args=[doc.pk])).status_code == 200
    assert downloads() == [("township-lujiagou", f"declarations.visitdocument:{doc.pk}", Result.OK)]
