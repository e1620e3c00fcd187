from .resolve import OUTCOMES, ROUND_ROLES, RUN_ROLES, item_resolve, round_open
from .run import CLOCK_SUBJECT, facts_of, run_rules

__all__ = [
    "CLOCK_SUBJECT",
    "OUTCOMES",
    "ROUND_ROLES",
    "RUN_ROLES",
    "facts_of",
    "item_resolve",
    "round_open",
    "run_rules",
]
