from django.urls import path

from . import views_public

app_name = "public"
urlpatterns = [
    path("", views_public.home, name="home"),
    path("v/<slug:slug>/", views_public.village_form, name="village_form"),
    path("receipt/<str:token>/", views_public.receipt, name="receipt"),
    path("status/", views_public.status, name="status"),
    path("status/recover/", views_public.recover, name="recover"),
    path("status/<str:action>/", views_public.status_act, name="status_act"),
    path("status/<str:action>/code/", views_public.status_code, name="status_code"),
]
