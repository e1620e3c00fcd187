import pytest
from django.urls import reverse

from apps.declarations.models import Declaration
from apps.notifications.models import Message

from .conftest import WOGOU, form_data

pytestmark = pytest.mark.django_db


def test_village_form_happy_path(client, regions, grid_wogou):
    village = regions[WOGOU]
    url = reverse("public:village_form", kwargs={"slug": village.public_slug})
    assert client.get(url).status_code == 200
    response = client.post(url, form_data())
    assert response.status_code == 302
    receipt = client.get(response["Location"])
    declaration = Declaration.objects.get()
    assert declaration.tracking_number_display in receipt.content.decode()
    assert Message.objects.count() == 2
