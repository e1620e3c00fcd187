import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from stdnum import luhn

from apps.core.fields import EncryptedTextField
from apps.core.identity import mask_id_number, mask_mobile
from apps.core.models import HistoryEntry

# The kinds of difficulty are the household's risk types: they live in households.
from apps.households.models import Difficulty
from apps.households.scoring import factor_label
from apps.regions.models import (
    CASEWORK_ROLES,
    COUNTY_ROLES,
    TOWNSHIP_ROLES,
    VILLAGE_ROLES,
    Region,
    ScopedQuerySet,
)


class State(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    ACCEPTED = "accepted", _("accepted, home visit due")
    VERIFIED = "verified", _("home visit done")
    IN_NOTICE = "in_notice", _("under public notice")
    RETURNED = "returned", _("returned to the village")
    TOWNSHIP_REVIEW = "township_review", _("under township review")
    COUNTY_REVIEW = "county_review", _("awaiting county approval")
    ENROLLED = "enrolled", _("enrolled for monitoring")
    REJECTED = "rejected", _("not enrolled")
    WITHDRAWN = "withdrawn", _("withdrawn")
    MERGED = "merged", _("merged into another declaration")


# Fixed: the one-open-case constraint names them.
CLOSED_STATES = [State.ENROLLED, State.REJECTED, State.WITHDRAWN, State.MERGED]
OPEN_STATES = [s for s in State if s not in CLOSED_STATES]
VILLAGE_STATES = [State.ACCEPTED, State.VERIFIED, State.IN_NOTICE, State.RETURNED]


class Level(models.TextChoices):
    """The level that acted, e.g. the one that rejected a case."""

    VILLAGE = "village", _("village")
    TOWNSHIP = "township", _("township")
    COUNTY = "county", _("county")


class PhoneOwner(models.TextChoices):
    """Whose mobile the contact number is: a household without a mobile phone gives a
    relative's or the village's."""

    OWN = "own", _("the applicant's own")
    RELATIVE = "relative", _("a relative's")
    VILLAGE = "village", _("the village committee's or grid worker's")


class Channel(models.TextChoices):
    QR = "qr", _("QR self-declaration")
    PROXY = "proxy", _("declared on someone's behalf")
    VISIT = "visit", _("cadre visit")
    HOTLINE = "hotline", _("12317 hotline")
    PAPER = "paper", _("paper application")
    WARNING = "warning", _("department warning")


# The channels a staff member enters a new declaration from (the staff form).
STAFF_CHANNELS = [Channel.VISIT, Channel.HOTLINE, Channel.PAPER]


def new_tracking_number() -> str:
    """12 digits: 11 random (first not 0) and a Luhn check digit.

    Random, so neither sequential nor guessable (10^11 possibilities against rate-limited
    look-ups that also need the phone number); digits only, so it reads aloud over the
    phone; the check digit catches a misheard digit.
    """
    body = str(secrets.randbelow(9 * 10**10) + 10**10)
    return body + luhn.calc_check_digit(body)


def format_tracking_number(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


# Written only by apps.declarations.scoring (see Declaration.save).
SCORE_FIELDS = ("score", "score_factors")


class DeclarationQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def open(self):
        return self.exclude(state__in=CLOSED_STATES)


class Declaration(ConcurrentTransitionMixin, models.Model):
    """A household's declaration of hardship: the case, from submission onwards."""

    tracking_number = models.CharField(_("tracking number"), max_length=12, editable=False)
    state = FSMField(_("state"), default=State.SUBMITTED, choices=State.choices, protected=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # No foreign-key constraint in the database: PostgreSQL would lock the village's row
    # FOR KEY SHARE on every insert, and when a whole village declares at once (a flood,
    # a hailstorm) those locks pile up on one row. The village is always the row the
    # form was opened from; PROTECT still keeps a region with cases from being deleted.
    village = models.ForeignKey(
        Region,
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    # The village's code, copied so that scoping is a prefix match on this table alone
    # (indexed by declaration_region_time_idx below).
    region_code = models.CharField(_("region code"), max_length=12, editable=False)

    name = models.CharField(_("full name"), max_length=30)
    phone = EncryptedTextField(_("mobile phone"))
    # Compared only on the row found by its tracking number (the status page): no index.
    phone_hash = models.CharField(max_length=64, editable=False)
    phone_owner = models.CharField(
        _("whose phone"), max_length=8, choices=PhoneOwner.choices, default=PhoneOwner.OWN
    )
    phone_owner_relation = models.CharField(_("phone owner's relation"), max_length=20, blank=True)
    id_number = EncryptedTextField(_("ID number"))
    id_hash = models.CharField(max_length=64, editable=False)
    address_group = models.CharField(_("village group"), max_length=30)
    address_house = models.CharField(_("house number"), max_length=30, blank=True)
    difficulties = models.JSONField(_("kinds of difficulty"), default=list)
    description = EncryptedTextField(_("description"), max_length=500, blank=True)

    on_behalf = models.BooleanField(_("declared on someone's behalf"), default=False)
    declarant_name = models.CharField(_("declarant's name"), max_length=30, blank=True)
    declarant_phone = EncryptedTextField(_("declarant's mobile phone"), blank=True, default="")
    declarant_phone_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {
        "phone_hash": ("phone", "mobile"),
        "id_hash": ("id_number", "id"),
        "declarant_phone_hash": ("declarant_phone", "mobile"),
    }
    declarant_relation = models.CharField(_("relation to the applicant"), max_length=20, blank=True)

    # The public form's one-time token: a double tap submits it twice, creates once.
    # NULL, not "", for cases entered by staff: unique_submission_token ignores NULLs.
    submission_token = models.CharField(  # noqa: DJ001
        max_length=32, null=True, blank=True, editable=False
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        db_index=False,  # a partial index below: most cases come in by QR, with no user
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("entered by"),
    )

    rejected_at_level = models.CharField(
        _("rejected by"), max_length=16, choices=Level.choices, blank=True
    )
    rejection_reason = EncryptedTextField(_("reason for not enrolling"), blank=True)
    # The monitored household this declaration re-identifies (a new risk after its risk
    # was eliminated), or that it enrolled: the household's history.
    household = models.ForeignKey(
        "households.MonitoredHousehold",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declarations",
        verbose_name=_("household"),
        db_index=False,  # partial index below
    )
    # The applicant's household in the population roster, when the roster knows it
    # (matched at intake by the ID number, or added to the roster at the home visit):
    # the household's identity, one open case per household (以家庭为单位).
    roster_household = models.ForeignKey(
        "households.RosterHousehold",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declarations",
        verbose_name=_("roster household"),
        db_index=False,  # the partial indexes below
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        verbose_name=_("merged into"),
        db_index=False,  # partial index below
    )

    # The transparent risk score (0–100) and its factors, each with its weight, points,
    # why and source (apps.households.scoring): from what the case says, its household's
    # members, the home visit's figures and the warnings merged into it. It orders the
    # worklists.
    score = models.PositiveSmallIntegerField(_("risk score"), default=0, db_index=True)
    score_factors = models.JSONField(_("risk score factors"), default=list, blank=True)

    objects = DeclarationQuerySet.as_manager()

    class Meta:
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")
        ordering = ["-submitted_at"]
        constraints = [
            # One open case per person; the database decides, so two racing
            # submissions cannot both win.
            models.UniqueConstraint(
                fields=["id_hash"],
                condition=~Q(state__in=CLOSED_STATES),
                name="one_open_declaration_per_person",
            ),
            # One open case per household: a member of a household with an open case
            # joins it (CaseDeclarant) instead of opening another. The household is
            # the roster's, else the monitored household's (for one the roster lacks).
            models.UniqueConstraint(
                fields=["roster_household"],
                condition=~Q(state__in=CLOSED_STATES),
                name="one_open_declaration_per_roster_household",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=~Q(state__in=CLOSED_STATES),
                name="one_open_declaration_per_monitored_household",
            ),
            # Constraints rather than unique=True, which would add a second index of
            # varchar_pattern_ops for LIKE that nothing runs on these columns.
            models.UniqueConstraint(fields=["tracking_number"], name="unique_tracking_number"),
            models.UniqueConstraint(fields=["submission_token"], name="unique_submission_token"),
        ]
        indexes = [
            # The dashboards: a region's declarations (code prefix) submitted in a period.
            models.Index(
                fields=["region_code", "submitted_at"],
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
                include=["state"],
                name="declaration_region_time_idx",
            ),
            # Every case of a person, open or closed (the partial unique index above
            # has the open ones only).
            models.Index(fields=["id_hash"], name="declaration_person_idx"),
            # Foreign keys that most rows leave empty: only the rows that have one.
            *(
                models.Index(
                    fields=[fk],
                    condition=Q(**{f"{fk}__isnull": False}),
                    name=f"declaration_{fk}_idx",
                )
                for fk in ("created_by", "household", "merged_into")
            ),
            # Every case of a roster household, open or closed (its history).
            models.Index(
                fields=["roster_household"],
                condition=Q(roster_household__isnull=False),
                name="declaration_roster_idx",
            ),
        ]
        permissions = [("reveal_personal_data", _("Can reveal full ID and phone numbers"))]

    def __str__(self):
        return f"{self.tracking_number_display} {self.name}"

    def save(self, *args, **kwargs):
        """A full save of a case leaves its score alone: the score is written only by
        apps.declarations.scoring (in the INSERT, and by its own UPDATEs with the row
        locked), so an instance loaded before a warning was merged into the case cannot
        write its stale score back over the merge's."""
        if (
            not self._state.adding
            and not kwargs.get("force_insert")
            and kwargs.get("update_fields") is None
        ):
            skipped = {*SCORE_FIELDS, *self.get_deferred_fields()}
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.attname not in skipped and f.name not in skipped
            ]
        super().save(*args, **kwargs)

    @property
    def tracking_number_display(self) -> str:
        return format_tracking_number(self.tracking_number)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_mobile(self.phone)

    @property
    def declarant_phone_masked(self) -> str:
        return mask_mobile(self.declarant_phone)

    @property
    def applicant_phones(self) -> list[str]:
        """Who hears of the case: the applicant, and whoever declared on their behalf."""
        extra = [self.declarant_phone] if self.on_behalf and self.declarant_phone else []
        return [self.phone, *extra]

    def get_difficulties_display(self) -> str:
        labels = dict(Difficulty.choices)
        return "、".join(str(labels.get(d, d)) for d in self.difficulties)

    @property
    def counted_factors(self) -> list[dict]:
        """The factors that make the score, each with its label."""
        return [
            {**f, "label": factor_label(f["factor"])}
            for f in self.score_factors
            if f.get("counted", True)
        ]

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES

    # --- the state machine -------------------------------------------------------------
    # Guards, state and who may make each transition (its permission: roles over the
    # case's region). The log, clocks and SMS live in the services
    # (declarations.services.review), which are the only callers and check the roles
    # declared here; the pages offer what they allow, and the state diagram shows them.

    def has_visit(self) -> bool:
        return self.visits.exists()

    def has_evaluation(self) -> bool:
        return hasattr(self, "income") and self.evaluations.exists()

    def notice_has_run(self) -> bool:
        evaluation = self.evaluations.order_by("-pk").first()
        return evaluation is not None and evaluation.notice_end < timezone.localdate()

    def property_checked(self) -> bool:
        check = getattr(self, "property_check", None)
        return check is not None and check.is_complete

    @transition(
        field=state, source=State.SUBMITTED, target=State.ACCEPTED, permission=VILLAGE_ROLES
    )
    def accept(self):
        pass

    @transition(
        field=state,
        source=State.ACCEPTED,
        target=State.VERIFIED,
        conditions=[has_visit],
        permission=VILLAGE_ROLES,
    )
    def verify(self):
        """On recording the first home visit."""

    @transition(
        field=state,
        source=State.VERIFIED,
        target=State.IN_NOTICE,
        conditions=[has_evaluation],
        permission=VILLAGE_ROLES,
    )
    def start_notice(self):
        """On recording the village evaluation, once the income is calculated."""

    @transition(
        field=state,
        source=[State.IN_NOTICE, State.RETURNED],
        target=State.TOWNSHIP_REVIEW,
        conditions=[notice_has_run],
        permission=VILLAGE_ROLES,
    )
    def pass_to_township(self):
        """Once the notice has run and the evaluation agreed."""

    @transition(field=state, source=VILLAGE_STATES, target=State.REJECTED, permission=VILLAGE_ROLES)
    def village_reject(self):
        self.rejected_at_level = Level.VILLAGE

    @transition(
        field=state,
        source=State.TOWNSHIP_REVIEW,
        target=State.COUNTY_REVIEW,
        conditions=[property_checked],
        permission=TOWNSHIP_ROLES,
    )
    def township_approve(self):
        """Once the property check is complete."""

    @transition(
        field=state, source=State.TOWNSHIP_REVIEW, target=State.RETURNED, permission=TOWNSHIP_ROLES
    )
    def township_return(self):
        pass

    @transition(
        field=state, source=State.TOWNSHIP_REVIEW, target=State.REJECTED, permission=TOWNSHIP_ROLES
    )
    def township_reject(self):
        self.rejected_at_level = Level.TOWNSHIP

    @transition(
        field=state, source=State.COUNTY_REVIEW, target=State.ENROLLED, permission=COUNTY_ROLES
    )
    def county_approve(self):
        """Enrols the household."""

    @transition(
        field=state,
        source=State.COUNTY_REVIEW,
        target=State.TOWNSHIP_REVIEW,
        permission=COUNTY_ROLES,
    )
    def county_return(self):
        pass

    @transition(
        field=state, source=State.COUNTY_REVIEW, target=State.REJECTED, permission=COUNTY_ROLES
    )
    def county_reject(self):
        self.rejected_at_level = Level.COUNTY

    @transition(
        field=state,
        source=State.REJECTED,
        target=RETURN_VALUE(State.ACCEPTED, State.TOWNSHIP_REVIEW, State.COUNTY_REVIEW),
        permission=TOWNSHIP_ROLES | COUNTY_ROLES,
    )
    def reopen(self):
        """An appeal succeeded: back to the stage that rejected the case. Decided by the
        level above the one that rejected (the county for its own rejections), not by
        whoever rejected."""
        target = {
            Level.VILLAGE: State.ACCEPTED,
            Level.TOWNSHIP: State.TOWNSHIP_REVIEW,
            Level.COUNTY: State.COUNTY_REVIEW,
        }[self.rejected_at_level]
        self.rejected_at_level, self.rejection_reason = "", ""
        return target

    @transition(
        field=state, source=State.REJECTED, target=State.COUNTY_REVIEW, permission=COUNTY_ROLES
    )
    def recheck(self):
        """A spot check (常态化抽验复核) disagreed with the rejection and the county
        reopens the case for its own review again; it may return it to the township."""
        self.rejected_at_level, self.rejection_reason = "", ""

    @transition(field=state, source=OPEN_STATES, target=State.WITHDRAWN, permission=CASEWORK_ROLES)
    def withdraw(self):
        """Or the applicant, from the status page."""

    @transition(field=state, source=OPEN_STATES, target=State.MERGED, permission=CASEWORK_ROLES)
    def merge(self):
        """Into an open case of the same township."""


class Transition(HistoryEntry):
    """The case's log. Every change of its state (`kind`: the FSM method), and every
    record made on it without one (a visit amended, the income calculated, the property
    checked, an appeal filed …), with the state the case was in: `from_state` equals
    `to_state` for those."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.PROTECT, related_name="transitions"
    )
    from_state = models.CharField(_("from"), max_length=32, blank=True, choices=State.choices)
    to_state = models.CharField(_("to"), max_length=32, choices=State.choices)

    class Meta(HistoryEntry.Meta):
        verbose_name = _("case log entry")
        verbose_name_plural = _("case log")

    def __str__(self):
        return f"{self.get_from_state_display() or '—'} → {self.get_to_state_display()}"

    @classmethod
    def record(cls, *, declaration, **fields):
        fields.setdefault("from_state", declaration.state)
        fields.setdefault("to_state", declaration.state)
        return super().record(declaration=declaration, **fields)

    @property
    def changes_state(self) -> bool:
        return self.from_state != self.to_state
