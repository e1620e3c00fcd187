"""The SMS templates this system sends.

Chinese providers send only pre-approved templates: each message is a template code plus
named parameters. `params` lists the parameter names in order (Tencent Cloud takes them
positionally). `text` is our copy of the approved wording, used by the console backend
and shown in the message table; the provider holds the authoritative one. The provider
codes come from the SMS_TEMPLATE_CODES setting.

Parameters never carry a full ID or phone number.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class SmsTemplate:
    name: str
    params: tuple[str, ...]
    text: Promise
    # Urgent messages go out even when the day's SMS budget is spent (SMS_DAILY_BUDGET);
    # the others are held until the next day.
    urgent: bool = False
    # Parameters not shown to staff (the message table shows "******").
    secret: tuple[str, ...] = ()

    def render(self, values: dict[str, str]) -> str:
        return str(self.text).format(**{p: values.get(p, "") for p in self.params})

    def render_for_staff(self, values: dict[str, str]) -> str:
        return self.render({**values, **dict.fromkeys(self.secret, "******")})

    @property
    def provider_code(self) -> str:
        return settings.SMS_TEMPLATE_CODES.get(self.name, self.name)


TEMPLATES = {
    t.name: t
    for t in [
        SmsTemplate(
            name="grid_new_declaration",
            params=("village", "name", "kinds", "due", "link"),
            text=_(
                "New declaration in {village}: {name}, difficulty: {kinds}. "
                "Please visit the household by {due}. Case (sign-in needed): {link}"
            ),
            urgent=True,
        ),
        SmsTemplate(
            name="applicant_village_passed",
            params=("tracking",),
            text=_(
                "Your declaration {tracking} has passed the village check and public notice "
                "and is with the township for review."
            ),
        ),
        SmsTemplate(
            name="applicant_rejected",
            params=("tracking", "level", "reason"),
            text=_(
                "Your declaration {tracking} was not enrolled by the {level}: {reason}. If you "
                "disagree, appeal on the progress page or ask the township to review."
            ),
        ),
        SmsTemplate(
            name="applicant_enrolled",
            params=("tracking",),
            text=_(
                "Your household is now monitored and will be helped (declaration {tracking}). "
                "Village staff will agree a help plan with you within 10 days."
            ),
        ),
        SmsTemplate(
            name="appeal_decided",
            params=("tracking", "outcome"),
            text=_("Your appeal on declaration {tracking} has been decided: {outcome}."),
        ),
        SmsTemplate(
            name="village_case_returned",
            params=("village", "name", "reason"),
            text=_(
                "The township returned the declaration of {name} in {village}: {reason}. "
                "Please amend it and pass it up again."
            ),
        ),
        SmsTemplate(
            name="deadline_tomorrow",
            params=("village", "name", "stage", "due"),
            text=_("Due tomorrow ({due}): {stage} for {name} in {village}. Please act in time."),
        ),
        SmsTemplate(
            name="deadline_breached",
            params=("village", "name", "stage", "due"),
            text=_(
                "Overdue: {stage} for {name} in {village} was due by {due}. Please act at once."
            ),
        ),
        SmsTemplate(
            name="deadline_breached_above",
            params=("village", "name", "stage", "due"),
            text=_(
                "Overdue: {stage} for {name} in {village} was due by {due}. Please see that it is done."
            ),
        ),
        SmsTemplate(
            name="deadline_digest",
            params=("region", "due_today", "overdue"),
            text=_("{region} today: {due_today} deadlines fall due, {overdue} are overdue."),
        ),
        SmsTemplate(
            name="village_plan_returned",
            params=("village", "name", "reason"),
            text=_(
                "The help plan of {name} in {village} was sent back: {reason}. "
                "Please amend it and submit it again."
            ),
        ),
        SmsTemplate(
            name="village_plan_approved",
            params=("village", "name"),
            text=_(
                "The county approved the help plan of {name} in {village}. "
                "Please deliver its measures and record them."
            ),
        ),
        SmsTemplate(
            name="green_channel_opened",
            params=("village", "name", "due"),
            text=_(
                "Green channel opened for {name} in {village}: help first, "
                "identification to be completed by {due}."
            ),
            urgent=True,
        ),
        SmsTemplate(
            name="village_new_warnings",
            params=("village", "count", "due"),
            text=_(
                "{count} new department warnings in {village}: please verify each by {due} "
                "(judge in the village, ask by phone, or visit)."
            ),
            urgent=True,
        ),
        SmsTemplate(
            name="applicant_receipt",
            params=("tracking", "due"),
            text=_(
                "Your declaration is received, tracking number {tracking}. Village staff will "
                "visit you by {due}; please keep your phone on."
            ),
        ),
        SmsTemplate(
            # Sent to the phone on file when someone declares again for a person whose
            # case is open: the page itself shows nothing of the existing case.
            name="applicant_open_case",
            params=("tracking",),
            text=_(
                "Someone declared again for your household, but your declaration {tracking} "
                "is already being handled, so no new one was opened. Village staff will "
                "contact you. If this was not you or your family, tell your village staff."
            ),
        ),
        SmsTemplate(
            # A lost tracking number, asked for with the ID number and this phone: sent
            # to this phone only, never shown on the page.
            name="applicant_tracking_recovered",
            params=("tracking", "village"),
            text=_(
                "The tracking number of your declaration in {village} is {tracking}. Use it "
                "with this phone number to check progress. If you did not ask for it, you "
                "may ignore this message."
            ),
        ),
        SmsTemplate(
            name="applicant_action_code",
            params=("code",),
            text=_(
                "Your verification code is {code}, valid for 10 minutes. It is needed to "
                "withdraw or appeal your declaration; never tell it to anyone."
            ),
            secret=("code",),
        ),
        SmsTemplate(
            # A household moved in from another village (a life event): its case and
            # its monitoring are now the new village's, deadlines unchanged.
            name="village_household_moved_in",
            params=("village", "from_village", "name", "due"),
            text=_(
                "The household of {name} has moved from {from_village} to {village}: its case "
                "and monitoring are now handled in {village}. Next deadline: {due}."
            ),
        ),
        SmsTemplate(
            # A department (公安) reported deaths or hukou moves in the village's
            # monitored households or open cases: nothing changes until it confirms.
            name="village_life_events_reported",
            params=("village", "count"),
            text=_(
                "{count} deaths or hukou moves reported by departments in {village}: "
                "please check each and confirm it or not."
            ),
        ),
        SmsTemplate(
            name="sms_budget_reached",
            params=("budget",),
            text=_(
                "Today's SMS budget of {budget} messages is spent: notices of new cases still "
                "go, other SMS wait until tomorrow. Please check the public form for abuse."
            ),
            urgent=True,
        ),
        # A surge of declarations in a village or township (apps/supervision/anomalies.py):
        # a possible disaster, sent to the county at once, day or night.
        SmsTemplate(
            name="county_surge",
            params=("region", "count", "day"),
            text=_(
                "Alert: {region} received {count} declarations on {day}, a possible disaster. "
                "Please check the alerts page now."
            ),
            urgent=True,
        ),
    ]
}


def get_template(name: str) -> SmsTemplate:
    return TEMPLATES[name]
