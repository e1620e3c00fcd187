"""The people of the shipped feeds' sample files (apps/screening/samples): 窝沟村's
roster as the demo has it (the same ID numbers, `apps.demo.seed.person_id`), its two
monitored households (赵德明's and 孙玉兰's, members without ID numbers on record, as
the demo enrols them), and open cases of 魏家常 (窝沟村), 杨树林 (小岔口村) and 何建军
(南川村)."""

from decimal import Decimal

from apps.core.identity import id_hash
from apps.declarations.services import declaration_submit
from apps.demo.seed import DEMO_ROSTER, WOGOU, person_id
from apps.households import services as hs
from apps.households.models import LabourCapacity, RosterHousehold, RosterMember

from .conftest import declaration_input

XIAOCHAKOU = "621102100203"
NANCHUAN = "621102100204"
CAPACITY = {"全部": "full", "部分": "partial", "无": "none"}


def roster(regions) -> dict[str, RosterHousehold]:
    households = {}
    for number, _group, poor, members in DEMO_ROSTER:
        h = RosterHousehold.objects.create(
            village=regions[WOGOU],
            region_code=WOGOU,
            number=number,
            head_name=members[0][0],
            formerly_poor=poor,
        )
        for name, relation, labour, _health in members:
            number_ = person_id(WOGOU, name)
            RosterMember.objects.create(
                household=h,
                name=name,
                relation=relation,
                id_number=number_,
                id_hash=id_hash(number_),
                labour_capacity=CAPACITY[labour],
            )
        households[members[0][0]] = h
    return households


def monitored(regions, county, head: str, members: list[tuple[str, str, str]]):
    return hs.household_enrol(
        village=regions[WOGOU],
        head_name=head,
        head_id_number=person_id(WOGOU, head),
        risk_types=["illness"],
        per_capita_income=Decimal("4300"),
        members=[
            hs.MemberFacts(name=n, relation=r, id_number="", labour_capacity=c)
            for n, r, c in members
        ],
        actor=county,
    )


def open_case(regions, village: str, name: str, phone: str):
    return declaration_submit(
        village=regions[village],
        data=declaration_input(name=name, id_number=person_id(village, name), phone=phone),
    ).declaration


def world(regions, county):
    """Everything above; returns the monitored households and the cases by name."""
    roster(regions)
    zhao = monitored(
        regions,
        county,
        "赵德明",
        [
            ("赵德明", "户主", LabourCapacity.PARTIAL),
            ("刘桂芳", "配偶", LabourCapacity.FULL),
            ("赵小强", "子", LabourCapacity.NONE),
        ],
    )
    sun = monitored(
        regions,
        county,
        "孙玉兰",
        [("孙玉兰", "户主", LabourCapacity.NONE), ("孙福", "父亲", LabourCapacity.NONE)],
    )
    cases = {
        "魏家常": open_case(regions, WOGOU, "魏家常", "13912345678"),
        "杨树林": open_case(regions, XIAOCHAKOU, "杨树林", "13912345679"),
        "何建军": open_case(regions, NANCHUAN, "何建军", "13912345670"),
    }
    return {"赵德明": zhao, "孙玉兰": sun}, cases
