"""Anomaly rules: where a supervisor should look (docs/anomalies.md).

Each rule is a few set-based queries over the cases that returns `Finding`s; the
periodic run (`anomalies_run`, Celery beat, one at a time) reads them off the replica
where there is one, then `alert_raise` writes each as an `Alert`, once: a rule that
finds a subject again while its alert is open updates that alert, and an acknowledged
alert of the same subject stays acknowledged (the subject names the episode: a day, a
month, a village's last declaration).

The surge of declarations in a village or township is checked on each submission as
well (`surge_check`, after commit): the county is told by SMS at once, quiet hours or
not.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.db.models.functions import Left, TruncDate
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.core.replica import replica_reads
from apps.declarations.models import (
    Declaration,
    HouseholdVisit,
    State,
    Transition,
    VillageEvaluation,
)
from apps.notifications.services import messages_enqueue, sms_to
from apps.regions.models import (
    PREFIX_LENGTH,
    Level,
    Region,
    Role,
    StaffMembership,
    group_set,
    level_of_code,
    normalise_group,
)

from .models import Alert, AlertEvent

logger = logging.getLogger(__name__)

Rule = Alert.Rule
# The most case links an alert keeps.
MAX_CASES = 200
SURGE_TEMPLATE = "county_surge"


@dataclass
class Finding:
    rule: str
    subject: str
    region_code: str
    finding: str
    case_ids: list[int] = field(default_factory=list)
    # Shown in the SMS of an urgent rule.
    params: dict = field(default_factory=dict)


# --- helpers -------------------------------------------------------------------------------


def common_region(codes) -> str:
    """The smallest region holding every code (12-digit codes)."""
    codes = set(codes)
    for level in (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY, Level.PROVINCE):
        prefixes = {c[: PREFIX_LENGTH[level]] for c in codes}
        if len(prefixes) == 1:
            return prefixes.pop().ljust(12, "0")
    return "0" * 12


def prefix_of(code: str) -> str:
    return code[: PREFIX_LENGTH[level_of_code(code)]]


def township_of(code: str) -> str:
    return code[:9].ljust(12, "0")


def county_of(code: str) -> str:
    return code[:6].ljust(12, "0")


def region_names(codes) -> dict[str, str]:
    """Each code's name, a village's with its township's ("鲁家沟镇窝沟村")."""
    codes = set(codes)
    wanted = codes | {township_of(c) for c in codes}
    names = dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))
    result = {}
    for code in codes:
        name = names.get(code, code)
        township = township_of(code)
        if township != code and township in names:
            name = names[township] + name
        result[code] = name
    return result


def _day(value: dt.date) -> str:
    return date_format(value, "DATE_FORMAT")


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _month(now: dt.datetime) -> str:
    return f"{timezone.localtime(now):%Y-%m}"


# --- the rules -----------------------------------------------------------------------------


def quiet_villages(now: dt.datetime) -> list[Finding]:
    """Villages with no declaration in ANOMALY_QUIET_WEEKS weeks while another village of
    their township has some. One alert per village and last declaration: a village
    that declares again and falls quiet again is a new episode."""
    weeks = settings.ANOMALY_QUIET_WEEKS
    since = now - dt.timedelta(weeks=weeks)
    recent = set(
        Declaration.objects.filter(submitted_at__gte=since)
        .values_list("region_code", flat=True)
        .distinct()
    )
    active_townships = {c[:9] for c in recent}
    quiet = list(
        Region.objects.villages()
        .annotate(township=Left("code", 9))
        .filter(township__in=active_townships)
        .exclude(code__in=recent)
        .values_list("code", flat=True)
    )
    if not quiet:
        return []
    last = dict(
        Declaration.objects.filter(region_code__in=quiet)
        .values("region_code")
        .annotate(last=Max("submitted_at"))
        .values_list("region_code", "last")
    )
    names = region_names(quiet)
    findings = []
    for code in quiet:
        when = last.get(code)
        if when is None:
            text = _(
                "%(village)s: no declaration at all, while other villages of its township "
                "had some in the last %(weeks)d weeks."
            ) % {"village": names[code], "weeks": weeks}
            episode = "never"
        else:
            episode = timezone.localdate(when).isoformat()
            text = _(
                "%(village)s: no declaration since %(day)s (over %(weeks)d weeks), while "
                "other villages of its township had some."
            ) % {"village": names[code], "day": _day(timezone.localdate(when)), "weeks": weeks}
        findings.append(Finding(Rule.QUIET_VILLAGE, f"{code}:{episode}", code, text))
    return findings


