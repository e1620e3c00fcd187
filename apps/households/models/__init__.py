from apps.core.imports import Status as ImportStatus

from .households import (
    Category,
    Difficulty,
    HouseholdDocument,
    HouseholdEvent,
    HouseholdMember,
    HouseholdStatus,
    IncomeRecord,
    LabourCapacity,
    MemberLeft,
    MonitoredHousehold,
    MonitoringThreshold,
    Schooling,
)
from .monitoring import (
    EliminationProposal,
    EliminationState,
    FollowUp,
    LookBack,
    LookBackOutcome,
    Stability,
)
from .national import NationalExport, NationalImport
from .plans import (
    UNDELIVERED,
    HelpPlan,
    MeasureStatus,
    PlanMeasure,
    PlanState,
    PolicyKind,
    PolicyMeasure,
)
from .roster import RosterHousehold, RosterImport, RosterMember

__all__ = [
    "UNDELIVERED",
    "Category",
    "Difficulty",
    "EliminationProposal",
    "EliminationState",
    "FollowUp",
    "HelpPlan",
    "HouseholdDocument",
    "HouseholdEvent",
    "HouseholdMember",
    "HouseholdStatus",
    "ImportStatus",
    "IncomeRecord",
    "LabourCapacity",
    "LookBack",
    "LookBackOutcome",
    "MeasureStatus",
    "MemberLeft",
    "MonitoredHousehold",
    "MonitoringThreshold",
    "NationalExport",
    "NationalImport",
    "PlanMeasure",
    "PlanState",
    "PolicyKind",
    "PolicyMeasure",
    "RosterHousehold",
    "RosterImport",
    "RosterMember",
    "Schooling",
    "Stability",
]
