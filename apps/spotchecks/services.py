"""Drawing, assigning, recording and answering spot checks: each change one function,
which checks the actor's roles over the region, writes one history row
(`SpotCheckEvent`) and, on the case itself, a line in its own log."""

import datetime as dt
import math
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.core.errors import Conflict, InvalidInput, NotPermitted, WrongState
from apps.deadlines.models import Stage
from apps.deadlines.services import ClockSpec, clocks_meet, clocks_start
from apps.declarations.models import Declaration, State, Transition
from apps.declarations.services import declaration_recheck
from apps.households.models import EliminationProposal, EliminationState, HouseholdEvent
from apps.regions.models import (
    COUNTY_ROLES,
    PREFIX_LENGTH,
    Level,
    Region,
    Role,
    RolesOver,
    require_role_over,
    roles_over,
)

from .models import Draw, Kind, Method, Outcome, Resolution, SpotCheck, SpotCheckEvent

# The clocks of the county's answer to a disagreement.
SUBJECT = "spot_check"
REASON_MAX = 500

# Who draws a region's sample: the staff of that level, each for its own region.
DRAW_ROLE = {Level.COUNTY: Role.COUNTY, Level.CITY: Role.CITY, Level.PROVINCE: Role.PROVINCE}
# Who may check a case: staff from the township up, over the case's village…
CHECKER_ROLES = RolesOver({Role.TOWNSHIP, Role.COUNTY, Role.CITY, Role.PROVINCE})
# …and those who see the spot-check pages.
VIEWER_ROLES = CHECKER_ROLES

# The household's log entries of an elimination: whoever made them decided it.
ELIMINATION_KINDS = ("elimination_proposed", "elimination_township_checked", "eliminated")


# --- months ------------------------------------------------------------------------------


def round_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_round(day: dt.date) -> str:
    return round_of(day.replace(day=1) - dt.timedelta(days=1))


def month_bounds(round_: str) -> tuple[dt.datetime, dt.datetime]:
    """The month's first instant and the next month's, local time."""
    year, month = (int(part) for part in round_.split("-"))
    start = dt.date(year, month, 1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(dt.datetime.combine(start, dt.time.min), tz),
        timezone.make_aware(dt.datetime.combine(end, dt.time.min), tz),
    )


# --- the draw ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    kind: str
    pk: int  # the declaration's, or the elimination's
    region_code: str
    decided_at: dt.datetime

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.pk)

    @property
    def township(self) -> str:
        return self.region_code[: PREFIX_LENGTH[Level.TOWNSHIP]]


def decided_cases(prefix: str, round_: str) -> list[Candidate]:
    """The cases of the subtree decided in the month and still so decided: declarations
    enrolled or not enrolled (their latest move into that state in the month) and risk
    eliminations approved in the month. Two queries."""
    start, end = month_bounds(round_)
    decision = (
        Transition.objects.filter(declaration=OuterRef("pk"), to_state=OuterRef("state"))
        .exclude(from_state=F("to_state"))
        .order_by("-at", "-pk")
        .values("at")[:1]
    )
    declarations = (
        Declaration.objects.filter(
            region_code__startswith=prefix, state__in=[State.ENROLLED, State.REJECTED]
        )
        .annotate(decided_at=Subquery(decision))
        .filter(decided_at__gte=start, decided_at__lt=end)
        .values_list("pk", "state", "region_code", "decided_at")
    )
    found = [Candidate(state, pk, code, at) for pk, state, code, at in declarations]
    eliminations = EliminationProposal.objects.filter(
        region_code__startswith=prefix,
        state=EliminationState.APPROVED,
        decided_at__gte=start,
        decided_at__lt=end,
    ).values_list("pk", "region_code", "decided_at")
    found += [Candidate(Kind.ELIMINATED, pk, code, at) for pk, code, at in eliminations]
    return found


