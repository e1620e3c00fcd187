"""The demo province for `make run`: a login per role and level, the counties' lines and
policy lists, 窝沟村's roster, a month of medical data, and cases at every stage of the
review and of the monitoring that follows it, some of them overdue.

Everything is made through the project's services, acting as the demo users, one step
at a time over the past weeks: the services act at the current time, and `on_day` then
moves what a step stamped (and the deadline clocks it started or met) to the day the
demo says it was taken. Demo data only.
"""

import datetime as dt
import io
import random
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from apps.accounts.models import User
from apps.core.identity import id_check_digit
from apps.core.models import HistoryEntry
from apps.core.uploads import clean_upload
from apps.deadlines.models import Clock
from apps.deadlines.services import clocks_meet, due_date, end_of_day
from apps.declarations import services as ds
from apps.declarations.models import (
    Appeal,
    AppealChannel,
    Consent,
    Declaration,
    DocumentKind,
    EvaluationOutcome,
    GreenCause,
    GreenChannel,
    GreenChannelHelp,
    HouseholdVisit,
    IncomeAssessment,
    PropertyCheck,
    ResultAnnouncement,
    Transition,
    VillageEvaluation,
    VisitDocument,
)
from apps.declarations.services.review import VisitInput
from apps.households import services as hs
from apps.households.models import (
    FollowUp,
    HelpPlan,
    HouseholdEvent,
    IncomeRecord,
    LabourCapacity,
    MonitoredHousehold,
    MonitoringThreshold,
    PlanMeasure,
    PolicyKind,
    PolicyMeasure,
    RosterHousehold,
    Stability,
)
from apps.households.roster import roster_import_create
from apps.regions.models import ADMIN_ROLES, ROLE_LEVEL, Level, Region, Role, StaffMembership
from apps.regions.services import regions_import_csv
from apps.screening.feeds import feed_upload_create
from apps.screening.feeds.definitions import builtin_ensure, county_lines_set
from apps.screening.models import (
    Department,
    DepartmentMember,
    FeedBatch,
    Warning,
    WarningSource,
)
from apps.screening.services.reminders import sweep
from apps.supervision.summaries import figures_refresh

DEMO_PASSWORD = "demo-2026"  # noqa: S105 — demo mode only
REGIONS_CSV = Path(__file__).resolve().parents[1] / "regions" / "data" / "demo_regions.csv"
WOGOU = "621102100201"  # 窝沟村, the demo village
ANDING = "621102000000"

# Named logins listed in the README: (username, full name, region code, role).
NAMED_LOGINS = [
    ("province", "省级管理员", "620000000000", Role.PROVINCE),
    ("city-dingxi", "定西市乡村振兴局", "621100000000", Role.CITY),
    ("county-anding", "安定区乡村振兴局", ANDING, Role.COUNTY),
    ("county-tongwei", "通渭县乡村振兴局", "621121000000", Role.COUNTY),
    ("township-lujiagou", "鲁家沟镇防贫办", "621102100000", Role.TOWNSHIP),
    ("township-xiangquan", "香泉镇防贫办", "621102101000", Role.TOWNSHIP),
    ("village-wogou", "窝沟村村委会", WOGOU, Role.VILLAGE),
    # The three administrators (三权分立), and a county's own system administrator.
    ("sysadmin", "省级系统管理员", "620000000000", Role.SYSTEM_ADMIN),
    ("secadmin", "省级安全管理员", "620000000000", Role.SECURITY_ADMIN),
    ("auditor", "省级审计管理员", "620000000000", Role.AUDIT_ADMIN),
    ("sysadmin-anding", "安定区系统管理员", ANDING, Role.SYSTEM_ADMIN),
]
# County staff and above work in the admin and see these there.
STAFF_PERMISSIONS = [
    "view_declaration",
    "view_message",
    "view_region",
    "view_staffmembership",
    "view_monitoredhousehold",
    "view_monitoringthreshold",
    "add_monitoringthreshold",
    "change_monitoringthreshold",
    "view_policymeasure",
    "add_policymeasure",
    "change_policymeasure",
]

