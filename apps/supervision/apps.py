from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "apps.supervision"
    label = "supervision"
    verbose_name = _("Supervision")

    def ready(self):
        from . import signals  # noqa: F401 — connects the surge check