def sample_size(share: Decimal, decided: int) -> int:
    """The share of the decided cases, rounded up: 5 % of 100 is 5, of 101 is 6, of 1
    is 1 (before the one-per-township minimum)."""
    return math.ceil(Decimal(share) * decided)


def pick(candidates: list[Candidate], share: Decimal, seed: int) -> list[Candidate]:
    """The sample, reproducible from the candidates and the seed: in order of township,
    one random case of each township; then, to reach the share, more at random from the
    rest. Candidates are sorted by (kind, id) first, so their order of arrival does not
    matter."""
    ordered = sorted(candidates, key=lambda c: c.key)
    rng = random.Random(seed)  # noqa: S311 — reproducible sampling, not a secret
    townships: dict[str, list[Candidate]] = {}
    for candidate in ordered:
        townships.setdefault(candidate.township, []).append(candidate)
    chosen = [rng.choice(townships[code]) for code in sorted(townships)]
    taken = {c.key for c in chosen}
    rest = [c for c in ordered if c.key not in taken]
    extra = min(len(rest), max(0, sample_size(share, len(ordered)) - len(chosen)))
    return chosen + rng.sample(rest, extra)


def redraw(draw: Draw) -> list[tuple[str, int]]:
    """Audit: the sample the draw's seed gives from today's candidates (the same as
    drawn, as long as no decision of that month has changed since)."""
    chosen = pick(decided_cases(draw.region.prefix, draw.round), draw.share, draw.seed)
    return sorted(c.key for c in chosen)


def configured_share() -> Decimal:
    return Decimal(str(settings.SPOT_CHECK_SHARE))


def drawable_regions(user):
    """The regions the user draws for: each of their county, city or province
    memberships at its own level."""
    condition = Q()
    for level, role in DRAW_ROLE.items():
        condition |= Q(level=level, memberships__role=role)
    return (
        Region.objects.visible_to(user)
        .filter(condition & Q(memberships__user=user, memberships__is_active=True))
        .distinct()
        .order_by("code")
    )


def draw_sample(
    *, region: Region, round_: str, actor=None, share: Decimal | None = None
) -> tuple[Draw, bool]:
    """Draw the region's sample for the month, once: drawing again (a second click, the
    monthly job after a county's button) gives back the first draw. Returns (draw,
    whether it was drawn now). `actor` None: the monthly job."""
    if actor is not None:
        role = DRAW_ROLE.get(Level(region.level))
        if (
            role is None
            or not region.memberships.filter(user=actor, role=role, is_active=True).exists()
        ):
            raise NotPermitted(_("Only the region's own staff draw its sample."))
        if round_ >= round_of(timezone.localdate()):
            raise InvalidInput(_("Only a month that has ended can be drawn."))
    existing = Draw.objects.filter(region=region, round=round_).first()
    if existing is not None:
        return existing, False
    share = configured_share() if share is None else share
    candidates = decided_cases(region.prefix, round_)
    seed = secrets.randbits(63)
    chosen = pick(candidates, share, seed)
    try:
        with transaction.atomic():
            draw = Draw.objects.create(
                region=region,
                region_code=region.code,
                round=round_,
                share=share,
                seed=seed,
                candidates=len(candidates),
                drawn=len(chosen),
                drawn_by=actor,
            )
            SpotCheck.objects.bulk_create(
                SpotCheck(
                    draw=draw,
                    kind=c.kind,
                    declaration_id=c.pk if c.kind != Kind.ELIMINATED else None,
                    elimination_id=c.pk if c.kind == Kind.ELIMINATED else None,
                    region_code=c.region_code,
                    decided_at=c.decided_at,
                )
                for c in chosen
            )
            SpotCheckEvent.record(
                draw=draw,
                actor=actor,
                actor_label="" if actor else "monthly job",
                kind="drawn",
                summary=f"{len(chosen)}/{len(candidates)} seed={seed}",
            )
    except IntegrityError:
        # Another run drew it meanwhile: theirs stands.
        return Draw.objects.get(region=region, round=round_), False
    return draw, True