def fast_closings(now: dt.datetime) -> list[Finding]:
    """Cases visited and evaluated by the village on the day they were submitted, in the
    last ANOMALY_FAST_WINDOW_DAYS days: one alert per village and day of submission."""
    since = now - dt.timedelta(days=settings.ANOMALY_FAST_WINDOW_DAYS)
    rows = (
        Declaration.objects.filter(submitted_at__gte=since)
        .annotate(day=TruncDate("submitted_at"))
        .filter(
            Exists(
                HouseholdVisit.objects.filter(
                    declaration=OuterRef("pk"), visit_date=OuterRef("day")
                )
            ),
            Exists(
                VillageEvaluation.objects.filter(
                    declaration=OuterRef("pk"), evaluation_date=OuterRef("day")
                )
            ),
        )
        .order_by("pk")
        .values_list("pk", "region_code", "day")
    )
    groups: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
    for pk, code, day in rows:
        groups[code, day].append(pk)
    names = region_names(code for code, _d in groups)
    return [
        Finding(
            Rule.FAST_CLOSING,
            f"{code}:{day.isoformat()}",
            code,
            _(
                "%(village)s: %(count)d declaration(s) submitted on %(day)s were visited and "
                "evaluated by the village the same day."
            )
            % {"village": names[code], "count": len(ids), "day": _day(day)},
            ids[:MAX_CASES],
        )
        for (code, day), ids in sorted(groups.items())
    ]


def bulk_rejections(now: dt.datetime) -> list[Finding]:
    """Users who rejected ANOMALY_BULK_REJECTIONS or more cases in one day, in the last
    ANOMALY_FAST_WINDOW_DAYS days: one alert per user and day."""
    threshold = settings.ANOMALY_BULK_REJECTIONS
    since = now - dt.timedelta(days=settings.ANOMALY_FAST_WINDOW_DAYS)
    rejections = (
        Transition.objects.filter(at__gte=since, to_state=State.REJECTED, actor__isnull=False)
        .exclude(from_state=State.REJECTED)
        .annotate(day=TruncDate("at"))
    )
    heavy = list(
        rejections.values("actor", "day")
        .annotate(n=Count("declaration", distinct=True))
        .filter(n__gte=threshold)
        .values_list("actor", "day")
    )
    if not heavy:
        return []
    wanted = Q()
    for actor, day in heavy:
        wanted |= Q(actor=actor, day=day)
    cases: dict[tuple[int, dt.date], dict[int, str]] = defaultdict(dict)
    users: dict[int, str] = {}
    for actor, day, pk, code, name, username in (
        rejections.filter(wanted)
        .order_by("at", "pk")
        .values_list(
            "actor",
            "day",
            "declaration",
            "declaration__region_code",
            "actor__full_name",
            "actor__username",
        )
    ):
        cases[actor, day][pk] = code
        users[actor] = name or username
    return [
        Finding(
            Rule.BULK_REJECTION,
            f"user:{actor}:{day.isoformat()}",
            common_region(found.values()),
            _("%(user)s rejected %(count)d declarations on %(day)s.")
            % {"user": users[actor], "count": len(found), "day": _day(day)},
            list(found)[:MAX_CASES],
        )
        for (actor, day), found in sorted(cases.items())
    ]


