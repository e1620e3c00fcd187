"""Department data that finds people before they ask ("数据找人").

Departments deliver feeds (uploads or the API) in batches of records. A record is
matched by the keyed hash of the ID number against the population roster and the
monitored households (a disaster by region); a rule turns a matching record into a
warning for the person's village, merged with any open warning or declaration of the
same household. The village verifies each warning within 5 days. Civil affairs
delivers its assistance rolls, which the declarations are compared against.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core.fields import EncryptedTextField, protected_link
from apps.core.identity import mask_id_number
from apps.core.imports import Status as BatchStatus
from apps.core.models import HistoryEntry
from apps.declarations.models import Declaration
from apps.households.models import MonitoredHousehold, RosterHousehold, RosterMember
from apps.regions.models import VILLAGE_ROLES, Region, ScopedQuerySet

# --- feed definitions: what a department delivers, as data ------------------------------


class FeedSubject(models.TextChoices):
    PERSON = "person", _("a person (by ID number)")
    REGION = "region", _("a region (by region code): every village under it")


class FeedEffect(models.TextChoices):
    """What the engine does with a definition's matched records (feeds/effects.py)."""

    WARNING = "warning", _("warnings by its rules")
    ASSISTANCE_ROLL = "assistance_roll", _("civil-affairs assistance roll (compared)")
    LIFE_EVENT = "life_event", _("life events for the village to confirm")
    PROPERTY_CHECK = "property_check", _("kept for the household's property check")


class FeedDefinition(models.Model):
    """A kind of department data, defined by a provincial administrator: its fields
    (the file's columns and the API's JSON keys), what identifies the record's subject,
    and the rules that turn a matched record into a warning. The code is the feed's
    name in the API (/api/v1/feeds/<code>/batches) and on the upload page; it cannot
    change once batches refer to it."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    department_kind = models.CharField(
        _("department"), max_length=40, help_text=_("The kind of department, e.g. 医保.")
    )
    description = models.TextField(_("notes on the data"), max_length=2000, blank=True)
    active = models.BooleanField(_("active"), default=True)
    subject = models.CharField(
        _("a record is about"), max_length=8, choices=FeedSubject.choices, default="person"
    )
    effect = models.CharField(
        _("effect"), max_length=20, choices=FeedEffect.choices, default=FeedEffect.WARNING
    )

    class Meta:
        verbose_name = _("feed definition")
        verbose_name_plural = _("feed definitions")
        ordering = ["code"]

    def __str__(self):
        return self.name


class FieldType(models.TextChoices):
    ID_NUMBER = "id_number", _("ID number")
    NAME = "name", _("person's name")
    DATE = "date", _("date")
    MONEY = "money", _("amount in yuan")
    INTEGER = "integer", _("whole number")
    CHOICE = "choice", _("choice")
    TEXT = "text", _("text")
    REGION = "region", _("region code")


class RosterValue(models.TextChoices):
    """What the population roster may already know of a field's value for a person."""

    NONE = "", _("nothing")
    DISABILITY_GRADE = "disability_grade", _("the person's disability grade")


class FeedField(models.Model):
    """One field of a definition: a column of the file (its header or any alias) and a
    key of the API's records. Choices are written one a line: the stored value, the
    label, then the other words a cell may use, separated by "|" (e.g. "1|一级|1级|残疾一级")."""

    definition = models.ForeignKey(FeedDefinition, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(_("key"), max_length=40, help_text=_("The API's JSON key."))
    label = models.CharField(_("header"), max_length=40)
    aliases = models.CharField(
        _("other headers"), max_length=400, blank=True, help_text=_("Separated by commas.")
    )
    type = models.CharField(_("type"), max_length=12, choices=FieldType.choices)
    required = models.BooleanField(_("required"), default=True)
    max_length = models.PositiveSmallIntegerField(_("max. length"), default=0)
    choices = models.TextField(_("choices"), max_length=4000, blank=True)
    not_above = models.SlugField(
        _("not above the field"), max_length=40, blank=True, help_text=_("Its key.")
    )
    roster_value = models.CharField(
        _("already known from"), max_length=20, choices=RosterValue.choices, blank=True
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("feed field")
        verbose_name_plural = _("feed fields")
        ordering = ["definition", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "key"], name="feed_field_key_once")
        ]

    def __str__(self):
        return self.label


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", _("at or above the county's amount for the year")
    INCOME_SHARE = "income_share", _("above a share of the household's annual net income")
    CATEGORY = "category", _("a choice in a list")
    NEW = "new", _("new since the earlier deliveries")