# A county's help-policy list ("工具箱"): (measure, kind, department, time-bound).
DEMO_POLICIES = [
    ("马铃薯、中药材种植产业奖补", PolicyKind.INDUSTRY, "农业农村局", False),
    ("牛羊养殖到户补助", PolicyKind.INDUSTRY, "农业农村局", False),
    ("劳务输转与稳岗就业帮扶", PolicyKind.EMPLOYMENT, "人社局", False),
    ("农村劳动力职业技能培训", PolicyKind.SKILLS, "人社局", False),
    ("农村低保、特困供养兜底", PolicyKind.BACKSTOP, "民政局", False),
    ("城乡居民医保待遇与医疗救助", PolicyKind.MEDICAL, "医保局", False),
    ("学生资助（含生源地助学贷款）", PolicyKind.EDUCATION, "教育局", False),
    ("农村危房改造", PolicyKind.HOUSING, "住建局", False),
    ("农村饮水安全巩固提升", PolicyKind.WATER, "水务局", False),
    ("脱贫人口小额信贷", PolicyKind.MICRO_CREDIT, "乡村振兴局", True),
    ("乡村公益性岗位", PolicyKind.WELFARE_JOB, "人社局", True),
    ("雨露计划职业教育补助", PolicyKind.RAIN_DEW, "乡村振兴局", True),
    ("临时救助", PolicyKind.TEMPORARY, "民政局", False),
]

# The population roster of 窝沟村: (household number, group, formerly poor, members as
# (name, relation, labour, health)). The demo's heads in 窝沟村 are in it, so that
# department data finds them and enrolment knows who was formerly poor.
# fmt: off
DEMO_ROSTER = [
    ("001", "3组", False, [("魏家常", "户主", "部分", "健康"), ("李梅", "配偶", "无", "重病")]),
    ("002", "1组", True, [("赵德明", "户主", "部分", "慢性病"), ("刘桂芳", "配偶", "全部", "健康"), ("赵小强", "子", "无", "健康")]),
    ("003", "2组", True, [("孙玉兰", "户主", "无", "残疾"), ("孙福", "父亲", "无", "年老体弱")]),
    ("004", "2组", False, [("张建华", "户主", "全部", "健康"), ("王秀英", "配偶", "全部", "健康"), ("张伟", "子", "全部", "健康")]),
    ("005", "4组", True, [("马占山", "户主", "全部", "健康"), ("马玉梅", "女", "无", "健康")]),
]
# fmt: on

# Departments of 安定区 with a demo login each: (code, name, feed, login).
DEMO_DEPARTMENTS = [
    ("anding-yibao", "安定区医疗保障局", "medical", "dept-yibao"),
    ("anding-minzheng", "安定区民政局", "assistance", "dept-minzheng"),
    # The other shipped feeds (apps/screening/feeds/definitions), one department each.
    ("anding-canlian", "安定区残疾人联合会", "disability", "dept-canlian"),
    ("anding-jiaoyu", "安定区教育局", "college", "dept-jiaoyu"),
    ("anding-yingji", "安定区应急管理局", "disaster", "dept-yingji"),
    ("anding-renshe", "安定区人力资源和社会保障局", "unemployed", "dept-renshe"),
    ("anding-weijian", "安定区卫生健康局", "serious_illness", "dept-weijian"),
    ("anding-zhujian", "安定区住房和城乡建设局", "unsafe_housing", "dept-zhujian"),
    ("anding-shuiwu", "安定区水务局", "drinking_water", "dept-shuiwu"),
    ("anding-gongan", "定西市公安局安定分局", "hukou", "dept-gongan"),
    ("anding-shichang", "安定区市场监督管理局", "business", "dept-shichang"),
    ("anding-jiaoguan", "定西市公安局交通警察支队安定大队", "vehicle", "dept-jiaoguan"),
    ("anding-budongchan", "安定区不动产登记中心", "real_estate", "dept-budongchan"),
]
# A month of medical data, delivered a week ago: (name, total cost, paid out of pocket).
# 张建华 is over the county's line (a warning for 窝沟村, still unverified past its 5
# days), 魏家常 has an open case (a source on it), 马占山 is under the line.
DEMO_MEDICAL = [("张建华", 82000, 26000), ("魏家常", 150000, 60000), ("马占山", 3000, 800)]
WARNING_DAYS_AGO = 7

