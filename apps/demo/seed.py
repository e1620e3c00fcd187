"""Demo data for `make run`: the demo province, one login per role and level, and a
handful of declarations. Idempotent; refuses to run outside demo mode."""

import random
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.identity import id_check_digit
from apps.households.models import (
    LabourCapacity,
    MonitoredHousehold,
    MonitoringThreshold,
    PolicyKind,
    PolicyMeasure,
)
from apps.households.services import MemberFacts, household_enrol
from apps.regions.models import ROLE_LEVEL, Level, Region, Role, StaffMembership
from apps.regions.services import regions_import_csv

from ...models import Declaration
from ...services import DeclarationInput, declaration_submit

DEMO_PASSWORD = "demo-2026"  # noqa: S105 — demo mode only
REGIONS_CSV = Path(__file__).resolve().parents[3] / "regions" / "data" / "demo_regions.csv"

# Named logins listed in the README: (username, full name, region code, role).
NAMED_LOGINS = [
    ("province", "省级管理员", "620000000000", Role.PROVINCE),
    ("city-dingxi", "定西市乡村振兴局", "621100000000", Role.CITY),
    ("county-anding", "安定区乡村振兴局", "621102000000", Role.COUNTY),
    ("county-tongwei", "通渭县乡村振兴局", "621121000000", Role.COUNTY),
    ("township-lujiagou", "鲁家沟镇防贫办", "621102100000", Role.TOWNSHIP),
    ("township-xiangquan", "香泉镇防贫办", "621102101000", Role.TOWNSHIP),
    ("village-wogou", "窝沟村村委会", "621102100201", Role.VILLAGE),
]

DEMO_DECLARATIONS = [
    ("魏家常", "621102100201", ["illness"], "老伴住院做手术，花了六万多，家里没钱了。"),
    ("李秀兰", "621102100202", ["disaster"], "冰雹把今年的洋芋全打了。"),
    ("王建国", "621102101201", ["accident", "income_shock"], "在工地摔断了腿，半年干不了活。"),
    ("马小红", "621121100201", ["schooling"], "孩子考上大学，学费凑不齐。"),
    ("张占军", "620525100201", ["illness"], "突发脑出血，在省医院重症监护室。"),
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

# Households already monitored in the demo, so that help plans can be drafted at once:
# (head, village, risks, members as (name, relation, labour, has skills)).
DEMO_HOUSEHOLDS = [
    (
        "赵德明",
        "621102100201",
        ["illness", "unstable_work"],
        [
            ("赵德明", "户主", LabourCapacity.PARTIAL, False),
            ("刘桂芳", "配偶", LabourCapacity.FULL, False),
            ("赵小强", "子", LabourCapacity.NONE, False),
        ],
    ),
    (
        "孙玉兰",
        "621102100201",
        ["disability"],
        [
            ("孙玉兰", "户主", LabourCapacity.NONE, False),
            ("孙福", "父亲", LabourCapacity.NONE, False),
        ],
    ),
]


# The population roster of 窝沟村 for the demo: (household number, group, formerly poor,
# members as (name, relation, labour, health)). The heads of the demo declarations and
# households are in it, so that department data finds them.
DEMO_ROSTER = [
    ("001", "3组", False, [("魏家常", "户主", "部分", "健康"), ("李梅", "配偶", "无", "重病")]),
    (
        "002",
        "1组",
        True,
        [
            ("赵德明", "户主", "部分", "慢性病"),
            ("刘桂芳", "配偶", "全部", "健康"),
            ("赵小强", "子", "无", "健康"),
        ],
    ),
    ("003", "2组", True, [("孙玉兰", "户主", "无", "残疾"), ("孙福", "父亲", "无", "年老体弱")]),
    (
        "004",
        "2组",
        False,
        [
            ("张建华", "户主", "全部", "健康"),
            ("王秀英", "配偶", "全部", "健康"),
            ("张伟", "子", "全部", "健康"),
        ],
    ),
    ("005", "4组", True, [("马占山", "户主", "全部", "健康"), ("马玉梅", "女", "无", "健康")]),
]


# Departments of 安定区 with a demo login each: (code, name, feed, login).
DEMO_DEPARTMENTS = [
    ("anding-yibao", "安定区医疗保障局", "medical", "dept-yibao"),
    ("anding-minzheng", "安定区民政局", "assistance", "dept-minzheng"),
]
# One month of medical data: (name, total cost, paid out of pocket). 张建华 is over the
# county's line (a warning), 魏家常 has an open case (a source on it), 马占山 is under.
DEMO_MEDICAL = [("张建华", 82000, 26000), ("魏家常", 150000, 60000), ("马占山", 3000, 800)]


def demo_id_number(area: str, rng: random.Random) -> str:
    body = f"{area}{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    return body + id_check_digit(body)


def demo_mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"


def demo_roster_csv(village_code: str) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "村代码",
            "户编号",
            "姓名",
            "身份证号",
            "与户主关系",
            "劳动能力",
            "健康状况",
            "残疾等级",
            "在校情况",
            "是否脱贫户",
            "组",
        ]
    )
    for number, group, poor, members in DEMO_ROSTER:
        for name, relation, labour, health in members:
            id_number = demo_id_number(village_code[:6], random.Random(name))
            writer.writerow(
                [
                    village_code,
                    number,
                    name,
                    id_number,
                    relation,
                    labour,
                    health,
                    "",
                    "",
                    "是" if poor else "否",
                    group,
                ]
            )
    return out.getvalue().encode("utf-8")


