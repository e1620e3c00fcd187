from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Declaration, Transition


class TransitionInline(admin.TabularInline):
    model = Transition
    extra = 0
    fields = ("at", "from_state", "to_state", "actor", "actor_label", "reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Declaration)
class DeclarationAdmin(admin.ModelAdmin):
    """County staff's view of cases. Read-only here: state changes go through services."""

    list_display = ("tracking_number", "name", "village", "state", "channel", "submitted_at")
    list_filter = ("state", "channel")
    search_fields = ("tracking_number", "name")
    date_hierarchy = "submitted_at"
    inlines = [TransitionInline]
    fields = (
        "tracking_number",
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
        "submitted_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return Declaration.objects.visible_to(request.user).select_related("village")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