# How far a declaration has gone, in the order of the review.
SUBMITTED = "submitted"
WITHDRAWN = "withdrawn"
ACCEPTED = "accepted"
GREEN_CHANNEL = "green_channel"
VERIFIED = "verified"
APPEALED = "appealed"  # rejected by the village, the applicant appealed to the township
IN_NOTICE = "in_notice"
TOWNSHIP = "township"
COUNTY = "county"
ENROLLED = "enrolled"  # with its help plan approved and being delivered


@dataclass(frozen=True)
class Case:
    name: str
    spouse: str
    village: str
    difficulties: list[str]
    description: str
    days_ago: int  # declared then
    stage: str
    # Per-capita net income the home visit finds: under the county's line (7500) unless
    # the village rejects the case.
    income: int = 4500
    # Declared on the applicant's behalf by (name, relation): the household signs the
    # authorization letter at the home visit.
    declarant: tuple[str, str] | None = None


# The demo's declarations, one or more at each stage. Some are overdue: 李秀兰 and 赵永福
# not accepted within 5 working days, 何建军 not enrolled within 15.
# fmt: off
DEMO_CASES = [
    Case("魏家常", "李梅", WOGOU, ["illness"], "老伴住院做手术，花了六万多，家里没钱了。", 0, SUBMITTED),
    Case("张占军", "田秀芳", "620525100201", ["illness"], "突发脑出血，在省医院重症监护室。", 1, SUBMITTED),
    Case("李秀兰", "王国强", "621102100202", ["disaster"], "冰雹把今年的洋芋全打了。", 16, SUBMITTED),
    Case("赵永福", "马翠花", "621121100202", ["business_failure"], "养的羊得了病，死了一大半。", 16, SUBMITTED),
    Case("马小红", "马德胜", "621121100201", ["schooling"], "孩子考上大学，学费凑不齐。", 2, ACCEPTED),
    Case("冯秀珍", "李长江", WOGOU, ["accident"], "丈夫开三轮车翻了，人在医院抢救。", 3, GREEN_CHANNEL),
    Case("王建国", "张丽", "621102101201", ["accident", "income_shock"], "在工地摔断了腿，半年干不了活。", 3, VERIFIED, declarant=("王小东", "儿子")),
    Case("陈玉梅", "刘志刚", WOGOU, ["illness"], "丈夫查出尿毒症，每周要透析三次。", 5, IN_NOTICE),
    Case("杨树林", "高春燕", "621102100203", ["business_failure"], "种的中药材价格大跌，贷款还不上。", 12, TOWNSHIP),
    Case("何建军", "许丽娟", "621102100204", ["unstable_work"], "厂子倒闭了，一家人没了收入。", 35, TOWNSHIP),
    Case("周桂英", "周明", "621102100205", ["illness"], "乳腺癌化疗，自付部分实在负担不起。", 14, COUNTY, declarant=("周晓燕", "女儿")),
    Case("牛文斌", "杨小梅", "621102101202", ["disaster"], "暴雨冲塌了两间房，一家人借住在亲戚家。", 18, ENROLLED),
    Case("吴小燕", "孙海涛", "621102100202", ["income_shock"], "丈夫外出务工被拖欠工资。", 7, APPEALED, 16000),
    Case("郭志强", "罗桂兰", "621102101203", ["other"], "家里老人去世，欠了一些债。", 5, WITHDRAWN),
]
# fmt: on


@dataclass(frozen=True)
class Household:
    """A household monitored since before the system (enrolled directly by the county)."""

    head: str
    village: str
    risks: list[str]
    members: list[tuple[str, str, str]]  # (name, relation, labour capacity)
    days_ago: int
    plan_approved: bool


