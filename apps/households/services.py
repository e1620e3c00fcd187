from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from apps.core.identity import id_hash

from .models import HouseholdMember, MonitoredHousehold


@dataclass(frozen=True)
class MemberFacts:
    name: str
    relation: str
    id_number: str
    labour_capacity: str
    health: str = ""
    disability_grade: int | None = None
    schooling: str = "none"


class AlreadyMonitored(Exception):
    def __init__(self, household: MonitoredHousehold):
        super().__init__(str(household))
        self.household = household


def household_enrol(
    *,
    village,
    head_name: str,
    head_id_number: str,
    risk_types: list[str],
    per_capita_income: Decimal | None,
    members: list[MemberFacts],
    actor,
) -> MonitoredHousehold:
    """Make a household monitored (纳入监测对象), with its members. Callers check who may."""
    head_hash = id_hash(head_id_number)
    existing = MonitoredHousehold.objects.filter(head_id_hash=head_hash).first()
    if existing:
        raise AlreadyMonitored(existing)
    with transaction.atomic():
        household = MonitoredHousehold.objects.create(
            village=village,
            region_code=village.code,
            head_name=head_name,
            head_id_number=head_id_number,
            head_id_hash=head_hash,
            risk_types=list(risk_types),
            per_capita_income=per_capita_income,
            enrolled_by=actor,
        )
        HouseholdMember.objects.bulk_create(
            [
                HouseholdMember(
                    household=household,
                    name=m.name,
                    relation=m.relation,
                    id_number=m.id_number,
                    id_hash=id_hash(m.id_number) if m.id_number else "",
                    labour_capacity=m.labour_capacity,
                    health=m.health,
                    disability_grade=m.disability_grade,
                    schooling=m.schooling,
                )
                for m in members
            ]
        )
    return household
