"""Appeals (申诉, 复核申请): a rejected applicant asks the level above to look again."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.deadlines.models import Stage
from apps.deadlines.services import ClockSpec, clocks_meet, clocks_start
from apps.regions.models import COUNTY_ROLES, TOWNSHIP_ROLES, roles_over

from ..models import Appeal, AppealChannel, AppealOutcome, Declaration, Level, State, Transition
from .errors import Conflict, InvalidInput, NotPermitted, WrongState
from .review import _applicant_sms, _clean_reason, _transition

# Where an appeal goes: the level above the one that rejected.
APPEAL_LEVEL = {
    Level.VILLAGE: Level.TOWNSHIP,
    Level.TOWNSHIP: Level.COUNTY,
    Level.COUNTY: Level.COUNTY,
}
DECIDING_ROLES = {Level.TOWNSHIP: TOWNSHIP_ROLES, Level.COUNTY: COUNTY_ROLES}


def appeal_file(*, declaration: Declaration, reason: str, channel: str, actor=None) -> Appeal:
    """From the status page (no actor, channel online) or recorded by staff who took it
    on paper, by phone or in person."""
    reason = _clean_reason(reason)
    if channel not in AppealChannel.values:
        raise InvalidInput
    if actor is not None:
        if not roles_over(actor, declaration.region_code):
            raise NotPermitted
    elif channel != AppealChannel.ONLINE:
        raise InvalidInput
    if declaration.state != State.REJECTED:
        raise WrongState(_("Only a case that was not enrolled can be appealed."))
    if declaration.appeals.filter(outcome=AppealOutcome.UPHELD).exists():
        # The level above has looked again and upheld it: the decision is final here.
        raise WrongState(_("The appeal against this decision has already been decided."))
    rejection = (
        Transition.objects.filter(declaration=declaration, to_state=State.REJECTED)
        .exclude(from_state=State.REJECTED)
        .order_by("-at", "-pk")
        .first()
    )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                declaration=declaration,
                level=APPEAL_LEVEL[Level(declaration.rejected_at_level)],
                channel=channel,
                reason=reason,
                recorded_by=actor,
                rejected_by=rejection.actor if rejection else None,
            )
            clocks_start(
                subject_type="appeal",
                subject_id=appeal.pk,
                region_code=declaration.region_code,
                stages=[ClockSpec(Stage.APPEAL)],
                at=appeal.filed_at,
            )
            Transition.record(
                declaration=declaration,
                actor=actor,
                actor_label="" if actor else "applicant",
                kind="appeal_filed",
                summary=str(AppealChannel(channel).label),
                reason=reason,
            )
            return appeal
    except IntegrityError:
        raise WrongState(_("An appeal for this case is already waiting for a decision.")) from None


def appeal_decide(*, appeal: Appeal, actor, outcome: str, reason: str) -> Appeal:
    """Reopen the case (back to the stage that rejected it) or uphold the rejection.
    Someone other than whoever rejected the case decides."""
    reason = _clean_reason(reason)
    declaration = appeal.declaration
    if not (roles_over(actor, declaration.region_code) & DECIDING_ROLES[Level(appeal.level)]):
        raise NotPermitted
    if appeal.rejected_by_id is not None and appeal.rejected_by_id == actor.pk:
        raise NotPermitted(
            _("Someone other than the person who rejected the case must decide the appeal.")
        )
    if outcome not in AppealOutcome.values:
        raise InvalidInput

    def record(log=None):
        claimed = Appeal.objects.filter(pk=appeal.pk, outcome="").update(
            outcome=outcome, decision_reason=reason, decided_by=actor, decided_at=timezone.now()
        )
        if not claimed:
            raise Conflict
        clocks_meet(subject_type="appeal", subject_id=appeal.pk)
        appeal.refresh_from_db()

    label = str(AppealOutcome(outcome).label)
    if outcome == AppealOutcome.REOPENED:
        try:
            _transition(
                declaration=declaration,
                actor=actor,
                method="reopen",
                reason=reason,
                after=lambda log: (
                    record(log),
                    _applicant_sms(declaration, log, "appeal_decided", {"outcome": label}),
                ),
            )
        except IntegrityError:
            # One open case per person and household: another has opened meanwhile.
            declaration.refresh_from_db()
            raise WrongState(
                _(
                    "Another case of this person or household is open: it cannot be "
                    "reopened; add the appeal's reasons to that case."
                )
            ) from None
    else:
        with transaction.atomic():
            record()
            log = Transition.record(
                declaration=declaration, actor=actor, kind="appeal_upheld", reason=reason
            )
            _applicant_sms(declaration, log, "appeal_decided", {"outcome": label})
    return appeal
