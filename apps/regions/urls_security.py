from django.urls import path

from . import views_security

app_name = "security"

urlpatterns = [
    path("locks/", views_security.lock_list, name="locks"),
]
