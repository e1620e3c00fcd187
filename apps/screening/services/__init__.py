"""Every change of the screening app is one of these functions: each checks permission
and region scope, logs, moves clocks and queues notifications in one transaction."""

from apps.households.scoring import Factor, combine

from .civil import (
    assistance_of,
    civil_affairs_compare,
    civil_affairs_export,
    civil_affairs_exports_all,
    declaration_route,
    export_downloaded,
    routing_receive,
)
from .raising import SUBJECT, Raised, warnings_raise
from .rules import (
    Hit,
    MedicalLine,
    Person,
    Village,
    college_rule,
    default_medical_line,
    disability_rule,
    disaster_rule,
    medical_rule,
)
from .verification import Applicant, Outcome, warning_verify

__all__ = [
    "SUBJECT",
    "Applicant",
    "Factor",
    "Hit",
    "MedicalLine",
    "Outcome",
    "Person",
    "Raised",
    "Village",
    "assistance_of",
    "civil_affairs_compare",
    "civil_affairs_export",
    "civil_affairs_exports_all",
    "college_rule",
    "combine",
    "declaration_route",
    "default_medical_line",
    "disability_rule",
    "disaster_rule",
    "export_downloaded",
    "medical_rule",
    "routing_receive",
    "warning_verify",
    "warnings_raise",
]
