from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegionsConfig(AppConfig):
    name = "apps.regions"
    label = "regions"
    verbose_name = _("Regions and staff")

    def ready(self):
        from . import signals  # noqa: F401 — connects the receivers
