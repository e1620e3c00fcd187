from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("", views.start, name="start"),
    path("<str:code>/", views.region_view, name="region"),
    path("<str:code>/bulletin/", views.bulletin, name="bulletin"),
    path("<str:code>/export.xlsx", views.export_region, name="export"),
    path("<str:code>/late/<str:kind>/", views.late, name="late"),
    path("<str:code>/late/<str:kind>.xlsx", views.export_late, name="export_late"),
]
