"""The procedure's policy per step: the documents a step needs on file before it can be
recorded, and the shortest period of the notices. Policy, so in data: provincial admins
edit it in the admin, next to the deadline policy (apps.deadlines); a step without a
row follows the built-in default below."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import protected_link

from .case import Declaration
from .review import DocumentKind, VisitDocument


class Step(models.TextChoices):
    INCOME = "income", _("income comparison")
    PROPERTY = "property", _("property check")
    NOTICE = "notice", _("public notice")
    PASS_UP = "pass_up", _("passing the case to the township")
    ANNOUNCEMENT = "announcement", _("result announcement")


# step: (documents required before it, minimum days (notices), policy source)
DEFAULT_STEP_POLICIES = {
    Step.INCOME: ([DocumentKind.CONSENT], None, "甘乡振局发〔2023〕8号 承诺授权书"),
    Step.PROPERTY: ([DocumentKind.CONSENT], None, "甘乡振局发〔2023〕8号 承诺授权书"),
    Step.NOTICE: ([], 5, "公示时间不少于5天"),
    Step.PASS_UP: (
        [DocumentKind.HOUSEHOLD_REGISTER, DocumentKind.ID_CARD, DocumentKind.MINUTES],
        None,
        "甘乡振局发〔2023〕8号",
    ),
    Step.ANNOUNCEMENT: ([], None, "project default"),
}


class StepPolicy(models.Model):
    step = models.CharField(_("step"), max_length=16, choices=Step.choices, unique=True)
    # Kinds of document (DocumentKind values); the admin offers them as checkboxes.
    required_documents = models.JSONField(
        _("documents required before the step"), default=list, blank=True
    )
    minimum_days = models.PositiveSmallIntegerField(
        _("minimum days (notices, counting both ends)"), null=True, blank=True
    )
    # The lists posted in the village (公示名单, 结果公告) show name, village group and
    # difficulty, never an ID number; the policy may also want names masked (张*).
    names_masked = models.BooleanField(_("names masked on posted lists"), default=False)
    source = models.CharField(_("policy source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("procedure step policy")
        verbose_name_plural = _("procedure step policies")
        ordering = ["step"]

    def __str__(self):
        return str(self.get_step_display())

    @classmethod
    def for_step(cls, step: str) -> "StepPolicy":
        """The step's row, or the built-in default while it has none."""
        policy = cls.objects.filter(step=step).first()
        if policy is None:
            documents, days, source = DEFAULT_STEP_POLICIES[step]
            policy = cls(
                step=step,
                required_documents=[str(d) for d in documents],
                minimum_days=days,
                source=source,
            )
        return policy

    def get_required_documents_display(self) -> str:
        labels = dict(DocumentKind.choices)
        return "、".join(str(labels.get(k, k)) for k in self.required_documents)


class ResultAnnouncement(models.Model):
    """结果公告: after the county's approval, the village posts the result; recorded
    with its dates and a photo of the posted announcement."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="announcements"
    )
    start = models.DateField(_("posted from"))
    end = models.DateField(_("posted until"))
    document = protected_link(VisitDocument, _("photo of the posted announcement"))
    recorded_by = protected_link(settings.AUTH_USER_MODEL, _("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("result announcement")
        verbose_name_plural = _("result announcements")
        ordering = ["-start", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")),
                name="announcement_ends_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.declaration} {self.start}"