def rejection_rates(now: dt.datetime) -> list[Finding]:
    """Townships and villages whose rejection rate (rejected of decided cases submitted
    in the last ANOMALY_RATE_WINDOW_DAYS days) is ANOMALY_RATE_MULTIPLE times their
    county's or more, with at least ANOMALY_RATE_MIN_CASES decided cases. One alert
    per region and month."""
    since = now - dt.timedelta(days=settings.ANOMALY_RATE_WINDOW_DAYS)
    multiple = Fraction(str(settings.ANOMALY_RATE_MULTIPLE))
    minimum = settings.ANOMALY_RATE_MIN_CASES
    decided = Declaration.objects.filter(
        submitted_at__gte=since, state__in=[State.ENROLLED, State.REJECTED]
    )
    # decided, rejected by region code (villages, then summed up to townships, counties).
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    villages = set()
    for code, n, rejected in (
        decided.values("region_code")
        .annotate(n=Count("pk"), rejected=Count("pk", filter=Q(state=State.REJECTED)))
        .values_list("region_code", "n", "rejected")
    ):
        villages.add(code)
        for key in {code, township_of(code), county_of(code)}:
            totals[key][0] += n
            totals[key][1] += rejected
    candidates = sorted(villages | {township_of(c) for c in villages})
    firing = []
    for code in candidates:
        n, rejected = totals[code]
        county_n, county_rejected = totals[county_of(code)]
        if n < minimum or not rejected:
            continue
        rate, county_rate = Fraction(rejected, n), Fraction(county_rejected, county_n)
        if rate >= multiple * county_rate:
            firing.append((code, n, rejected, rate, county_rate))
    if not firing:
        return []
    names = region_names([c for c, *_rest in firing] + [county_of(c) for c, *_rest in firing])
    findings = []
    for code, n, rejected, rate, county_rate in firing:
        ids = list(
            decided.filter(region_code__startswith=prefix_of(code), state=State.REJECTED)
            .order_by("-submitted_at")
            .values_list("pk", flat=True)[:MAX_CASES]
        )
        findings.append(
            Finding(
                Rule.REJECTION_RATE,
                f"{code}:{_month(now)}",
                code,
                _(
                    "%(region)s: %(rejected)d of %(n)d decided declarations rejected "
                    "(%(rate).0f%%), against %(county_rate).0f%% in %(county)s, over the "
                    "last %(days)d days."
                )
                % {
                    "region": names[code],
                    "rejected": rejected,
                    "n": n,
                    "rate": float(rate * 100),
                    "county_rate": float(county_rate * 100),
                    "county": names[county_of(code)],
                    "days": settings.ANOMALY_RATE_WINDOW_DAYS,
                },
                ids,
            )
        )
    return findings


def worker_loads(now: dt.datetime) -> list[Finding]:
    """Grid workers with ANOMALY_WORKER_OPEN_CASES open cases or more. A case is a
    worker's as its notices are (regions.services.notice_recipients): the grid workers
    covering its village group when any does, else every grid worker of the village.
    One alert per worker and month."""
    threshold = settings.ANOMALY_WORKER_OPEN_CASES
    workers = list(
        StaffMembership.objects.filter(
            is_active=True, user__is_active=True, role=Role.GRID, region__level=Level.VILLAGE
        ).values_list("user_id", "region__code", "groups", "user__full_name", "user__username")
    )
    if not workers:
        return []
    by_village: dict[str, list[tuple[int, set[str]]]] = defaultdict(list)
    names: dict[int, str] = {}
    for user_id, code, groups, full_name, username in workers:
        by_village[code].append((user_id, group_set(groups)))
        names[user_id] = full_name or username
    open_cases = Declaration.objects.open().filter(region_code__in=list(by_village))

    def owners(code: str, group: str) -> list[int]:
        wanted = normalise_group(group)
        members = by_village[code]
        covering = [u for u, groups in members if wanted and wanted in groups]
        return covering or [u for u, _g in members]

    load: dict[int, int] = defaultdict(int)
    villages_of: dict[int, set[str]] = defaultdict(set)
    for code, group, n in (
        open_cases.values("region_code", "address_group")
        .annotate(n=Count("pk"))
        .values_list("region_code", "address_group", "n")
    ):
        for user_id in owners(code, group):
            load[user_id] += n
            villages_of[user_id].add(code)
    heavy = {u: n for u, n in load.items() if n >= threshold}
    if not heavy:
        return []
    ids: dict[int, list[int]] = defaultdict(list)
    codes = set().union(*(villages_of[u] for u in heavy))
    for pk, code, group in (
        open_cases.filter(region_code__in=codes)
        .order_by("submitted_at", "pk")
        .values_list("pk", "region_code", "address_group")
    ):
        for user_id in owners(code, group):
            if user_id in heavy and len(ids[user_id]) < MAX_CASES:
                ids[user_id].append(pk)
    return [
        Finding(
            Rule.WORKER_LOAD,
            f"user:{user_id}:{_month(now)}",
            common_region(villages_of[user_id]),
            _("Grid worker %(user)s has %(count)d open cases (the line is %(threshold)d).")
            % {"user": names[user_id], "count": n, "threshold": threshold},
            ids[user_id],
        )
        for user_id, n in sorted(heavy.items())
    ]


def _todays(today: dt.date):
    return Declaration.objects.filter(submitted_at__gte=_start_of_day(today))


def _surge_finding(code: str, n: int, today: dt.date, name: str) -> Finding:
    ids = list(
        _todays(today)
        .filter(region_code__startswith=prefix_of(code))
        .order_by("submitted_at", "pk")
        .values_list("pk", flat=True)[:MAX_CASES]
    )
    return Finding(
        Rule.SURGE,
        f"{code}:{today.isoformat()}",
        code,
        _(
            "%(region)s: %(count)d declarations on %(day)s. A possible disaster: "
            "the county was told by SMS."
        )
        % {"region": name, "count": n, "day": _day(today)},
        ids,
        params={"region": name, "count": str(n), "day": _day(today)},
    )


