from django.urls import path

from .views_roster import RosterPages, roster_template

app_name = "roster"
urlpatterns = [
    *RosterPages().urls(),
    path("template.csv", roster_template, name="template"),
]
