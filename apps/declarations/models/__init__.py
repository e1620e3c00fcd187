from .appeals import Appeal, AppealChannel, AppealOutcome
from .case import (
    CLOSED_STATES,
    OPEN_STATES,
    Channel,
    Declaration,
    Difficulty,
    Level,
    State,
    Transition,
    format_tracking_number,
    new_tracking_number,
)
from .codes import ActionCode
from .consent import NOTICE_VERSION, Consent, ConsentChannel, ConsentGiver
from .green import GreenCause, GreenChannel, GreenChannelHelp
from .procedure import DEFAULT_STEP_POLICIES, ResultAnnouncement, Step, StepPolicy
from .review import (
    DocumentKind,
    EvaluationOutcome,
    HouseholdVisit,
    IncomeAssessment,
    PropertyCheck,
    VillageEvaluation,
    VisitDocument,
    VisitMember,
)

__all__ = [
    "CLOSED_STATES",
    "DEFAULT_STEP_POLICIES",
    "NOTICE_VERSION",
    "OPEN_STATES",
    "ActionCode",
    "Appeal",
    "AppealChannel",
    "AppealOutcome",
    "Channel",
    "Consent",
    "ConsentChannel",
    "ConsentGiver",
    "Declaration",
    "Difficulty",
    "DocumentKind",
    "EvaluationOutcome",
    "GreenCause",
    "GreenChannel",
    "GreenChannelHelp",
    "HouseholdVisit",
    "IncomeAssessment",
    "Level",
    "PropertyCheck",
    "ResultAnnouncement",
    "State",
    "Step",
    "StepPolicy",
    "Transition",
    "VillageEvaluation",
    "VisitDocument",
    "VisitMember",
    "format_tracking_number",
    "new_tracking_number",
]
