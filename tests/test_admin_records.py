"""The admin pages of alerts, data-quality items, reported life events and property
records: read-only, scoped to the user's subtree like every admin page, a look at one
audited."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.audit.models import Action, AuditEntry
from apps.quality.models import QualityItem
from apps.regions.models import Role
from apps.screening.models import FeedDefinition, FeedEffect, PropertyRecord, ReportedLifeEvent
from apps.supervision.models import Alert

from .conftest import ANDING, DONGGUAN, WOGOU, make_staff

pytestmark = pytest.mark.django_db


def records(regions, code: str, name: str) -> dict:
    village = regions[code]
    register = FeedDefinition.objects.filter(effect=FeedEffect.PROPERTY_CHECK).first()
    return {
        "supervision_alert": Alert.objects.create(
            rule=Alert.Rule.QUIET_VILLAGE,
            subject=f"{code}:quiet",
            region_code=code,
            finding=f"{name}所在村8周无申报",
        ),
        "quality_qualityitem": QualityItem.objects.create(
            rule="household_size",
            subject_type="household",
            subject_id=int(code[2:6]),
            village=village,
            region_code=code,
            facts=name,
            details={"name": name},
            due_on=dt.date(2026, 12, 10),
        ),
        "screening_reportedlifeevent": ReportedLifeEvent.objects.create(
            department="公安",
            record_key=f"death-{code}",
            kind="died",
            person_name=name,
            id_hash=f"h-{code}",
            happened_on=dt.date(2026, 11, 1),
            village=village,
            region_code=code,
        ),
        "screening_propertyrecord": PropertyRecord.objects.create(
            department="市场监管",
            record_key=f"business-{code}",
            definition=register,
            person_name=name,
            id_hash=f"h-{code}",
            summary="个体工商户",
            region_code=code,
        ),
    }


def test_each_page_shows_the_user_s_subtree_only_and_nothing_is_changed_there(client, regions):
    ours = records(regions, WOGOU, "本县甲")
    theirs = records(regions, DONGGUAN, "外县乙")
    clerk = make_staff("anding-clerk", regions[ANDING], Role.COUNTY)
    clerk.is_staff = True
    clerk.save()
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_alert",
                "view_qualityitem",
                "view_reportedlifeevent",
                "view_propertyrecord",
            ]
        )
    )
    client.force_login(clerk)
    for page, mine in ours.items():
        listed = client.get(reverse(f"admin:{page}_changelist")).context["cl"].queryset
        assert list(listed) == [mine], page
        own = client.get(reverse(f"admin:{page}_change", args=[mine.pk]))
        assert own.status_code == 200, page
        assert "外县乙" not in own.content.decode()
        assert AuditEntry.objects.filter(
            action=Action.VIEW, actor=clerk, target=f"{page.replace('_', '.', 1)}:{mine.pk}"
        ).exists(), page
        # Another county's row: not there (the admin sends the user back).
        other = theirs[page]
        assert client.get(reverse(f"admin:{page}_change", args=[other.pk])).status_code == 302
        # Read-only: no add, no change, no delete.
        assert client.get(reverse(f"admin:{page}_add")).status_code == 403
        assert client.post(reverse(f"admin:{page}_delete", args=[mine.pk])).status_code == 403
    # A grid worker's account given the same permission sees no alerts (township and up).
    grid = make_staff("wogou-grid", regions[WOGOU], Role.GRID)
    grid.is_staff = True
    grid.save()
    grid.user_permissions.add(Permission.objects.get(codename="view_alert"))
    client.force_login(grid)
    listed = client.get(reverse("admin:supervision_alert_changelist")).context["cl"].queryset
    assert not listed.exists()
