from django.urls import path

from . import views_staff

app_name = "staff"
urlpatterns = [
    path("", views_staff.home, name="home"),
    path("d/<str:tracking_number>/", views_staff.detail, name="detail"),
    path("d/<str:tracking_number>/reveal/<str:field>/", views_staff.reveal, name="reveal"),
]
