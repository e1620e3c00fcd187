"""The Django admin: the county clerk's main tool.

Read-only pages over the county's cases (scoped by `visible_to`), with the findings of
the village and the township on one page, and approve / return / reject buttons that
call the same services as the worker pages. A button is shown only when the user's
role and the case's state allow it, and the POST is checked again by the service, so
the admin neither offers nor accepts a transition the user may not make.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.audit.admin import ViewAuditedAdmin
from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.deadlines.admin import ProvincialAdminOnly
from apps.households.models import Difficulty, difficulty_labels
from apps.regions.models import COUNTY_ROLES, Level, Region, user_memberships

from . import services
from .forms_review import ReasonForm
from .models import (
    Appeal,
    CaseDeclarant,
    Consent,
    Declaration,
    DocumentKind,
    HouseholdVisit,
    IncomeAssessment,
    PropertyCheck,
    State,
    StepPolicy,
    Transition,
    VillageEvaluation,
    VisitDocument,
)
from .selectors import (
    WORKLIST_ORDER,
    DaysLeft,
    available_actions,
    days_left_conditions,
    log_label,
    queue_rows,
    search_filter,
    with_due_on,
)

COUNTY_ACTIONS = ("county_approve", "county_return", "county_reject")


class TransitionInline(ReadOnlyInline):
    model = Transition
    fields = readonly_fields = ("at", "what", "summary", "actor", "actor_label", "reason")

    @admin.display(description=_("what"))
    def what(self, obj):
        return log_label(obj)


class VisitInline(ReadOnlyInline):
    model = HouseholdVisit
    fields = readonly_fields = (
        "visit_date",
        "findings",
        "income_total",
        "rigid_expenses",
        "risk_types_display",
        "members_list",
        "recorded_by",
    )

    @admin.display(description=_("income, last 12 months"))
    def income_total(self, obj):
        return obj.income_total

    @admin.display(description=_("rigid expenses"))
    def rigid_expenses(self, obj):
        return obj.rigid_expenses

    @admin.display(description=_("risk types found"))
    def risk_types_display(self, obj):
        return difficulty_labels(obj.risk_types)

    @admin.display(description=_("household members"))
    def members_list(self, obj):
        return format_html_join(
            "",
            "<div>{}（{}）{} {}</div>",
            (
                (m.name, m.relation, m.get_labour_capacity_display(), m.health)
                for m in obj.members.all()
            ),
        )


class IncomeInline(ReadOnlyInline):
    model = IncomeAssessment
    fields = readonly_fields = (
        "household_size",
        "net_income",
        "per_capita",
        "threshold",
        "threshold_year",
        "below_threshold",
    )


class EvaluationInline(ReadOnlyInline):
    model = VillageEvaluation
    fields = readonly_fields = (
        "evaluation_date",
        "outcome",
        "notice_start",
        "notice_end",
        "minutes_link",
    )

    @admin.display(description=_("minutes"))
    def minutes_link(self, obj):
        if not obj.minutes_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("staff:document", args=[obj.minutes_id]), _t("open")
        )


class PropertyInline(ReadOnlyInline):
    model = PropertyCheck
    fields = readonly_fields = (
        "vehicles_checked",
        "vehicles_result",
        "housing_checked",
        "housing_result",
        "business_checked",
        "business_result",
        "checked_by",
        "checked_at",
    )


class DocumentInline(ReadOnlyInline):
    model = VisitDocument
    fields = readonly_fields = ("kind", "link", "uploaded_by", "uploaded_at")

    @admin.display(description=_("file"))
    def link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("staff:document", args=[obj.pk]), _t("open")
        )


class DeclarantInline(ReadOnlyInline):
    """Members of the household who declared while the case was open."""

    model = CaseDeclarant
    fields = readonly_fields = (
        "name",
        "relation",
        "id_number_masked",
        "phone_masked",
        "difficulties_display",
        "channel",
        "declared_at",
    )

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj):
        return obj.id_number_masked

    @admin.display(description=_("mobile phone"))
    def phone_masked(self, obj):
        return obj.phone_masked

    @admin.display(description=_("kinds of difficulty"))
    def difficulties_display(self, obj):
        return obj.get_difficulties_display()


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = readonly_fields = ("given_at", "given_by", "channel", "notice_version", "recorded_by")


class AppealInline(ReadOnlyInline):
    model = Appeal
    fk_name = "declaration"
    fields = readonly_fields = (
        "filed_at",
        "channel",
        "reason",
        "level",
        "outcome",
        "decided_by",
        "decision_reason",
    )


class QueueFilter(admin.SimpleListFilter):
    """County staff land on their approval queue; everyone can switch to all cases."""

    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("approval", _("awaiting county approval")), ("all", _("all cases"))]

    def choices(self, changelist):
        counts = self.get_facet_queryset(changelist) if changelist.add_facets else {}
        for i, (value, label) in enumerate(self.lookup_choices):
            count = counts.get(f"{i}__c")
            yield {
                "selected": (self.value() or "approval") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label if count is None else f"{label} ({count})",
            }

    def queryset(self, request, queryset):
        if (self.value() or "approval") == "approval":
            return queryset.filter(state=State.COUNTY_REVIEW)
        return queryset


class RegionFilter(admin.SimpleListFilter):
    """The townships or villages of the user's regions only; a code from anywhere else
    in the query string is ignored (and the list is scoped by `visible_to` anyway)."""

    level = None

    def regions(self, request):
        return Region.objects.visible_to(request.user).filter(level=self.level)

    def lookups(self, request, model_admin):
        return self.regions(request).order_by("code").values_list("code", "name")

    def queryset(self, request, queryset):
        if self.value() in dict(self.lookup_choices):
            prefix = Region(code=self.value(), level=self.level).prefix
            return queryset.filter(region_code__startswith=prefix)
        return queryset


class TownshipFilter(RegionFilter):
    title = _("township")
    parameter_name = "township"
    level = Level.TOWNSHIP


class VillageFilter(RegionFilter):
    """Offered once a township is chosen: a county has hundreds of villages."""

    title = _("village")
    parameter_name = "village"
    level = Level.VILLAGE

    def regions(self, request):
        township = request.GET.get(TownshipFilter.parameter_name, "")
        if not (len(township) == 12 and township.isascii() and township.isdigit()):
            return Region.objects.none()
        prefix = Region(code=township, level=Level.TOWNSHIP).prefix
        return super().regions(request).filter(code__startswith=prefix)


class DifficultyFilter(admin.SimpleListFilter):
    title = _("kinds of difficulty")
    parameter_name = "difficulty"

    def lookups(self, request, model_admin):
        return Difficulty.choices

    def queryset(self, request, queryset):
        if self.value() in Difficulty.values:
            return queryset.filter(difficulties__contains=[self.value()])
        return queryset


class DaysLeftFilter(admin.SimpleListFilter):
    title = _("time left")
    parameter_name = "days_left"

    def lookups(self, request, model_admin):
        return DaysLeft.choices

    @cached_property
    def conditions(self):
        return days_left_conditions()

    def queryset(self, request, queryset):
        if self.value() in DaysLeft.values:
            return queryset.filter(self.conditions[self.value()])
        return queryset


class DeclarationChangeList(ChangeList):
    """The page of cases, each with the mark of its deadline: the clocks and the
    calendar read once for the page (no query per row)."""

    def get_results(self, request):
        super().get_results(request)
        rows = queue_rows(self.result_list)
        for row in rows:
            row.declaration.deadline_row = row
        self.result_list = [row.declaration for row in rows]


@admin.register(Declaration)
class DeclarationAdmin(ViewAuditedAdmin, ReadOnlyAdmin):
    change_form_template = "admin/declarations/declaration/change_form.html"
    list_display = (
        "tracking",
        "name",
        "village",
        "township",
        "state",
        "channel",
        "difficulties_display",
        "risk_score",
        "deadline",
        "days_left",
        "submitted",
    )
    # The highest risk score first, then the oldest: as every worklist of cases.
    ordering = WORKLIST_ORDER
    list_filter = (
        QueueFilter,
        "state",
        TownshipFilter,
        VillageFilter,
        DaysLeftFilter,
        "channel",
        DifficultyFilter,
    )
    show_facets = admin.ShowFacets.ALWAYS
    list_per_page = 50
    search_fields = ("tracking_number", "name")
    search_help_text = _("Tracking number, name, ID number or phone")
    date_hierarchy = "submitted_at"
    actions = ["approve_selected"]
    inlines = [
        DeclarantInline,
        VisitInline,
        IncomeInline,
        EvaluationInline,
        PropertyInline,
        DocumentInline,
        ConsentInline,
        AppealInline,
        TransitionInline,
    ]
    fields = (
        "tracking",
        "state",
        "channel",
        "village",
        "name",
        "phone_masked",
        "id_number_masked",
        "address_group",
        "address_house",
        "difficulties_display",
        "description",
        "on_behalf",
        "declarant_name",
        "declarant_phone_masked",
        "declarant_relation",
        "submitted",
        "rejected_at_level",
        "rejection_reason",
        "merged_into",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The village and its township (a column of the list); select_related here, as
        # the changelist applies list_select_related only to a queryset without it.
        return with_due_on(Declaration.objects.visible_to(request.user)).select_related(
            "village__parent"
        )

    def get_changelist(self, request, **kwargs):
        return DeclarationChangeList

    def get_search_results(self, request, queryset, search_term):
        """Tracking number, part of a name, or an ID number or phone matched exactly
        through its keyed hash (both are stored encrypted)."""
        return search_filter(queryset, search_term), False

    def has_approve_permission(self, request):
        return any(role in COUNTY_ROLES for _prefix, role in user_memberships(request.user))

    @admin.action(
        description=_("Approve the selected cases (all or none)"), permissions=["approve"]
    )
    def approve_selected(self, request, queryset):
        """Batch approval through the same service as one case: if any selected case is
        not ready, none is enrolled and the reasons are listed."""
        try:
            done = services.declarations_county_approve_batch(
                declarations=list(queryset.order_by("submitted_at", "pk")), actor=request.user
            )
        except services.BatchRefused as exc:
            self.message_user(request, exc.message, messages.ERROR)
            for declaration, refusal in exc.refusals:
                self.message_user(
                    request,
                    f"{declaration.tracking_number_display} {declaration.name}：{refusal.message}",
                    messages.ERROR,
                )
            return
        except services.ActionRefused as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(
            request,
            ngettext("%(count)d case enrolled.", "%(count)d cases enrolled.", len(done))
            % {"count": len(done)},
            messages.SUCCESS,
        )

    @admin.display(description=_("tracking number"), ordering="tracking_number")
    def tracking(self, obj):
        return obj.tracking_number_display

    # The time of the declaration (the field's own name, "submitted", is also a state's).
    @admin.display(description=_("submitted at"), ordering="submitted_at")
    def submitted(self, obj):
        return obj.submitted_at

    @admin.display(description=_("risk score"), ordering="-score")
    def risk_score(self, obj):
        return render_to_string("declarations/staff/_score.html", {"declaration": obj})

    @admin.display(description=_("township"), ordering="village__parent__name")
    def township(self, obj):
        return obj.village.parent.name if obj.village.parent_id else ""

    @admin.display(description=_("deadline"), ordering="due_on")
    def deadline(self, obj):
        row = getattr(obj, "deadline_row", None)
        return row.due if row and row.due else "—"

    @admin.display(description=_("time left"))
    def days_left(self, obj):
        row = getattr(obj, "deadline_row", None)
        if row is None or row.mark is None:
            return "—"
        return render_to_string("declarations/staff/_mark.html", {"mark": row.mark})

    def get_urls(self):
        return [
            path(
                "<int:pk>/act/<str:action>/",
                self.admin_site.admin_view(self.act_view),
                name="declarations_declaration_act",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context["county_actions"] = [
                a for a in available_actions(obj, request.user) if a.name in COUNTY_ACTIONS
            ]
            extra_context["reason_form"] = ReasonForm()
        return super().change_view(request, object_id, form_url, extra_context)

    def act_view(self, request, pk, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in COUNTY_ACTIONS:
            raise Http404
        declaration = self.get_queryset(request).filter(pk=pk).first()
        if declaration is None:
            raise Http404
        if not self.has_view_permission(request, declaration):
            raise PermissionDenied
        change_url = reverse("admin:declarations_declaration_change", args=[pk])
        kwargs = {"declaration": declaration, "actor": request.user}
        if action != "county_approve":
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, _t("Give a reason."))
                return redirect(change_url)
            kwargs["reason"] = form.cleaned_data["reason"]
        try:
            getattr(services, f"declaration_{action}")(**kwargs)
        except services.ActionRefused as exc:
            messages.error(request, str(exc.message))
            return TemplateResponse(
                request,
                "admin/declarations/declaration/refused.html",
                {
                    **self.admin_site.each_context(request),
                    "message": exc.message,
                    "back": change_url,
                },
                status=403 if isinstance(exc, services.NotPermitted) else 409,
            )
        messages.success(request, _t("Done."))
        return redirect(change_url)

    @admin.display(description=_("mobile phone"))
    def phone_masked(self, obj):
        return obj.phone_masked

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj):
        return obj.id_number_masked

    @admin.display(description=_("declarant's mobile phone"))
    def declarant_phone_masked(self, obj):
        return obj.declarant_phone_masked

    @admin.display(description=_("kinds of difficulty"))
    def difficulties_display(self, obj):
        return obj.get_difficulties_display()


class StepPolicyForm(forms.ModelForm):
    required_documents = forms.MultipleChoiceField(
        label=_("documents required before the step"),
        choices=DocumentKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = StepPolicy
        fields = ["step", "required_documents", "minimum_days", "names_masked", "source"]


@admin.register(StepPolicy)
class StepPolicyAdmin(ProvincialAdminOnly):
    """The procedure's documents and notice periods per step: the province's policy,
    beside the deadline policy."""

    form = StepPolicyForm
    list_display = ("step", "documents", "minimum_days", "names_masked", "source")

    @admin.display(description=_("documents required before the step"))
    def documents(self, obj):
        return obj.get_required_documents_display()

    def has_delete_permission(self, request, obj=None):
        return False
