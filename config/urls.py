from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from apps.core.views import healthz
from apps.supervision.views import staff_start

admin.site.site_header = _("One-Click Declaration administration")
admin.site.site_title = _("One-Click Declaration")
admin.site.index_title = _("Administration")
# Nothing is deleted in bulk: each deletion is one admin change, audited on its own.
admin.site.disable_action("delete_selected")

urlpatterns = [
    path("", include("apps.declarations.urls_public")),
    path("staff/", include("apps.declarations.urls_staff")),
    path("staff/regions/", include("apps.regions.urls")),
    path("staff/households/", include("apps.households.urls")),
    path("staff/roster/", include("apps.households.urls_roster")),
    path("staff/national/", include("apps.households.urls_national")),
    path("staff/warnings/", include("apps.screening.urls")),
    path("staff/feeds/", include("apps.screening.urls_feeds")),
    path("staff/quality/", include("apps.quality.urls")),
    path("api/v1/", include("apps.screening.urls_api")),
    path("supervision/", include("apps.supervision.urls")),
    path("staff/spot-checks/", include("apps.spotchecks.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("apps.accounts.urls")),
    path("accounts/webauthn/", include("django_otp_webauthn.urls")),
    path("staff/security/", include("apps.regions.urls_security")),
    # One sign-in page, with its lockout and second factor, for the admin too.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("staff/start/", staff_start, name="staff_start"),
]