# fmt: off
DEMO_HOUSEHOLDS = [
    # Its help plan not drafted and its monthly visit not made: both overdue.
    Household("赵德明", WOGOU, ["illness", "unstable_work"], [("赵德明", "户主", LabourCapacity.PARTIAL), ("刘桂芳", "配偶", LabourCapacity.FULL), ("赵小强", "子", LabourCapacity.NONE)], 40, plan_approved=False),
    # Monitored for over two years, the backstop in place, visited lately.
    Household("孙玉兰", WOGOU, ["disability"], [("孙玉兰", "户主", LabourCapacity.NONE), ("孙福", "父亲", LabourCapacity.NONE)], 800, plan_approved=True),
]
# fmt: on


def demo_id_number(area: str, rng: random.Random) -> str:
    body = f"{area}{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    return body + id_check_digit(body)


def person_id(village_code: str, name: str) -> str:
    """The same ID number for a name wherever it appears (roster, case, department data)."""
    return demo_id_number(village_code[:6], random.Random(name))


def demo_mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"


def days_ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


# --- the demo's days (demo data only) ----------------------------------------------------

# What the services below stamp with the current time when they act (the clocks apart).

STAMPED = [
    (Declaration, "submitted_at"),
    (Consent, "given_at"),
    (VisitDocument, "uploaded_at"),
    (Transition, "at"),
    (Appeal, "filed_at"),
    (GreenChannel, "opened_at"),
    (GreenChannelHelp, "recorded_at"),
    (HouseholdVisit, "recorded_at"),
    (IncomeAssessment, "assessed_at"),
    (VillageEvaluation, "recorded_at"),
    (ResultAnnouncement, "recorded_at"),
    (PropertyCheck, "checked_at"),
    (MonitoredHousehold, "enrolled_at"),
    (MonitoredHousehold, "monitoring_since"),
    (HouseholdEvent, "at"),
    (IncomeRecord, "recorded_at"),
    (HelpPlan, "created_at"),
    (HelpPlan, "approved_at"),
    (PlanMeasure, "created_at"),
    (FollowUp, "scheduled_at"),
    (FeedBatch, "created_at"),
    (FeedBatch, "finished_at"),
    (Warning, "created_at"),
    (WarningSource, "at"),
]


@contextmanager
def on_day(day: dt.date):
    """What the services do inside the block happened on `day` (at 10:00), not now.

    The services take every step at the current time. Afterwards, this moves what they
    stamped to `day`: the rows of STAMPED, the clocks they started (due dates computed
    again by the deadline service, as if started then) and the clocks they met (met
    again by the deadline service then, so on time or late as of that day). A day in
    the past, one step at a time in order, so that the demo has a history."""
    since = timezone.now()
    yield
    if day >= timezone.localdate():
        return
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    # The demo writes its history back-dated: the one place history rows change.
    with HistoryEntry.unprotected(Transition, HouseholdEvent):
        for model, field in STAMPED:
            model.objects.filter(**{f"{field}__gte": since}).update(**{field: at})
    for clock in Clock.objects.filter(started_at__gte=since):
        due_on, provisional = due_date(clock.stage, timezone.localdate(at))
        Clock.objects.filter(pk=clock.pk).update(
            started_at=at, due_on=due_on, due_at=end_of_day(due_on), provisional=provisional
        )
        if clock.subject_type == hs.FOLLOW_UP_SUBJECT:
            FollowUp.objects.filter(pk=clock.subject_id).update(due_on=due_on)
    for clock in Clock.objects.filter(met_at__gte=since):
        Clock.objects.filter(pk=clock.pk).update(
            met_at=None, breached_at=None, working_days_taken=None, cancelled=False
        )
        clocks_meet(
            subject_type=clock.subject_type,
            subject_id=clock.subject_id,
            stages=[clock.stage],
            at=at,
            cancel=clock.cancelled,
        )


# --- places and people -----------------------------------------------------------------


