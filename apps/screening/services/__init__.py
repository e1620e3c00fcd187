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
from .rules import Hit, Person, Village
from .verification import Applicant, Outcome, warning_verify

__all__ = [
    "SUBJECT",
    "Applicant",
    "Factor",
    "Hit",
    "Outcome",
    "Person",
    "Raised",
    "Village",
    "assistance_of",
    "civil_affairs_compare",
    "civil_affairs_export",
    "civil_affairs_exports_all",
    "combine",
    "declaration_route",
    "export_downloaded",
    "routing_receive",
    "warning_verify",
    "warnings_raise",
]
