from django.urls import path

from . import views_roster as v

app_name = "roster"
urlpatterns = [
    path("", v.roster_list, name="list"),
    path("upload/", v.roster_upload, name="upload"),
    path("template.csv", v.roster_template, name="template"),
    path("<int:pk>/", v.roster_detail, name="detail"),
    path("<int:pk>/progress/", v.roster_progress, name="progress"),
]
