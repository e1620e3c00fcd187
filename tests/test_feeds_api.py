"""The departments' API: bearer tokens per department, JSON batches idempotent by their
id, each department seeing its own batches only."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.core.identity import id_hash
from apps.screening.api import department_token_issue, department_token_revoke
from apps.screening.models import BatchStatus, Department, FeedBatch, Warning

from .conftest import ANDING, TONGWEI
from .households_steps import new_id
from .test_feeds import day, household

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def yibao(regions):
    return Department.objects.create(
        code="anding-yibao", name="安定区医保局", region=regions[ANDING], kinds=["medical"]
    )


@pytest.fixture
def token(yibao):
    return department_token_issue(department=yibao)


def submit_url(kind="medical"):
    return reverse("feeds_api:submit", args=[kind])


def post(client, body, token=None, kind="medical", capture=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False)
    if capture is None:
        return client.post(submit_url(kind), data, content_type="application/json", **headers)
    with capture(execute=True):
        return client.post(submit_url(kind), data, content_type="application/json", **headers)


def record(serial, paid=20000, **extra):
    values = {
        "id_number": new_id(serial),
        "name": f"张{serial}",
        "date": day(),
        "total_cost": paid * 2,
        "out_of_pocket": paid,
    }
    values.update(extra)
    return values


def test_a_batch_is_accepted_imported_and_its_status_readable(
    client, token, regions, django_capture_on_commit_callbacks
):
    household(regions, "001", (101,))
    body = {"batch_id": "2026-11-30.1", "records": [record(101), record(555, 100)]}
    response = post(client, body, token, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 202
    assert response["Location"] == reverse("feeds_api:batch", args=["2026-11-30.1"])
    status = client.get(response["Location"], HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert status["status"] == BatchStatus.DONE, status["errors"]
    assert (status["total_records"], status["records_matched"], status["warnings_raised"]) == (
        2,
        1,
        1,
    )
    assert Warning.objects.get().id_hash == id_hash(new_id(101))
    assert "sessionid" not in response.cookies  # no session


def test_the_same_batch_again_is_the_same_batch_and_other_content_is_a_conflict(
    client, token, regions, django_capture_on_commit_callbacks
):
    household(regions, "001", (101,))
    body = {"batch_id": "b-1", "records": [record(101)]}
    assert post(client, body, token, capture=django_capture_on_commit_callbacks).status_code == 202
    again = post(client, body, token, capture=django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["status"] == BatchStatus.DONE
    assert FeedBatch.objects.count() == 1 and Warning.objects.count() == 1
    other = {"batch_id": "b-1", "records": [record(101, 30000)]}
    response = post(client, other, token)
    assert response.status_code == 409
    assert "批次" in response.json()["error"]


@pytest.mark.parametrize("case", ["none", "wrong", "revoked", "inactive", "basic"])
def test_without_a_valid_token_of_an_active_department_nothing_is_accepted(
    client, yibao, token, case
):
    sent = {"none": None, "wrong": token + "x", "basic": None}.get(case, token)
    if case == "revoked":
        department_token_revoke(department=yibao)
    if case == "inactive":
        Department.objects.filter(pk=yibao.pk).update(active=False)
    headers = {"HTTP_AUTHORIZATION": "Basic eWliYW86cHc="} if case == "basic" else {}
    body = {"batch_id": "b", "records": [record(1)]}
    if sent:
        response = post(client, body, sent)
    else:
        response = client.post(submit_url(), json.dumps(body), "application/json", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "令牌" in response.json()["error"]
    assert not FeedBatch.objects.exists()
    status = client.get(reverse("feeds_api:batch", args=["b"]), HTTP_AUTHORIZATION=f"Bearer {sent}")
    assert status.status_code == 401


def test_a_feed_the_department_does_not_deliver_is_forbidden(client, token):
    body = {"batch_id": "b", "records": [{"id_number": new_id(1), "grade": 1, "date": day()}]}
    response = post(client, body, token, kind="disability")
    assert response.status_code == 403
    assert not FeedBatch.objects.exists()


def test_another_departments_batch_is_not_found(client, yibao, token, regions):
    tongwei = Department.objects.create(
        code="tongwei-yibao", name="通渭县医保局", region=regions[TONGWEI], kinds=["medical"]
    )
    FeedBatch.objects.create(department=tongwei, kind="medical", batch_id="theirs", source="api")
    response = client.get(
        reverse("feeds_api:batch", args=["theirs"]), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 404
    # The same batch id is theirs and ours independently.
    body = {"batch_id": "theirs", "records": [record(1)]}
    assert post(client, body, token).status_code == 202


def test_bad_records_fail_the_batch_with_each_record_and_key(
    client, token, regions, django_capture_on_commit_callbacks
):
    household(regions, "001", (101,))
    records = [record(101), record(102, id_number="123"), "not an object", record(103, date="x")]
    body = {"batch_id": "bad", "records": records}
    post(client, body, token, capture=django_capture_on_commit_callbacks)
    status = client.get(
        reverse("feeds_api:batch", args=["bad"]), HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()
    assert status["status"] == BatchStatus.FAILED
    assert [(e["row"], e["field"]) for e in status["errors"]] == [
        (2, "id_number"),
        (3, ""),
        (4, "date"),
    ]
    assert not Warning.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", {"records": [{}]}, {"batch_id": "b", "records": []}],
    ids=["not-json", "a-list", "no-batch-id", "no-records"],
)
def test_a_malformed_batch_is_refused_at_once(client, token, body):
    response = post(client, body, token)
    assert response.status_code == 400
    assert response.json()["error"]
    assert not FeedBatch.objects.exists()


def test_a_batch_over_the_size_limit_is_refused(client, token, settings):
    settings.FEED_API_MAX_BYTES = 200
    body = {"batch_id": "big", "records": [record(i) for i in range(1, 10)]}
    response = post(client, body, token)
    assert response.status_code == 413
    assert not FeedBatch.objects.exists()


def test_the_command_issues_a_token_shown_once(client, yibao, capsys):
    call_command("feed_token", "anding-yibao")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    yibao.refresh_from_db()
    assert token not in yibao.token_digest and len(yibao.token_digest) == 64
    body = {"batch_id": "c", "records": [record(1)]}
    assert post(client, body, token).status_code == 202
    call_command("feed_token", "anding-yibao")  # a new one: the old one stops working
    assert post(client, {"batch_id": "d", "records": [record(1)]}, token).status_code == 401