def seed_places_and_people(rng: random.Random) -> None:
    """Regions, logins, the counties' monitoring lines and policy lists, the departments."""
    regions_import_csv(text=REGIONS_CSV.read_text(encoding="utf-8"))
    # One hash for every login: hashing is slow on purpose, and they share the password.
    password = make_password(DEMO_PASSWORD)
    reveal = Permission.objects.get(codename="reveal_personal_data")
    view_perms = list(Permission.objects.filter(codename__in=STAFF_PERMISSIONS))
    logins = list(NAMED_LOGINS)
    for village in Region.objects.filter(level=Level.VILLAGE):
        logins.append((f"grid-{village.code}", f"{village.name}网格员", village.code, Role.GRID))
    for username, full_name, code, role in logins:
        region = Region.objects.get(code=code)
        assert ROLE_LEVEL.get(role, region.level) == region.level
        user, created = User.objects.get_or_create(
            username=username, defaults={"full_name": full_name}
        )
        if created:
            user.password = password
            user.set_mobile(demo_mobile(rng))
            # County staff and above work in the admin (the county clerk's tool), and
            # the administrators, whose roles give them their permissions.
            user.is_staff = region.level <= Level.COUNTY or role in ADMIN_ROLES
            user.save()
            if role not in ADMIN_ROLES:
                user.user_permissions.add(reveal, *(view_perms if user.is_staff else []))
        StaffMembership.objects.get_or_create(user=user, region=region, role=role)
    User.objects.get_or_create(
        username="admin",
        defaults={
            "password": password,
            "full_name": "系统管理员",
            "is_staff": True,
            "is_superuser": True,
        },
    )

    # The counties' monitoring lines (per-capita net income a year), so the income
    # step of the review works, and their help-policy lists.
    today = timezone.localdate()
    for county in Region.objects.filter(level=Level.COUNTY):
        for year in (today.year - 1, today.year):
            MonitoringThreshold.objects.get_or_create(
                county=county, year=year, defaults={"amount": Decimal("7500.00")}
            )
        for name, kind, department, time_bound in DEMO_POLICIES:
            PolicyMeasure.objects.get_or_create(
                county=county,
                name=name,
                defaults={
                    "kind": kind,
                    "department": f"{county.name}{department}",
                    "time_bound": time_bound,
                },
            )

    anding = Region.objects.get(code=ANDING)
    builtin_ensure()  # the feeds the departments deliver (after a flush of the database)
    county_lines_set("medical", anding, today.year, threshold="15000", income_share="0.50")
    for code, name, kind, username in DEMO_DEPARTMENTS:
        department, _created = Department.objects.get_or_create(
            code=code, defaults={"name": name, "region": anding, "kinds": [kind]}
        )
        user, created = User.objects.get_or_create(username=username, defaults={"full_name": name})
        if created:
            user.password = password
            user.set_mobile(demo_mobile(rng))
            user.save()
        StaffMembership.objects.get_or_create(user=user, region=anding, role=Role.DEPARTMENT)
        DepartmentMember.objects.get_or_create(user=user, department=department)


ROSTER_HEADER = (
    "村代码,户编号,姓名,身份证号,与户主关系,劳动能力,健康状况,残疾等级,在校情况,是否脱贫户,组"
)


def roster_csv(code: str) -> bytes:
    rows = [ROSTER_HEADER]
    for number, group, poor, members in DEMO_ROSTER:
        for name, relation, labour, health in members:
            formerly_poor = "是" if poor else "否"
            rows.append(
                f"{code},{number},{name},{person_id(code, name)},{relation},{labour},{health},,,{formerly_poor},{group}"
            )
    return ("\n".join(rows) + "\n").encode()


def seed_roster() -> None:
    """窝沟村's roster through the real import (it runs when the upload commits), once."""
    if RosterHousehold.objects.filter(region_code=WOGOU).exists():
        return
    upload = SimpleUploadedFile("窝沟村花名册.csv", roster_csv(WOGOU), content_type="text/csv")
    roster_import_create(
        actor=User.objects.get(username="county-anding"),
        region=Region.objects.get(code=ANDING),
        upload=upload,
    )


