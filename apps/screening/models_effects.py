"""What a department feed does besides raising warnings (the effects of
`apps.screening.effects`):

- a life event (公安: a death, a hukou move out) of a member of a monitored household
  or of the applicant of an open case, kept for the village to confirm — the system
  never acts on a department's word alone;
- a property record (市场监管, 公安交管, 不动产登记: a business, a vehicle, real estate)
  of such a person, shown on the case's property check and on the household's page.

Neither keeps an ID number: the keyed hash only, and the name the department gave.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import protected_link
from apps.core.models import HistoryEntry
from apps.declarations.models import Declaration
from apps.households.models import HouseholdMember, MonitoredHousehold
from apps.regions.models import Region, ScopedQuerySet


class LifeEventKind(models.TextChoices):
    DIED = "died", _("died")
    MOVED = "moved", _("hukou moved out")


class ReportState(models.TextChoices):
    PENDING = "pending", _("to be confirmed by the village")
    CONFIRMED = "confirmed", _("confirmed by the village")
    DISMISSED = "dismissed", _("not confirmed by the village")


class ReportQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def pending(self):
        return self.filter(state=ReportState.PENDING)


class ReportedLifeEvent(models.Model):
    """A department's report that a person died or moved away, matched to a monitored
    household (as its head or a member) or to the applicant of an open case. Nothing
    changes until the village confirms it: then the existing life-event service runs
    (a member died or left the household; the applicant died during the review)."""

    batch = models.ForeignKey(
        "screening.FeedBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.CharField(_("department"), max_length=100)
    record_key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(_("what happened"), max_length=8, choices=LifeEventKind.choices)
    person_name = models.CharField(_("name"), max_length=30)
    id_hash = models.CharField(max_length=64, db_index=True)
    happened_on = models.DateField(_("on"))
    moved_to = models.CharField(_("moved to"), max_length=100, blank=True)
    village = protected_link(Region, _("village"))
    region_code = models.CharField(_("region code"), max_length=12, db_index=True)
    household = models.ForeignKey(
        MonitoredHousehold,
        verbose_name=_("monitored household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    member = models.ForeignKey(
        HouseholdMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declaration = models.ForeignKey(
        Declaration,
        verbose_name=_("declaration"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=10, choices=ReportState.choices, default=ReportState.PENDING
    )
    decided_by = protected_link(settings.AUTH_USER_MODEL, _("decided by"), optional=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("reported"), default=timezone.now)

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("reported life event")
        verbose_name_plural = _("reported life events")
        ordering = ["state", "-created_at", "-pk"]

    def __str__(self):
        return f"{self.person_name} {self.get_kind_display()}"

    @property
    def is_pending(self) -> bool:
        return self.state == ReportState.PENDING


class ReportedLifeEventLog(HistoryEntry):
    """The report's log: received, confirmed or not, by whom and why."""

    report = models.ForeignKey(ReportedLifeEvent, on_delete=models.PROTECT, related_name="log")

    class Meta(HistoryEntry.Meta):
        verbose_name = _("reported life event log")
        verbose_name_plural = _("reported life event logs")

    def __str__(self):
        return f"{self.report} {self.kind}"


class PropertyQuerySet(ScopedQuerySet):
    region_code_field = "region_code"


class PropertyRecord(models.Model):
    """A business, vehicle or piece of real estate a department registered for a person
    of a monitored household or the applicant of an open case, for the property check."""

    batch = models.ForeignKey(
        "screening.FeedBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.CharField(_("department"), max_length=100)
    record_key = models.CharField(max_length=64, unique=True)
    # Which register: the definition (business registration, vehicles, real estate …).
    definition = models.ForeignKey(
        "screening.FeedDefinition",
        verbose_name=_("feed"),
        on_delete=models.PROTECT,
        to_field="code",
        related_name="+",
    )
    person_name = models.CharField(_("name"), max_length=30)
    id_hash = models.CharField(max_length=64, db_index=True)
    # What the department says, as label: value pairs (no ID number).
    summary = models.CharField(_("what the data says"), max_length=300)
    region_code = models.CharField(_("region code"), max_length=12, db_index=True)
    household = models.ForeignKey(
        MonitoredHousehold,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="property_records",
    )
    declaration = models.ForeignKey(
        Declaration,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="property_records",
    )
    created_at = models.DateTimeField(_("received"), default=timezone.now)

    objects = PropertyQuerySet.as_manager()

    class Meta:
        verbose_name = _("property record")
        verbose_name_plural = _("property records")
        ordering = ["definition", "-created_at", "-pk"]

    def __str__(self):
        return f"{self.definition_id} {self.person_name}"
