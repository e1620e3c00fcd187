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
