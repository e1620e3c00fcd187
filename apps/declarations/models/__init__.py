from .appeals import Appeal, AppealChannel, AppealOutcome
from .case import (
    CLOSED_STATES,
    OPEN_STATES,
    STAFF_CHANNELS,
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
from .declarants import CaseDeclarant
from .green import GreenCause, GreenChannel, GreenChannelHelp
from .procedure import DEFAULT_STEP_POLICIES, ResultAnnouncement, Step, StepPolicy
from .review import (
    IDENTITY_KINDS,
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
    "IDENTITY_KINDS",
    "NOTICE_VERSION",
    "OPEN_STATES",
    "STAFF_CHANNELS",
    "ActionCode",
    "Appeal",
    "AppealChannel",
    "AppealOutcome",
    "CaseDeclarant",
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
