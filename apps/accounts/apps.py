from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from . import signals  # noqa: F401 — connects the receivers


class StaffAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "apps.accounts.admin_site.StaffAdminSite"