def draw_counties(*, today: dt.date | None = None) -> int:
    """The monthly job: every county's sample of last month's decisions. Returns the
    number of counties drawn now."""
    round_ = previous_round(today or timezone.localdate())
    done = 0
    for county in Region.objects.filter(level=Level.COUNTY).order_by("code"):
        _draw, created = draw_sample(region=county, round_=round_)
        done += created
    return done


# --- who may check ------------------------------------------------------------------------


def deciders(check: SpotCheck) -> set[int]:
    """The users who took part in the decision: everyone in the case's log up to the
    decision (who visited, reviewed, approved or rejected…), or who proposed, checked
    and approved the risk elimination. What the spot check itself writes there later
    does not count."""
    if check.declaration_id:
        return set(
            Transition.objects.filter(
                declaration_id=check.declaration_id,
                at__lte=check.decided_at,
                actor__isnull=False,
            )
            .values_list("actor_id", flat=True)
            .distinct()
        )
    proposal = check.elimination
    found = set(
        HouseholdEvent.objects.filter(
            household_id=proposal.household_id,
            kind__in=ELIMINATION_KINDS,
            at__gte=proposal.proposed_at,
            at__lte=check.decided_at,
            actor__isnull=False,
        ).values_list("actor_id", flat=True)
    )
    return found | {pk for pk in (proposal.proposed_by_id, proposal.decided_by_id) if pk}


def _ancestor_codes(code: str) -> list[str]:
    return [
        code[: PREFIX_LENGTH[level]].ljust(12, "0")
        for level in (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP)
    ]


def eligible_checkers(check: SpotCheck):
    """Staff from the township up over the case's village, less those who decided."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__is_active=True,
            memberships__role__in=CHECKER_ROLES,
            memberships__region__code__in=_ancestor_codes(check.region_code),
        )
        .exclude(pk__in=deciders(check))
        .distinct()
        .order_by("full_name", "pk")
    )


def can_assign(user, check: SpotCheck) -> bool:
    """The drawing level's staff assign the checks of its draw."""
    role = DRAW_ROLE[Level(check.draw.region.level)]
    return role in roles_over(user, check.draw.region_code)


def _clean(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput(_("Give a reason."))
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("The reason is too long (at most 500 characters)."))
    return reason


def _case_log(check: SpotCheck, *, actor, kind: str, summary: str = "", reason: str = ""):
    """The line on the case's own log (the declaration's, or the household's)."""
    if check.declaration_id:
        Transition.record(
            declaration=check.declaration, actor=actor, kind=kind, summary=summary, reason=reason
        )
    else:
        HouseholdEvent.record(
            household=check.elimination.household,
            actor=actor,
            kind=kind,
            summary=summary,
            reason=reason,
        )


def spot_check_assign(*, check: SpotCheck, actor, checker: User) -> SpotCheck:
    """The drawing level assigns a checker, or a member of staff takes the check
    themselves; never someone who took part in the decision."""
    if not (
        can_assign(actor, check)
        or (checker.pk == actor.pk and roles_over(actor, check.region_code) & CHECKER_ROLES)
    ):
        raise NotPermitted
    if check.outcome:
        raise WrongState(_("This check is already recorded."))
    if checker.pk in deciders(check):
        raise NotPermitted(_("Someone who took part in the decision cannot check it."))
    if not eligible_checkers(check).filter(pk=checker.pk).exists():
        raise NotPermitted(_("This person cannot check cases of this village."))
    with transaction.atomic():
        updated = SpotCheck.objects.filter(pk=check.pk, outcome="").update(
            checker=checker, assigned_at=timezone.now()
        )
        if not updated:
            raise Conflict
        SpotCheckEvent.record(
            draw=check.draw,
            spot_check=check,
            actor=actor,
            kind="assigned",
            summary=checker.get_full_name() or checker.get_username(),
        )
    check.refresh_from_db()
    return check


