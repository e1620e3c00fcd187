from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("second-factor/", views.verify, name="verify"),
    path("second-factor/enrol/", views.enrol, name="enrol"),
    path("security/", views.security, name="security"),
    path("security/backup-codes/", views.backup_codes, name="backup_codes"),
    path("security/remove-authenticator/", views.remove_authenticator, name="remove_authenticator"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
]