class HouseholdCondition(models.TextChoices):
    ANY = "any", _("any household")
    MONITORED_OR_POOR = "monitored_or_poor", _("monitored or formerly poor households")


class FactorBasis(models.TextChoices):
    FULL = "full", _("the whole weight")
    BURDEN = "burden", _("the field's amount against the household's income")
    CATEGORY = "category", _("a share per choice")


class FeedRule(models.Model):
    """A rule of a definition: when a matched record raises a warning, with its reason
    (a template of the record's fields, e.g. "{date} 个人自付 {out_of_pocket:,.0f} 元")
    and its factor of the risk score (name and weight, as in apps/households/scoring.py).

    - threshold: the field's value ≥ the county's amount for the record's year
      (`FeedThreshold`), else `default_value`;
    - income_share: the field's value > the county's share for the year (else
      `default_value`) × the household's annual net income;
    - category: the field's value is one of `values`;
    - new: the subject was not in the definition's earlier deliveries (with, when
      `values` are given, the field's value in them; also not so on the roster).
    Rules of one definition with the same code raise one source per record."""

    definition = models.ForeignKey(FeedDefinition, on_delete=models.CASCADE, related_name="rules")
    code = models.SlugField(_("rule code"), max_length=32)
    kind = models.CharField(_("rule"), max_length=16, choices=RuleKind.choices)
    field = models.SlugField(_("field"), max_length=40, blank=True, help_text=_("Its key."))
    default_value = models.DecimalField(
        _("province default"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    values = models.CharField(
        _("values"), max_length=200, blank=True, help_text=_("Separated by commas.")
    )
    household = models.CharField(
        _("households"), max_length=20, choices=HouseholdCondition.choices, default="any"
    )
    reason = models.CharField(_("reason"), max_length=200)
    factor = models.SlugField(_("score factor"), max_length=32, allow_unicode=True)
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=10, validators=[MaxValueValidator(100)]
    )
    basis = models.CharField(
        _("share of the weight"), max_length=10, choices=FactorBasis.choices, default="full"
    )
    shares = models.CharField(
        _("share per choice"), max_length=200, blank=True, help_text=_("e.g. 1:1, 2:1, 3:0.5")
    )
    factor_reason = models.CharField(
        _("factor's reason"), max_length=200, blank=True, help_text=_("Blank: the reason.")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("feed rule")
        verbose_name_plural = _("feed rules")
        ordering = ["definition", "order", "pk"]

    def __str__(self):
        return f"{self.definition} · {self.get_kind_display()}"


class FeedThresholdQuerySet(ScopedQuerySet):
    region_code_field = "county__code"


class FeedThreshold(models.Model):
    """A county's amount (threshold rule) or share (income-share rule) for a year, kept
    by the county; without one, the rule's province default applies."""

    rule = models.ForeignKey(
        FeedRule,
        verbose_name=_("rule"),
        on_delete=models.CASCADE,
        related_name="thresholds",
        limit_choices_to={"kind__in": ["threshold", "income_share"]},
    )
    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": 3},
    )
    year = models.PositiveSmallIntegerField(_("year"))
    value = models.DecimalField(
        _("amount (yuan) or share"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )

    objects = FeedThresholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("feed warning line")
        verbose_name_plural = _("feed warning lines")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "county", "year"], name="feed_line_per_rule_county_year"
            )
        ]

    def __str__(self):
        return f"{self.rule} {self.county} {self.year}"


class Department(models.Model):
    """A department that shares data (医保, 残联, 教育, 应急管理, 民政 …): configurable.

    It delivers the feed kinds listed, for its region's subtree. Its API token is kept
    as a SHA-256 digest only; the token itself is shown once, when issued.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    region = protected_link(Region, _("region"))
    # The codes of the feed definitions it delivers (FeedDefinition.code, never changed).
    kinds = models.JSONField(_("feeds delivered"), default=list)
    active = models.BooleanField(_("active"), default=True)
    token_digest = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    token_issued_at = models.DateTimeField(_("API token issued"), null=True, blank=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["region__code", "name"]

    def __str__(self):
        return self.name

    @property
    def region_prefix(self) -> str:
        return self.region.prefix


class DepartmentMember(models.Model):
    """A user who delivers data for a department (the role "department staff")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="departments"
    )
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="members")

    class Meta:
        verbose_name = _("department member")
        verbose_name_plural = _("department members")
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="department_member_once")
        ]

    def __str__(self):
        return f"{self.user} · {self.department}"