def spot_check_record(
    *, check: SpotCheck, actor, method: str, checked_on: dt.date, outcome: str, reason: str
) -> SpotCheck:
    """The checker's finding. A disagreement (with its reason) raises a flag for the
    county, with a clock (`Stage.SPOT_CHECK`)."""
    if check.checker_id != actor.pk:
        raise NotPermitted(_("Only the assigned checker records the check."))
    if actor.pk in deciders(check):
        raise NotPermitted(_("Someone who took part in the decision cannot check it."))
    if check.outcome:
        raise WrongState(_("This check is already recorded."))
    if method not in Method.values or outcome not in Outcome.values:
        raise InvalidInput
    reason = _clean(reason, required=outcome == Outcome.DISAGREE)
    if checked_on > timezone.localdate() or checked_on < timezone.localdate(check.decided_at):
        raise InvalidInput(_("The date must lie between the decision and today."))
    now = timezone.now()
    with transaction.atomic():
        updated = SpotCheck.objects.filter(pk=check.pk, outcome="", checker=actor).update(
            method=method, checked_on=checked_on, outcome=outcome, reason=reason, recorded_at=now
        )
        if not updated:
            raise Conflict
        label = str(Outcome(outcome).label)
        SpotCheckEvent.record(
            draw=check.draw,
            spot_check=check,
            actor=actor,
            kind=outcome,
            summary=label,
            reason=reason,
        )
        _case_log(check, actor=actor, kind=f"spot_check_{outcome}", summary=label, reason=reason)
        if outcome == Outcome.DISAGREE:
            clocks_start(
                subject_type=SUBJECT,
                subject_id=check.pk,
                region_code=check.region_code,
                stages=[ClockSpec(Stage.SPOT_CHECK)],
                at=now,
            )
    check.refresh_from_db()
    return check


def resolutions_for(check: SpotCheck) -> list[str]:
    """A rejected case may be reopened for county review; any may be upheld or handled."""
    reopenable = (
        check.kind == Kind.REJECTED
        and check.declaration_id
        and check.declaration.state == State.REJECTED
    )
    return [r for r in Resolution.values if r != Resolution.REOPENED or reopenable]


def spot_check_resolve(*, check: SpotCheck, actor, resolution: str, reason: str) -> SpotCheck:
    """The county answers a disagreement, with its reason: it reopens a rejected case
    for its own review again (the declaration's `recheck`), upholds the decision, or
    records what it did otherwise (a wrongly enrolled or eliminated household is
    corrected through the households' own procedures). Not by anyone who decided it."""
    require_role_over(actor, check.region_code, COUNTY_ROLES)
    if not check.is_open_flag:
        raise WrongState(_("There is no disagreement waiting for an answer."))
    if actor.pk in deciders(check) or actor.pk == check.checker_id:
        raise NotPermitted(
            _(
                "Someone other than those who decided the case and its checker must answer "
                "the disagreement."
            )
        )
    if resolution not in resolutions_for(check):
        raise InvalidInput(_("Only a case that was not enrolled can be reopened."))
    reason = _clean(reason, required=True)

    def mark(log=None):
        updated = SpotCheck.objects.filter(pk=check.pk, resolution="").update(
            resolution=resolution,
            resolution_reason=reason,
            resolved_by=actor,
            resolved_at=timezone.now(),
        )
        if not updated:
            raise Conflict
        clocks_meet(subject_type=SUBJECT, subject_id=check.pk)
        label = str(Resolution(resolution).label)
        SpotCheckEvent.record(
            draw=check.draw,
            spot_check=check,
            actor=actor,
            kind=resolution,
            summary=label,
            reason=reason,
        )
        if log is None:
            _case_log(
                check, actor=actor, kind=f"spot_check_{resolution}", summary=label, reason=reason
            )

    if resolution == Resolution.REOPENED:
        declaration_recheck(declaration=check.declaration, actor=actor, reason=reason, after=mark)
    else:
        with transaction.atomic():
            mark()
    check.refresh_from_db()
    return check