def surges(now: dt.datetime) -> list[Finding]:
    """Villages with ANOMALY_SURGE_VILLAGE declarations or more today, townships with
    ANOMALY_SURGE_TOWNSHIP or more: one alert per region and day. (The periodic run:
    one grouped count of today's declarations.)"""
    today = timezone.localdate(now)
    counts: dict[str, int] = defaultdict(int)
    by_village = dict(
        _todays(today).values("region_code").annotate(n=Count("*")).values_list("region_code", "n")
    )
    for code, n in by_village.items():
        counts[township_of(code)] += n
    firing = [
        (code, n) for code, n in by_village.items() if n >= settings.ANOMALY_SURGE_VILLAGE
    ] + [(code, n) for code, n in counts.items() if n >= settings.ANOMALY_SURGE_TOWNSHIP]
    names = region_names(code for code, _n in firing)
    return [_surge_finding(code, n, today, names[code]) for code, n in sorted(firing)]


def surges_at(village_code: str, now: dt.datetime) -> list[Finding]:
    """After a declaration in a village: a surge today in the village or its township?
    Whatever the size of the surge, this reads few rows: a region already alerted today
    is skipped, and the others are counted only up to their line (a LIMITed count)."""
    today = timezone.localdate(now)
    regions = [
        (village_code, settings.ANOMALY_SURGE_VILLAGE),
        (township_of(village_code), settings.ANOMALY_SURGE_TOWNSHIP),
    ]
    alerted = set(
        Alert.objects.filter(
            rule=Rule.SURGE, subject__in=[f"{code}:{today.isoformat()}" for code, _t in regions]
        ).values_list("subject", flat=True)
    )
    firing = []
    for code, line in regions:
        if f"{code}:{today.isoformat()}" in alerted:
            continue
        todays = _todays(today).filter(region_code__startswith=prefix_of(code))
        if todays[:line].count() >= line:
            firing.append((code, todays.count()))
    names = region_names(code for code, _n in firing)
    return [_surge_finding(code, n, today, names[code]) for code, n in firing]


def shared_phones(now: dt.datetime) -> list[Finding]:
    """Mobile numbers (their keyed hashes) given by ANOMALY_PHONE_APPLICANTS different
    applicants (ID hashes) or more in the last ANOMALY_PHONE_WINDOW_DAYS days: one
    alert per number and month."""
    since = now - dt.timedelta(days=settings.ANOMALY_PHONE_WINDOW_DAYS)
    window = Declaration.objects.filter(submitted_at__gte=since)
    shared = dict(
        window.values("phone_hash")
        .annotate(n=Count("id_hash", distinct=True))
        .filter(n__gte=settings.ANOMALY_PHONE_APPLICANTS)
        .values_list("phone_hash", "n")
    )
    if not shared:
        return []
    cases: dict[str, dict[int, str]] = defaultdict(dict)
    for pk, code, phone_hash in (
        window.filter(phone_hash__in=list(shared))
        .order_by("submitted_at", "pk")
        .values_list("pk", "region_code", "phone_hash")
    ):
        cases[phone_hash][pk] = code
    findings = []
    for phone_hash, n in sorted(shared.items()):
        region = common_region(cases[phone_hash].values())
        findings.append(
            Finding(
                Rule.SHARED_PHONE,
                f"{phone_hash}:{_month(now)}",
                region,
                _(
                    "One mobile number was given by %(count)d different applicants in "
                    "%(cases)d declarations over the last %(days)d days."
                )
                % {
                    "count": n,
                    "cases": len(cases[phone_hash]),
                    "days": settings.ANOMALY_PHONE_WINDOW_DAYS,
                },
                list(cases[phone_hash])[:MAX_CASES],
            )
        )
    return findings


RULES = [
    quiet_villages,
    fast_closings,
    bulk_rejections,
    rejection_rates,
    worker_loads,
    surges,
    shared_phones,
]


# --- raising alerts ------------------------------------------------------------------------