class BatchSource(models.TextChoices):
    UPLOAD = "upload", _("file upload")
    API = "api", _("API")


class BatchQuerySet(models.QuerySet):
    def for_department_user(self, user):
        """Department staff see their departments' batches; nobody else does."""
        if not user or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(department__members__user=user)


class FeedBatch(models.Model):
    """One delivery: a file or an API batch. Idempotent by (department, batch id): an
    API client may send the same batch again; an upload's batch id is its file's hash."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="batches")
    # The definition by its code (the column keeps its old name: it held the code).
    definition = models.ForeignKey(
        FeedDefinition,
        verbose_name=_("feed"),
        on_delete=models.PROTECT,
        to_field="code",
        db_column="kind",
        related_name="batches",
    )
    batch_id = models.CharField(_("batch id"), max_length=64)
    source = models.CharField(_("delivered by"), max_length=8, choices=BatchSource.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    file = models.FileField(upload_to="feeds/%Y/%m/", blank=True)
    original_name = models.CharField(_("file name"), max_length=200, blank=True)
    # Digest of the API body, to tell a resent batch from a different one with the same id.
    content_digest = models.CharField(max_length=64, blank=True)
    total_rows = models.PositiveIntegerField(_("records"), default=0)
    processed_rows = models.PositiveIntegerField(_("records checked"), default=0)
    error_count = models.PositiveIntegerField(_("bad records"), default=0)
    errors = models.JSONField(default=list, blank=True)
    records_new = models.PositiveIntegerField(_("new records"), default=0)
    records_matched = models.PositiveIntegerField(_("records matching a household"), default=0)
    # Rows of the batch matching no one of the region (counted, not kept), and rows whose
    # records had all been received before (by an earlier batch).
    records_unmatched = models.PositiveIntegerField(_("records matching nobody"), default=0)
    records_known = models.PositiveIntegerField(_("records received before"), default=0)
    warnings_raised = models.PositiveIntegerField(_("warnings raised"), default=0)
    warnings_merged = models.PositiveIntegerField(_("added to an open case"), default=0)
    created_by = protected_link(settings.AUTH_USER_MODEL, _("uploaded by"), optional=True)
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("feed batch")
        verbose_name_plural = _("feed batches")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["department", "batch_id"], name="batch_id_once")
        ]

    def __str__(self):
        return f"{self.department} {self.definition} {self.batch_id[:12]}"

    @property
    def kind(self) -> str:
        """The definition's code."""
        return self.definition_id

    @kind.setter
    def kind(self, code: str) -> None:
        self.definition_id = code

    @property
    def records_fresh(self) -> int:
        """The batch's records not received before, whether they match anyone or not (a
        record matching nobody is not kept, so it cannot have been seen)."""
        return max(self.total_rows - self.error_count - self.records_known, 0)

    @property
    def all_known(self) -> bool:
        """Every record of the batch had been received before: nothing changed."""
        return bool(self.total_rows) and not self.records_fresh


