from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "template", "recipient_masked", "status", "attempts", "sent_at")
    list_filter = ("status", "template")
    search_fields = ("subject", "provider_id")
    fields = (
        "template",
        "recipient_masked",
        "text",
        "subject",
        "region_code",
        "status",
        "attempts",
        "last_error",
        "provider_id",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return Message.objects.visible_to(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("recipient"))
    def recipient_masked(self, obj):
        return obj.recipient_masked

    @admin.display(description=_("text"))
    def text(self, obj):
        return obj.text
