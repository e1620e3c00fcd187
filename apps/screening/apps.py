from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    """Department screening warnings (部门筛查预警) and the civil-affairs linkage: the
    app of warnings, named so as not to read like Python's `warnings` module."""

    name = "apps.screening"
    label = "screening"
    verbose_name = _("Department screening")

    def ready(self):
        from . import signals  # noqa: F401 — connects the receivers
        from .effects import life_event_handler, property_check_handler
        from .feeds.effects import register
        from .models import FeedEffect

        # What the engine does with the records of a life-event or property feed.
        register(FeedEffect.LIFE_EVENT)(life_event_handler)
        register(FeedEffect.PROPERTY_CHECK)(property_check_handler)
