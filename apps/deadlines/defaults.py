"""The policy's deadline table: what a fresh database starts with, and what applies to a
stage whose row a provincial admin has not (yet) entered."""

# stage: (limit, unit, the event that starts the clock, policy source)
DEFAULT_POLICIES = {
    "verify": (5, "working_days", "submission", "甘乡振局发〔2023〕8号; 甘农防发〔2025〕1号 §5"),
    "feedback": (5, "working_days", "home visit recorded", "甘乡振局发〔2023〕8号 申报须知4"),
    "enrol": (15, "working_days", "submission", "甘乡振局发〔2023〕8号; 甘农防发〔2025〕1号 §5"),
    "appeal": (5, "working_days", "appeal filed", "project default"),
    "help_plan": (10, "days", "enrolment", "甘肃日报 report on 一键申报 (2025)"),
    "green_channel": (1, "months", "green channel opened", "甘农防发〔2025〕1号 §5"),
    "warning": (5, "days", "warning issued", "甘民发〔2023〕53号"),
    # 走访: monthly for 脱贫不稳定户, quarterly for the other categories (project default).
    "follow_up": (3, "months", "enrolment or the last follow-up visit", "project default"),
    "follow_up_close": (1, "months", "enrolment or the last follow-up visit", "project default"),
    "look_back": (
        1,
        "months",
        "household drawn for the look-back review",
        "甘农防发〔2025〕1号 §7",
    ),
    # 录入国家系统: the county hands a newly enrolled household to the national system.
    "national_record": (5, "working_days", "enrolment", "project default"),
    # 常态化抽验复核: the county answers a checker's disagreement with a decided case.
    "spot_check": (10, "working_days", "spot-check disagreement recorded", "project default"),
    # 数据质量: the village corrects or confirms what a data-quality rule found.
    "data_quality": (5, "working_days", "item found by a data-quality rule", "project default"),
}
