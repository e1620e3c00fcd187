from django.urls import path

from .views_national import NationalPages, national_template

app_name = "national"
urlpatterns = [
    *NationalPages().urls(),
    path("template.xlsx", national_template, name="template"),
]