class FeedRecord(models.Model):
    """A record of a feed that matched the rural population. Records that match nobody
    are counted on their batch, not kept: the system keeps only what the process needs.

    `record_key` (a digest of the department, the feed and the record's content) makes
    a re-import of the same data a no-op, whatever batch it comes in."""

    batch = models.ForeignKey(FeedBatch, on_delete=models.CASCADE, related_name="records")
    definition = models.ForeignKey(
        FeedDefinition,
        verbose_name=_("feed"),
        on_delete=models.PROTECT,
        to_field="code",
        db_column="kind",
        related_name="records",
    )
    record_key = models.CharField(max_length=64, unique=True)
    row_number = models.PositiveIntegerField(_("row"))
    id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # The village the record concerns (the person's, or the disaster's).
    region_code = models.CharField(_("region code"), max_length=12, db_index=True)
    # The record's facts other than the ID number: dates, amounts, grade, school …
    data = models.JSONField(default=dict)
    roster_member = models.ForeignKey(
        RosterMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("feed record")
        verbose_name_plural = _("feed records")

    def __str__(self):
        return f"{self.definition_id} {self.row_number}"

    @property
    def kind(self) -> str:
        return self.definition_id

    @kind.setter
    def kind(self, code: str) -> None:
        self.definition_id = code


class WarningState(models.TextChoices):
    OPEN = "open", _("to be verified")
    NO_RISK = "no_risk", _("verified: no risk")
    CONVERTED = "converted", _("verified: risk, declaration opened")
    REFERRED = "referred", _("verified: referred to civil affairs")
    MERGED = "merged", _("added to an open declaration")


class VerifyMethod(models.TextChoices):
    """How the village verified: 村级研判、线上问询、入户排查."""

    JUDGED = "judged", _("judged in the village")
    ASKED = "asked", _("asked by phone or online")
    VISITED = "visited", _("visited at home")


class WarningQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def open(self):
        return self.filter(state=WarningState.OPEN)


class Warning(ConcurrentTransitionMixin, models.Model):
    """A warning (预警) for one household — or, for a disaster, for a whole village — with
    every source that raised it."""

    village = protected_link(Region, _("village"))
    region_code = models.CharField(_("region code"), max_length=12, db_index=True)
    # Whose household: "r<roster household id>", "m<monitored household id>", or
    # "v<village code>:<event>" for a village-wide disaster. One open warning per key.
    household_key = models.CharField(max_length=80)
    roster_household = models.ForeignKey(
        RosterHousehold, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    monitored_household = models.ForeignKey(
        MonitoredHousehold,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="warnings",
    )
    # The person the first source named (blank for a village-wide disaster).
    person_name = models.CharField(_("name"), max_length=30, blank=True)
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {"id_hash": ("id_number", "id")}
    state = FSMField(
        _("state"), default=WarningState.OPEN, choices=WarningState.choices, protected=True
    )
    # The transparent risk score (0–100) and its factors, each with its weight and why.
    score = models.PositiveSmallIntegerField(_("risk score"), default=0, db_index=True)
    score_factors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("raised"), default=timezone.now)

    method = models.CharField(
        _("verified by"), max_length=16, choices=VerifyMethod.choices, blank=True
    )
    outcome_reason = EncryptedTextField(_("finding"), max_length=1000, blank=True)
    verified_by = protected_link(settings.AUTH_USER_MODEL, _("verified by"), optional=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    # The declaration it became (converted) or joined (merged).
    declaration = models.ForeignKey(
        Declaration,
        verbose_name=_("declaration"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="screening_warnings",
    )

    objects = WarningQuerySet.as_manager()

    class Meta:
        verbose_name = _("screening warning")
        verbose_name_plural = _("screening warnings")
        ordering = ["-score", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["household_key"],
                condition=Q(state="open"),
                name="one_open_warning_per_household",
            )
        ]
        indexes = [
            models.Index(
                fields=["region_code", "-score"],
                condition=Q(state="open"),
                name="warning_worklist_idx",
            )
        ]

    def __str__(self):
        return f"{self.person_name or self.village} · {self.get_state_display()}"

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def is_open(self) -> bool:
        return self.state == WarningState.OPEN

    # Guards, state and who may make each transition (roles over the warning's region);
    # services check them and hold the clock and the log.

    @transition(
        field=state, source=WarningState.OPEN, target=WarningState.NO_RISK, permission=VILLAGE_ROLES
    )
    def find_no_risk(self):
        pass

    @transition(
        field=state,
        source=WarningState.OPEN,
        target=WarningState.CONVERTED,
        permission=VILLAGE_ROLES,
    )
    def convert(self):
        """Into a declaration (channel: department warning) entering the review."""

    @transition(
        field=state,
        source=WarningState.OPEN,
        target=WarningState.REFERRED,
        permission=VILLAGE_ROLES,
    )
    def refer(self):
        """To civil affairs."""

    @transition(field=state, source=WarningState.OPEN, target=WarningState.MERGED)
    def merge_into_declaration(self):
        """When raised, into the household's open declaration."""


class WarningEvent(HistoryEntry):
    """The warning's log: its verification, who made it and what was found."""

    warning = models.ForeignKey(Warning, on_delete=models.PROTECT, related_name="events")

    class Meta(HistoryEntry.Meta):
        verbose_name = _("warning event")
        verbose_name_plural = _("warning events")

    def __str__(self):
        return f"{self.warning} {self.kind} {self.at:%Y-%m-%d}"


class WarningSource(models.Model):
    """One reason a warning exists: a department record and the rule it met, or the
    civil-affairs comparison (no record)."""

    warning = models.ForeignKey(Warning, on_delete=models.CASCADE, related_name="sources")
    record = models.ForeignKey(
        FeedRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.CharField(_("rule"), max_length=32)
    summary = models.CharField(_("what the data says"), max_length=200)
    department = models.CharField(_("department"), max_length=100, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("warning source")
        verbose_name_plural = _("warning sources")
        ordering = ["at", "pk"]
        constraints = [
            # A record raises a given rule once, however often it is imported.
            models.UniqueConstraint(
                fields=["record", "rule"],
                condition=Q(record__isnull=False),
                name="one_source_per_record_rule",
            )
        ]

    def __str__(self):
        return self.summary


class AssistanceKind(models.TextChoices):
    DIBAO = "dibao", _("rural minimum living allowance")  # 农村低保
    TEKUN = "tekun", _("support for the destitute")  # 特困供养
    TEMPORARY = "temporary", _("temporary assistance")  # 临时救助
    CHILDREN = "children", _("orphans and de-facto unsupported children")  # 孤儿, 事实无人抚养儿童
    DISABILITY = "disability", _("the two disability subsidies")  # 残疾人两项补贴


class AssistanceRecord(models.Model):
    """A person on a civil-affairs assistance roll (from the ASSISTANCE feed)."""

    batch = models.ForeignKey(FeedBatch, on_delete=models.CASCADE, related_name="assistance")
    record_key = models.CharField(max_length=64, unique=True)
    id_hash = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(_("assistance"), max_length=16, choices=AssistanceKind.choices)
    county_code = models.CharField(max_length=12, db_index=True)
    since = models.DateField(_("since"), null=True, blank=True)

    class Meta:
        verbose_name = _("assistance record")
        verbose_name_plural = _("assistance records")

    def __str__(self):
        return self.get_kind_display()


def assistance_roll_codes() -> set[str]:
    """The codes of the definitions that are civil-affairs assistance rolls."""
    return set(
        FeedDefinition.objects.filter(effect=FeedEffect.ASSISTANCE_ROLL).values_list(
            "code", flat=True
        )
    )


def civil_affairs_prefixes(user) -> list[str]:
    """Code prefixes of the regions of the user's active civil-affairs departments (those
    delivering the assistance rolls); everyone else has none."""
    from apps.regions.models import PREFIX_LENGTH, Level

    if not user or not user.is_authenticated or not user.is_active:
        return []
    rows = Department.objects.filter(members__user=user, active=True).values_list(
        "region__code", "region__level", "kinds"
    )
    rows = list(rows)
    rolls = assistance_roll_codes() if rows else set()
    return sorted(
        {
            code[: PREFIX_LENGTH[Level(level)]]
            for code, level, kinds in rows
            if rolls.intersection(kinds)
        }
    )


class RoutingQuerySet(ScopedQuerySet):
    region_code_field = "declaration__region_code"

    def visible_to(self, user):
        """Casework staff as for any case; and the civil-affairs department staff of the
        region, who receive the cases routed to them."""
        seen = super().visible_to(user)
        if not user or not user.is_authenticated or user.is_superuser:
            return seen
        prefixes = civil_affairs_prefixes(user)
        if not prefixes:
            return seen
        condition = Q()
        for prefix in prefixes:
            condition |= Q(declaration__region_code__startswith=prefix)
        return (seen | self.filter(condition, to_civil_affairs=True)).distinct()


class CaseRouting(models.Model):
    """Where a verified case goes: civil-affairs assistance, poverty-return
    monitoring, or both."""

    declaration = models.OneToOneField(
        Declaration, on_delete=models.CASCADE, related_name="routing"
    )
    to_civil_affairs = models.BooleanField(_("to civil-affairs assistance"), default=False)
    to_monitoring = models.BooleanField(_("to poverty-return monitoring"), default=False)
    note = models.TextField(_("note"), max_length=500, blank=True)
    decided_by = protected_link(settings.AUTH_USER_MODEL, _("decided by"))
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    # When the civil-affairs staff acknowledged it.
    received_at = models.DateTimeField(_("received by civil affairs"), null=True, blank=True)

    objects = RoutingQuerySet.as_manager()

    class Meta:
        verbose_name = _("case routing")
        verbose_name_plural = _("case routings")

    def __str__(self):
        return str(self.declaration)


class CivilAffairsExport(models.Model):
    """A file of a county's declarations for civil affairs: made on schedule, kept for
    download until the retention purge deletes the file (RETENTION_EXPORT_FILE_DAYS);
    the row stays, marked expired."""

    county = protected_link(Region)
    # Empty once expired.
    file = models.FileField(upload_to="civil-affairs/%Y/%m/", blank=True)
    rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expired_at = models.DateTimeField(_("file deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("civil-affairs export")
        verbose_name_plural = _("civil-affairs exports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.county} {self.created_at:%Y-%m-%d}"


from .models_effects import (  # noqa: E402, F401  (the feeds' effects)
    LifeEventKind,
    PropertyRecord,
    ReportedLifeEvent,
    ReportedLifeEventLog,
    ReportState,
)
