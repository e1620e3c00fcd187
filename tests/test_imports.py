"""The import pipeline both imports run on (apps.core.imports): an import is run by the
one worker that claimed it, and one that an unexpected error stops is refused with
nothing of it applied and its file gone — the roster import and the feeds alike."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.imports import Status
from apps.households.models import RosterHousehold, RosterMember
from apps.households.roster import RosterImporter, roster_import_create
from apps.households.tasks import import_roster
from apps.screening.feeds import FeedImporter, feed_upload_create
from apps.screening.models import FeedRecord, Warning
from apps.screening.tasks import import_feed

from .conftest import LUJIAGOU
from .test_feeds import clerk, csv_bytes, department, household, medical  # noqa: F401
from .test_roster_import import FAMILIES, township  # noqa: F401
from .test_roster_import import csv_bytes as roster_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(params=["roster", "feed"])
def pending(request, regions, township, clerk, department):  # noqa: F811
    """An uploaded import whose task has not run yet: (importer, task, import, applied),
    `applied` counting what the import writes."""
    if request.param == "roster":
        upload = SimpleUploadedFile("roster.csv", roster_csv(FAMILIES))
        obj = roster_import_create(actor=township, region=regions[LUJIAGOU], upload=upload)
        return RosterImporter, import_roster, obj, roster_size
    household(regions)
    content = csv_bytes("medical", [medical(101, 26000)])
    obj, _created = feed_upload_create(
        actor=clerk,
        department=department,
        kind="medical",
        upload=SimpleUploadedFile("feed.csv", content),
    )
    return FeedImporter, import_feed, obj, feed_size


def roster_size() -> int:
    return RosterHousehold.objects.count() + RosterMember.objects.count()


def feed_size() -> int:
    return FeedRecord.objects.count() + Warning.objects.count()


def test_an_import_another_worker_claimed_is_not_run_twice(pending):
    importer, _task, obj, applied = pending
    type(obj).objects.filter(pk=obj.pk).update(status=Status.RUNNING)  # another worker's
    assert importer.run(obj.pk) is None
    obj.refresh_from_db()
    assert (obj.status, applied()) == (Status.RUNNING, 0)

    assert importer.run(obj.pk, resume=True).status == Status.DONE  # its task's retry
    done = applied()
    assert done
    assert importer.run(obj.pk) is None  # a second claim of the same import does nothing
    assert importer.run(obj.pk, resume=True) is None
    assert applied() == done


def test_an_import_stopped_by_an_error_is_refused_and_nothing_of_it_is_applied(
    pending, monkeypatch
):
    importer, task, obj, applied = pending
    apply = importer.apply

    def apply_then_fail(self):
        apply(self)  # everything written, then the unexpected error
        raise RuntimeError("the worker lost its footing")

    monkeypatch.setattr(importer, "apply", apply_then_fail)
    name = obj.file.name
    assert default_storage.exists(name)
    task.apply(args=[obj.pk])
    obj.refresh_from_db()
    assert obj.status == Status.FAILED
    assert obj.errors[0]["message"] == "导入因内部错误中止，没有导入任何数据；请重新上传文件。"
    assert applied() == 0
    assert not default_storage.exists(name) and not obj.file