# --- declarations ------------------------------------------------------------------------


def staff(username: str) -> User:
    return User.objects.get(username=username)


def township_of(village_code: str) -> User:
    return staff(
        {"621102100": "township-lujiagou", "621102101": "township-xiangquan"}[village_code[:9]]
    )


def county_of(village_code: str) -> User:
    return staff({"621102": "county-anding", "621121": "county-tongwei"}[village_code[:6]])


def policy(village_code: str, kind: str) -> PolicyMeasure:
    return PolicyMeasure.objects.filter(county__code=village_code[:6] + "000000", kind=kind).first()


def seed_case(case: Case, rng: random.Random) -> Declaration:
    """Declared `days_ago`, then taken as far as its stage, a step a day or two apart,
    each step by the user whose step it is."""
    declared = days_ago(case.days_ago)

    def day(n: int) -> dt.date:
        return min(declared + dt.timedelta(days=n), timezone.localdate())

    declarant = {}
    if case.declarant:
        declarant = {
            "on_behalf": True,
            "declarant_name": case.declarant[0],
            "declarant_phone": demo_mobile(rng),
            "declarant_relation": case.declarant[1],
        }
    with on_day(declared):
        declaration = ds.declaration_submit(
            village=Region.objects.get(code=case.village),
            data=ds.DeclarationInput(
                name=case.name,
                phone=demo_mobile(rng),
                id_number=person_id(case.village, case.name),
                address_group=f"{rng.randint(1, 6)}组",
                address_house=str(rng.randint(1, 80)),
                difficulties=case.difficulties,
                description=case.description,
                **declarant,
            ),
        ).declaration
    declaration = Declaration.objects.get(pk=declaration.pk)  # as moved to its day
    grid = staff(f"grid-{case.village}")
    if case.stage == SUBMITTED:
        return declaration
    if case.stage == WITHDRAWN:
        with on_day(day(2)):
            ds.declaration_withdraw(
                declaration=declaration, reason="家里的困难已经解决了。", by_applicant=True
            )
        return declaration
    with on_day(day(1)):
        ds.declaration_accept(declaration=declaration, actor=grid)
    if case.stage == GREEN_CHANNEL:
        with on_day(day(1)):
            ds.declaration_open_green_channel(
                declaration=declaration,
                actor=grid,
                cause=GreenCause.ACCIDENT,
                reason="伤者仍在抢救，家中无力支付押金，先行救助。",
            )
            ds.green_channel_record_help(
                declaration=declaration,
                actor=grid,
                help=ds.HelpInput(
                    title="",
                    policy=policy(case.village, PolicyKind.TEMPORARY),
                    responsible="窝沟村村委会",
                    delivered_on=day(1),
                    amount=Decimal("5000"),
                ),
            )
    if case.stage in (ACCEPTED, GREEN_CHANNEL):
        return declaration

    with on_day(day(2)):
        ds.declaration_record_visit(
            declaration=declaration,
            actor=grid,
            visit=VisitInput(
                visit_date=day(2),
                findings=case.description,
                members=[
                    ds.MemberInput(case.name, "户主", LabourCapacity.PARTIAL),
                    ds.MemberInput(case.spouse, "配偶", LabourCapacity.FULL),
                ],
                risk_types=case.difficulties,
                income_farming=Decimal(case.income * 2 + 6000),
                expense_medical=Decimal(6000),
            ),
        )
        # The household signs its letter at the visit; its register and ID card are
        # photographed; the information is compared the same day.
        sign_letter(declaration, grid)
        photograph(declaration, grid, DocumentKind.HOUSEHOLD_REGISTER, DocumentKind.ID_CARD)
        ds.declaration_assess_income(
            declaration=declaration, actor=grid, household_size=2, compared_on=day(2)
        )
    if case.stage == VERIFIED:
        return declaration
    if case.stage == APPEALED:
        with on_day(day(3)):
            ds.declaration_village_reject(
                declaration=declaration, actor=grid, reason="入户核查人均纯收入高于监测线。"
            )
        with on_day(day(4)):
            ds.appeal_file(
                declaration=declaration,
                reason="工资至今没有拿到，实际没有收入。",
                channel=AppealChannel.ONLINE,
            )
        return declaration

    # The evaluation, then five days of public notice in the village.
    with on_day(day(3)):
        (minutes,) = photograph(declaration, grid, DocumentKind.MINUTES)
        ds.declaration_record_evaluation(
            declaration=declaration,
            actor=grid,
            evaluation_date=day(3),
            outcome=EvaluationOutcome.AGREED,
            notice_start=day(3),
            notice_end=declared + dt.timedelta(days=7),
            minutes=minutes,
        )
    if case.stage == IN_NOTICE:
        return declaration
    with on_day(day(8)):
        ds.declaration_pass_to_township(declaration=declaration, actor=grid)
    if case.stage == TOWNSHIP:
        return declaration
    township = township_of(case.village)
    with on_day(day(9)):
        ds.declaration_record_property_check(
            declaration=declaration,
            actor=township,
            vehicles="无",
            housing="土坯房一处",
            business="无",
        )
        ds.declaration_township_approve(declaration=declaration, actor=township)
    if case.stage == COUNTY:
        return declaration
    county = county_of(case.village)
    with on_day(day(11)):
        ds.declaration_county_approve(declaration=declaration, actor=county)
    # The village posts the result for a week (结果公告).
    with on_day(day(12)):
        ds.declaration_record_announcement(
            declaration=declaration,
            actor=grid,
            start=day(12),
            end=day(12) + dt.timedelta(days=6),
            cleaned=blank_page("结果公告.jpg"),
        )
    deliver_plan(
        declaration.household,
        [PolicyKind.HOUSING, PolicyKind.TEMPORARY],
        grid=grid,
        township=township,
        county=county,
        start=day(12),
    )
    return declaration