def alert_raise(finding: Finding) -> Alert | None:
    """Write a finding as an alert and return it if it is new; None if the rule's
    subject has an alert already: an open one takes the new finding and cases, an
    acknowledged one is left alone. A new surge alert is sent to the county by SMS in
    the same transaction."""
    alerts = Alert.objects.filter(rule=finding.rule, subject=finding.subject)
    now = timezone.now()
    if alerts.filter(state=Alert.State.ACKNOWLEDGED).exists() and not alerts.open().exists():
        return None
    updated = alerts.open().update(
        finding=finding.finding, case_ids=finding.case_ids, last_seen_at=now
    )
    if updated:
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=finding.rule,
                subject=finding.subject,
                region_code=finding.region_code,
                finding=finding.finding,
                case_ids=finding.case_ids,
                raised_at=now,
                last_seen_at=now,
            )
            AlertEvent.record(alert=alert, actor=None, kind="raised", summary=finding.finding)
            if finding.rule == Rule.SURGE:
                _tell_county(alert, finding.params)
    except IntegrityError:
        # A concurrent run (two submissions checked at once) raised it first.
        return None
    return alert


def _tell_county(alert: Alert, params: dict) -> None:
    """SMS to the county's staff: urgent (sent even over the day's budget) and not held
    for the night's quiet hours."""
    county = county_of(alert.region_code)
    phones = [
        mobile
        for mobile in StaffMembership.objects.filter(
            is_active=True, user__is_active=True, role=Role.COUNTY, region__code=county
        )
        .order_by("pk")
        .values_list("user__mobile", flat=True)
        if mobile
    ]
    if not phones:
        logger.error("surge in %s: no county staff with a mobile number", alert.region_code)
        return
    messages_enqueue(
        subject=f"alert:{alert.pk}",
        region_code=county,
        messages=sms_to(phones, SURGE_TEMPLATE, **params),
        respect_quiet_hours=False,
    )


def _findings(rules, now) -> list[Finding]:
    with translation.override(settings.LANGUAGE_CODE):
        return [finding for rule in rules for finding in rule(now)]


def anomalies_run(now: dt.datetime | None = None) -> list[Alert]:
    """Run every rule; the new alerts. Read off the replica: a finding a moment late is
    found by the next run (the alerts themselves are read and written on the primary)."""
    now = now or timezone.now()
    with replica_reads():
        findings = _findings(RULES, now)
    return alerts_raise(findings)


def alerts_raise(findings: list[Finding]) -> list[Alert]:
    """`alert_raise` for many findings, set-based for those found again: one read of the
    alerts of their subjects, one bulk update of the open ones; only new subjects are
    written one by one (with their log row and, for a surge, the county's SMS)."""
    by_rule: dict[str, list[str]] = defaultdict(list)
    for finding in findings:
        by_rule[finding.rule].append(finding.subject)
    condition = Q(pk__in=[])
    for rule, found in by_rule.items():
        condition |= Q(rule=rule, subject__in=found)
    known: dict[tuple[str, str], Alert] = {}
    for alert in Alert.objects.filter(condition).only("pk", "rule", "subject", "state"):
        # An open alert wins over acknowledged ones of the same subject.
        if alert.state == Alert.State.OPEN or (alert.rule, alert.subject) not in known:
            known[alert.rule, alert.subject] = alert
    now = timezone.now()
    found_again, new = [], []
    for finding in findings:
        alert = known.get((finding.rule, finding.subject))
        if alert is None:
            new.append(finding)
        elif alert.state == Alert.State.OPEN:
            alert.finding, alert.case_ids, alert.last_seen_at = (
                finding.finding,
                finding.case_ids,
                now,
            )
            found_again.append(alert)
    Alert.objects.bulk_update(found_again, ["finding", "case_ids", "last_seen_at"], batch_size=500)
    return [alert for finding in new if (alert := alert_raise(finding))]


def surge_check(region_code: str, now: dt.datetime | None = None) -> list[Alert]:
    """After a declaration in the village `region_code`: a surge today in the village
    or its township? Read on the primary: a replica a moment behind would miss the
    declaration that crossed the line."""
    now = now or timezone.now()
    findings = _findings([lambda at: surges_at(region_code, at)], now)
    return [alert for finding in findings if (alert := alert_raise(finding))]


def alert_acknowledge(*, alert: Alert, actor, note: str) -> bool:
    """Mark an open alert acknowledged, with who, when and the note; False if it was
    not open (someone acknowledged it first)."""
    now = timezone.now()
    with transaction.atomic():
        done = Alert.objects.filter(pk=alert.pk, state=Alert.State.OPEN).update(
            state=Alert.State.ACKNOWLEDGED, acknowledged_by=actor, acknowledged_at=now, note=note
        )
        if done:
            AlertEvent.record(
                alert=alert, actor=actor, kind="acknowledged", summary=note[:200], at=now
            )
    if done:
        alert.refresh_from_db()
    return bool(done)
