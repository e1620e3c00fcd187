from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.audit.admin import ScopedRecordAdmin
from apps.households.admin import CountyKeptAdmin
from apps.regions.models import Region, Role, ScopedQuerySet, user_memberships

from .feeds.definitions import field_errors, rule_errors
from .models import (
    Department,
    DepartmentMember,
    FeedDefinition,
    FeedField,
    FeedRule,
    FeedThreshold,
    PropertyRecord,
    ReportedLifeEvent,
    Warning,
)


def _definition_choices():
    return list(FeedDefinition.objects.values_list("code", "name"))


class DepartmentForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label=_("feeds delivered"),
        choices=_definition_choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Department
        fields = ("code", "name", "region", "kinds", "active")


class DepartmentMemberInline(admin.TabularInline):
    model = DepartmentMember
    extra = 0
    raw_id_fields = ("user",)


def _is_province_staff(request) -> bool:
    return request.user.is_superuser or any(
        role == Role.PROVINCE for _prefix, role in user_memberships(request.user)
    )


class _DepartmentQuerySet(ScopedQuerySet):
    region_code_field = "region__code"


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    """The departments sharing data and who delivers for them: the province keeps the
    list (17 departments share data province-wide); everyone sees those of their own subtree."""

    form = DepartmentForm
    list_display = ("name", "code", "region", "active")
    list_filter = ("active",)
    search_fields = ("name", "code")
    list_select_related = ("region",)
    inlines = [DepartmentMemberInline]
    readonly_fields = ("token_issued_at",)

    def get_queryset(self, request):
        qs = _DepartmentQuerySet(Department).visible_to(request.user)
        return qs.select_related("region")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = Region.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and _is_province_staff(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _is_province_staff(request)

    def has_delete_permission(self, request, obj=None):
        return False  # a department is made inactive: its batches refer to it


class FieldFormSet(forms.BaseInlineFormSet):
    """The fields as a whole: keys once, the subject's identifying field, choices."""

    def clean(self):
        super().clean()
        forms_ = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if any(f.errors for f in self.forms):
            return
        rows = [{**f.cleaned_data} for f in forms_]
        for index, name, message in field_errors(self.instance.subject, rows):
            if index is None:
                raise forms.ValidationError(message)
            forms_[index].add_error(name if name in forms_[index].fields else None, message)


def _posted_fields(data) -> dict[str, dict]:
    """The definition's fields as posted in the same admin form (the "fields" inline):
    a rule refers to them by key, before they are saved."""
    found = {}
    for i in range(int(data.get("fields-TOTAL_FORMS") or 0)):
        key = (data.get(f"fields-{i}-key") or "").strip()
        if key and not data.get(f"fields-{i}-DELETE"):
            found[key] = {
                "key": key,
                "type": data.get(f"fields-{i}-type", ""),
                "choices": data.get(f"fields-{i}-choices", ""),
            }
    return found


class RuleFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        fields = _posted_fields(self.data)
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            rule = {**data, "default": data.get("default_value")}
            for name, message in rule_errors(self.instance.subject, rule, fields):
                form.add_error(name if name in form.fields else None, message)


class FeedFieldInline(admin.StackedInline):
    model = FeedField
    formset = FieldFormSet
    extra = 0
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3})}}
    fields = (
        ("key", "label", "type", "required", "order"),
        "aliases",
        ("max_length", "not_above", "roster_value"),
        "choices",
    )


class FeedRuleInline(admin.StackedInline):
    model = FeedRule
    formset = RuleFormSet
    extra = 0
    fields = (
        ("code", "kind", "field", "order"),
        ("default_value", "values", "household"),
        "reason",
        ("factor", "weight", "basis", "shares"),
        "factor_reason",
    )


class ProvinceKeptAdmin(admin.ModelAdmin):
    """Kept by the province: everyone with the admin sees it, the province changes it."""

    def has_add_permission(self, request):
        return super().has_add_permission(request) and _is_province_staff(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _is_province_staff(request)

    def has_delete_permission(self, request, obj=None):
        return False  # made inactive: batches refer to it


@admin.register(FeedDefinition)
class FeedDefinitionAdmin(ProvinceKeptAdmin):
    """The kinds of department data, as data: a provincial administrator defines a feed
    (its fields, its rules); uploads, the API, matching and scoring follow."""

    list_display = ("name", "code", "department_kind", "subject", "effect", "active")
    list_filter = ("active", "department_kind", "effect")
    search_fields = ("name", "code", "department_kind")
    fields = ("code", "name", "department_kind", "subject", "effect", "active", "description")
    inlines = [FeedFieldInline, FeedRuleInline]

    def get_readonly_fields(self, request, obj=None):
        # The code is the feed's name in the API and on batches: fixed once used.
        return ("code",) if obj is not None and obj.batches.exists() else ()


@admin.register(FeedThreshold)
class FeedThresholdAdmin(CountyKeptAdmin):
    """Each county keeps its own line per rule and year (e.g. the medical-cost line)."""

    list_display = ("rule", "county", "year", "value")
    list_filter = ("year", "rule__definition")
    list_select_related = ("rule__definition", "county")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "rule":
            kwargs["queryset"] = FeedRule.objects.filter(
                kind__in=["threshold", "income_share"]
            ).select_related("definition")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Warning)
class WarningAdmin(ScopedRecordAdmin):
    """Read-only: warnings are verified on their page, through the service."""

    list_display = ("__str__", "village", "score", "state", "created_at")
    list_filter = ("state",)
    list_select_related = ("village",)
    fields = readonly_fields = (
        "village",
        "person_name",
        "id_number_masked",
        "state",
        "score",
        "created_at",
        "method",
        "outcome_reason",
        "verified_by",
        "verified_at",
        "declaration",
    )

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj):
        return obj.id_number_masked


@admin.register(ReportedLifeEvent)
class ReportedLifeEventAdmin(ScopedRecordAdmin):
    """Read-only: the village confirms a report on its page, through the service."""

    list_display = ("__str__", "village", "department", "happened_on", "state", "created_at")
    list_filter = ("kind", "state")
    list_select_related = ("village",)
    fields = readonly_fields = (
        "department",
        "kind",
        "person_name",
        "happened_on",
        "moved_to",
        "village",
        "household",
        "declaration",
        "state",
        "decided_by",
        "decided_at",
        "created_at",
    )


@admin.register(PropertyRecord)
class PropertyRecordAdmin(ScopedRecordAdmin):
    """Read-only: department data, shown on the property check of its case."""

    list_display = ("person_name", "department", "definition", "region_code", "created_at")
    list_filter = ("definition",)
    list_select_related = ("definition",)
    fields = readonly_fields = (
        "department",
        "definition",
        "person_name",
        "summary",
        "region_code",
        "household",
        "declaration",
        "created_at",
    )