def blank_page(name: str):
    """A photographed document: a blank page stands in for it."""
    photo = io.BytesIO()
    Image.new("RGB", (60, 80), "white").save(photo, "JPEG")
    return clean_upload(SimpleUploadedFile(name, photo.getvalue(), content_type="image/jpeg"))


def sign_letter(declaration: Declaration, grid: User) -> None:
    """The household's signed authorization letter (承诺授权书), photographed at the
    home visit and uploaded."""
    ds.consent_letter_upload(
        declaration=declaration, actor=grid, cleaned=blank_page("承诺授权书.jpg")
    )


def photograph(declaration: Declaration, grid: User, *kinds: str) -> list[VisitDocument]:
    """The village's photos of the case's documents (户口簿, 身份证, the minutes)."""
    return [
        ds.document_upload(
            declaration=declaration, actor=grid, kind=kind, cleaned=blank_page(f"{kind}.jpg")
        )
        for kind in kinds
    ]


# --- monitored households ----------------------------------------------------------------


def deliver_plan(household, kinds: list[str], *, grid, township, county, start: dt.date) -> None:
    """The household's plan with a measure of each kind, from `start` on: drafted,
    checked, approved, the first measure delivered and the others still to come."""

    def day(n: int) -> dt.date:
        return min(start + dt.timedelta(days=n), timezone.localdate())

    plan = household.plans.get()
    with on_day(day(0)):
        measures = [
            hs.plan_add_measure(
                plan=plan,
                actor=grid,
                measure=hs.MeasureInput(
                    policy=policy(household.region_code, kind), title="", responsible="驻村工作队"
                ),
            )
            for kind in kinds
        ]
        hs.plan_submit(plan=plan, actor=grid)
    with on_day(day(1)):
        hs.plan_township_pass(plan=plan, actor=township)
    with on_day(day(2)):
        hs.plan_approve(plan=plan, actor=county)
    with on_day(day(3)):
        hs.measure_record_delivery(
            measure=measures[0],
            actor=grid,
            delivered_on=day(3),
            evidence_note="已到户，户主签字确认。",
        )