class Command(BaseCommand):
    help = "Load the demo province, staff logins and a few declarations (demo mode only)."

    def _screening(self, rng) -> None:
        """Two departments of 安定区 with a login each, the county's medical-cost line,
        and one month of medical data delivered through the real import: a warning for
        窝沟村 to verify, and a source on 魏家常's open case."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        from apps.screening.feeds import feed_upload_create
        from apps.screening.models import Department, DepartmentMember, FeedKind, MedicalThreshold

        anding = Region.objects.get(code="621102000000")
        MedicalThreshold.objects.get_or_create(
            county=anding,
            year=timezone.localdate().year,
            defaults={"out_of_pocket": Decimal("15000"), "income_share": Decimal("0.50")},
        )
        clerks = {}
        for code, name, kind, username in DEMO_DEPARTMENTS:
            department, _created = Department.objects.get_or_create(
                code=code, defaults={"name": name, "region": anding, "kinds": [kind]}
            )
            user, created = User.objects.get_or_create(
                username=username, defaults={"full_name": name}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.set_mobile(demo_mobile(rng))
                user.save()
            StaffMembership.objects.get_or_create(user=user, region=anding, role=Role.DEPARTMENT)
            DepartmentMember.objects.get_or_create(user=user, department=department)
            clerks[kind] = (user, department)
        user, department = clerks[FeedKind.MEDICAL]
        rows = ["身份证号,姓名,就诊日期,医疗总费用,个人自付"]
        for name, total, paid in DEMO_MEDICAL:
            number = demo_id_number("621102", random.Random(name))
            rows.append(f"{number},{name},2026-11-20,{total},{paid}")
        upload = SimpleUploadedFile(
            "安定区医保2026年11月.csv", ("\n".join(rows) + "\n").encode(), content_type="text/csv"
        )
        feed_upload_create(actor=user, department=department, kind=FeedKind.MEDICAL, upload=upload)

    def _roster(self, actor) -> None:
        """Import 窝沟村's roster through the real import, once."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        from apps.households.models import RosterHousehold
        from apps.households.roster import roster_import_create

        code = "621102100201"
        if RosterHousehold.objects.filter(region_code=code).exists():
            return
        upload = SimpleUploadedFile(
            "窝沟村花名册.csv", demo_roster_csv(code), content_type="text/csv"
        )
        roster_import_create(
            actor=actor, region=Region.objects.get(code=code[:6] + "000000"), upload=upload
        )

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError(
                "seed_demo runs only with DEMO_MODE on; it creates logins with a known password."
            )
        rng = random.Random(2026)
        with transaction.atomic():
            result = regions_import_csv(text=REGIONS_CSV.read_text(encoding="utf-8"))
            self.stdout.write(
                f"regions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
            )
            reveal = Permission.objects.get(codename="reveal_personal_data")
            view_perms = list(
                Permission.objects.filter(
                    codename__in=[
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
                )
            )
            logins = list(NAMED_LOGINS)
            for village in Region.objects.filter(level=Level.VILLAGE):
                logins.append(
                    (f"grid-{village.code}", f"{village.name}网格员", village.code, Role.GRID)
                )
            for username, full_name, code, role in logins:
                region = Region.objects.get(code=code)
                assert ROLE_LEVEL[role] == region.level
                user, created = User.objects.get_or_create(
                    username=username, defaults={"full_name": full_name}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.set_mobile(demo_mobile(rng))
                    # County staff and above work in the admin (the county clerk's tool).
                    user.is_staff = region.level <= Level.COUNTY
                    user.save()
                    user.user_permissions.add(reveal, *(view_perms if user.is_staff else []))
                StaffMembership.objects.get_or_create(user=user, region=region, role=role)
            # The counties' monitoring lines (per-capita net income a year), so the
            # income step of the review works in the demo.
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
            if not User.objects.filter(username="admin").exists():
                User.objects.create_superuser("admin", "", DEMO_PASSWORD, full_name="系统管理员")

            for name, village_code, kinds, description in DEMO_DECLARATIONS:
                village = Region.objects.get(code=village_code)
                id_number = demo_id_number(village_code[:6], random.Random(name))
                if Declaration.objects.filter(name=name, region_code=village_code).exists():
                    continue
                declaration_submit(
                    village=village,
                    data=DeclarationInput(
                        name=name,
                        phone=demo_mobile(rng),
                        id_number=id_number,
                        address_group="3组",
                        address_house=str(rng.randint(1, 80)),
                        difficulties=kinds,
                        description=description,
                    ),
                )
            county_clerk = User.objects.get(username="county-anding")
            for head, village_code, risks, members in DEMO_HOUSEHOLDS:
                if MonitoredHousehold.objects.filter(head_name=head, region_code=village_code):
                    continue
                household_enrol(
                    village=Region.objects.get(code=village_code),
                    head_name=head,
                    head_id_number=demo_id_number(village_code[:6], random.Random(head)),
                    risk_types=risks,
                    per_capita_income=Decimal("4300.00"),
                    members=[
                        MemberFacts(
                            name=n, relation=r, id_number="", labour_capacity=c, has_skills=k
                        )
                        for n, r, c, k in members
                    ],
                    actor=county_clerk,
                )
            self._roster(county_clerk)
            # After the roster (the imports run in this order once the seed commits).
            self._screening(rng)
        village = Region.objects.get(code="621102100201")
        base = "http://127.0.0.1:8000"
        self.stdout.write(
            self.style.SUCCESS("\nDemo ready.")
            + f"\n  Farmer's form ({village.name}): {base}/v/{village.public_slug}/"
            + f"\n  Staff sign-in: {base}/accounts/login/   admin: {base}/admin/"
            + f"\n  Logins, password {DEMO_PASSWORD}: admin, province, city-dingxi, county-anding,"
            + " township-lujiagou, village-wogou, grid-<village code> (e.g. grid-621102100201),"
            + " dept-yibao, dept-minzheng\n"
        )
