"""Steps that bring a case through the review workflow, shared by the tests."""

import datetime as dt
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from apps.core.uploads import clean_upload
from apps.declarations import services as s
from apps.declarations.models import EvaluationOutcome
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


def sign_letter(declaration, grid):
    """The household's signed authorization letter, uploaded by the village: needed
    before the income or property of a case the applicant did not declare is checked
    (use the `media` fixture)."""
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), (250, 250, 250)).save(photo, "JPEG")
    letter = SimpleUploadedFile("letter.jpg", photo.getvalue(), content_type="image/jpeg")
    return s.consent_letter_upload(
        declaration=declaration, actor=grid, cleaned=clean_upload(letter)
    )


def to_verified(declaration, grid):
    s.declaration_accept(declaration=declaration, actor=grid)
    s.declaration_record_visit(declaration=declaration, actor=grid, visit=visit())


def to_notice(declaration, grid, *, notice_end=None):
    to_verified(declaration, grid)
    s.declaration_assess_income(declaration=declaration, actor=grid, household_size=2)
    today = timezone.localdate()
    s.declaration_record_evaluation(
        declaration=declaration,
        actor=grid,
        evaluation_date=today - dt.timedelta(days=15),
        outcome=EvaluationOutcome.AGREED,
        notice_start=today - dt.timedelta(days=14),
        notice_end=notice_end or today - dt.timedelta(days=8),
    )


def to_township(declaration, grid):
    to_notice(declaration, grid)
    s.declaration_pass_to_township(declaration=declaration, actor=grid)


def to_county(declaration, grid, township):
    to_township(declaration, grid)
    s.declaration_record_property_check(
        declaration=declaration, actor=township, vehicles="无", housing="土坯房一处", business="无"
    )
    s.declaration_township_approve(declaration=declaration, actor=township)