def seed_household(household: Household) -> MonitoredHousehold:
    """Monitored since `days_ago`: its plan approved and a recent visit made, or not."""
    enrolled = days_ago(household.days_ago)
    grid = staff(f"grid-{household.village}")
    county = county_of(household.village)
    with on_day(enrolled):
        monitored = hs.household_enrol(
            village=Region.objects.get(code=household.village),
            head_name=household.head,
            head_id_number=person_id(household.village, household.head),
            risk_types=household.risks,
            per_capita_income=Decimal("4300.00"),
            members=[
                hs.MemberFacts(name=n, relation=r, id_number="", labour_capacity=c)
                for n, r, c in household.members
            ],
            actor=county,
        )
    if household.plan_approved:
        deliver_plan(
            monitored,
            [PolicyKind.BACKSTOP],
            grid=grid,
            township=township_of(household.village),
            county=county,
            start=enrolled + dt.timedelta(days=5),
        )
        visited = days_ago(12)
        with on_day(visited):
            hs.follow_up_record(
                follow_up=monitored.follow_ups.pending().get(),
                actor=grid,
                done_on=visited,
                findings="低保按月到账，老人身体平稳。",
                stability=Stability.STABLE,
            )
    return monitored


# --- department data ---------------------------------------------------------------------


def seed_medical_data() -> None:
    """A month of 安定区's medical data through the real upload (the import runs when it
    commits), once."""
    department = Department.objects.get(code="anding-yibao")
    if FeedBatch.objects.filter(department=department).exists():
        return
    delivered = days_ago(WARNING_DAYS_AGO)
    treated = (delivered - dt.timedelta(days=5)).isoformat()
    rows = ["身份证号,姓名,就诊日期,医疗总费用,个人自付"]
    rows += [
        f"{person_id(WOGOU, name)},{name},{treated},{total},{paid}"
        for name, total, paid in DEMO_MEDICAL
    ]
    upload = SimpleUploadedFile(
        "安定区医保数据.csv", ("\n".join(rows) + "\n").encode(), content_type="text/csv"
    )
    with on_day(delivered):
        feed_upload_create(
            actor=staff("dept-yibao"), department=department, kind="medical", upload=upload
        )


def seed_department_samples() -> None:
    """The sample files of 公安 (a death and a move in 窝沟村's monitored households,
    waiting for the village), 市场监管, 公安交管 and 不动产登记 (on the property check of
    the cases at the township), delivered through the real upload, once each."""
    from apps.screening.effects import SAMPLES

    for code, kind in (
        ("anding-gongan", "hukou"),
        ("anding-shichang", "business"),
        ("anding-jiaoguan", "vehicle"),
        ("anding-budongchan", "real_estate"),
    ):
        department = Department.objects.get(code=code)
        if FeedBatch.objects.filter(department=department).exists():
            continue
        upload = SimpleUploadedFile(
            f"{department.name}.csv",
            (SAMPLES / f"{kind}.csv").read_bytes(),
            content_type="text/csv",
        )
        user = department.members.select_related("user").first().user
        feed_upload_create(actor=user, department=department, kind=kind, upload=upload)


# --- all of it -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    declarations: int
    households: int
    logins: int


def seed() -> Seeded:
    """Make what is missing of the demo; what is there stays as it is. Then flag the
    breaches and send the reminders (the deadline sweep), and refresh the dashboards'
    figures, as the periodic jobs do."""
    rng = random.Random(2026)
    with transaction.atomic():
        seed_places_and_people(rng)
    seed_roster()
    for case in DEMO_CASES:
        if not Declaration.objects.filter(name=case.name, region_code=case.village).exists():
            with transaction.atomic():
                seed_case(case, rng)
    for household in DEMO_HOUSEHOLDS:
        if not MonitoredHousehold.objects.filter(
            head_name=household.head, region_code=household.village
        ).exists():
            with transaction.atomic():
                seed_household(household)
    seed_medical_data()
    seed_department_samples()
    sweep()
    figures_refresh(since=None)
    return Seeded(
        declarations=Declaration.objects.count(),
        households=MonitoredHousehold.objects.count(),
        logins=User.objects.count(),
    )
