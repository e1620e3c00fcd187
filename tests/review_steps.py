"""Steps that bring a case through the review workflow, shared by the tests."""

import datetime as dt
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from apps.core.uploads import clean_upload
from apps.declarations import services as s
from apps.declarations.models import DocumentKind, EvaluationOutcome
from apps.declarations.services.review import VisitInput
from apps.households.models import LabourCapacity


def visit(**overrides):
    values = dict(
        visit_date=timezone.localdate() - dt.timedelta(days=20),
        findings="老伴住院，花费六万，家中无其他收入。",
        members=[
            s.MemberInput(
                name="魏家常", relation="户主", labour_capacity=LabourCapacity.PARTIAL, id_number=""
            ),
            s.MemberInput(
                name="李梅", relation="配偶", labour_capacity=LabourCapacity.NONE, health="重病"
            ),
        ],
        risk_types=["illness"],
        income_farming=Decimal("12000"),
        expense_medical=Decimal("9000"),
    )
    values.update(overrides)
    return VisitInput(**values)


def photo(name="photo.jpg"):
    data = io.BytesIO()
    Image.new("RGB", (40, 30), (250, 250, 250)).save(data, "JPEG")
    return clean_upload(SimpleUploadedFile(name, data.getvalue(), content_type="image/jpeg"))


def sign_letter(declaration, grid):
    """The household's signed authorization letter, uploaded by the village: needed
    before the household's income or property is checked."""
    return s.consent_letter_upload(declaration=declaration, actor=grid, cleaned=photo())


def upload(declaration, grid, *kinds):
    for kind in kinds:
        s.document_upload(declaration=declaration, actor=grid, kind=kind, cleaned=photo())


# The photos the village files before passing a case up (the procedure's default policy).
PASS_UP_DOCUMENTS = (DocumentKind.HOUSEHOLD_REGISTER, DocumentKind.ID_CARD, DocumentKind.MINUTES)


def to_verified(declaration, grid, *, letter=True):
    """Accepted and visited; at the visit the household signs its authorization letter
    (unless `letter` is false)."""
    s.declaration_accept(declaration=declaration, actor=grid)
    s.declaration_record_visit(declaration=declaration, actor=grid, visit=visit())
    if letter and s.authorization_missing(declaration):
        sign_letter(declaration, grid)


def to_notice(declaration, grid, *, notice_end=None, documents=True):
    """Through the evaluation to the public notice; with the photos the village files
    before passing it up (household register and ID card at the visit, the minutes of
    the evaluation), unless `documents` is false."""
    to_verified(declaration, grid)
    today = timezone.localdate()
    s.declaration_assess_income(
        declaration=declaration,
        actor=grid,
        household_size=2,
        compared_on=today - dt.timedelta(days=18),
    )
    s.declaration_record_evaluation(
        declaration=declaration,
        actor=grid,
        evaluation_date=today - dt.timedelta(days=15),
        outcome=EvaluationOutcome.AGREED,
        notice_start=today - dt.timedelta(days=14),
        notice_end=notice_end or today - dt.timedelta(days=8),
    )
    if documents:
        upload(declaration, grid, *PASS_UP_DOCUMENTS)


def to_township(declaration, grid):
    to_notice(declaration, grid)
    s.declaration_pass_to_township(declaration=declaration, actor=grid)


def to_county(declaration, grid, township):
    to_township(declaration, grid)
    s.declaration_record_property_check(
        declaration=declaration, actor=township, vehicles="无", housing="土坯房一处", business="无"
    )
    s.declaration_township_approve(declaration=declaration, actor=township)


# --- the visit form, step by step (the pages under staff:visit_step) -------------------

VISIT_STEPS = ("date", "members", "money", "findings")


def step_url(declaration, step: str) -> str:
    from django.urls import reverse

    return reverse("staff:visit_step", args=[declaration.tracking_number, step])


def member_post(members: list[dict], prefix: str = "m") -> dict:
    """A members step's POST: each dict gives name, relation, labour_capacity, …"""
    data = {f"{prefix}-TOTAL_FORMS": str(len(members)), f"{prefix}-INITIAL_FORMS": "0"}
    for i, m in enumerate(members):
        data.update({f"{prefix}-{i}-schooling": "none"})
        data.update({f"{prefix}-{i}-{k}": v for k, v in m.items()})
    return data


MONEY_KEYS = (
    "income_wages",
    "income_farming",
    "income_business",
    "income_property",
    "income_transfer",
    "expense_medical",
    "expense_education",
    "expense_disaster",
)


def visit_by_steps(client, declaration, *, visit_date=None, members=None, money=None, **last):
    """Record a visit through its four pages, as a grid worker's browser would; returns
    the last step's response. `last` holds the findings step's fields."""
    visit_date = visit_date or timezone.localdate() - dt.timedelta(days=20)
    members = (
        members
        if members is not None
        else [
            {"name": "魏家常", "relation": "户主", "labour_capacity": LabourCapacity.PARTIAL},
            {
                "name": "李梅",
                "relation": "配偶",
                "labour_capacity": LabourCapacity.NONE,
                "health": "重病",
            },
        ]
    )
    amounts = {k: "0" for k in MONEY_KEYS} | (
        money or {"income_farming": "12000", "expense_medical": "9000"}
    )
    steps = [
        ("date", {"visit_date": visit_date.isoformat()}),
        ("members", member_post(members)),
        ("money", amounts),
        ("findings", {"risk_types": ["illness"], "findings": "老伴住院，花费六万。"} | last),
    ]
    for step, data in steps:
        response = client.post(step_url(declaration, step), data)
        if response.status_code != 302 or step == "findings":
            return response
    return response


SAVE_STEP = "main form.visit-step button[type=submit]:not([name=add])"


def fill_visit_steps(page, *, visit_date, members, money, risk_types, findings, each_step=None):
    """In the browser, on the visit form's first step: go through the four steps and
    record the visit. `members` are dicts of name, relation, labour_capacity and
    optionally health; the first block is the one prefilled, the others are added with
    the "add a member" button. `each_step(name)` runs on each step before it is saved
    (screenshots, layout checks)."""

    def save():
        with page.expect_navigation():
            page.click(SAVE_STEP)

    page.fill("input[name=visit_date]", visit_date.isoformat())
    each_step and each_step("date")
    save()
    for i, m in enumerate(members):
        if i >= page.locator("fieldset.member").count():
            with page.expect_navigation():
                page.click("main form button[name=add]")
        page.fill(f"input[name=m-{i}-name]", m["name"])
        page.fill(f"input[name=m-{i}-relation]", m["relation"])
        page.select_option(f"select[name=m-{i}-labour_capacity]", m["labour_capacity"])
        if m.get("health"):
            page.click(f"fieldset.member:nth-of-type({i + 1}) details > summary")
            page.fill(f"input[name=m-{i}-health]", m["health"])
    each_step and each_step("members")
    save()
    for name, value in money.items():
        page.fill(f"input[name={name}]", value)
    each_step and each_step("money")
    save()
    for risk in risk_types:
        page.check(f"input[name=risk_types][value={risk}]")
    page.fill("textarea[name=findings]", findings)
    each_step and each_step("findings")
    save()
