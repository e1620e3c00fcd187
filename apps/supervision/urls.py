from django.urls import path

from . import views, views_alerts

app_name = "supervision"
urlpatterns = [
    path("", views.start, name="start"),
    # Before "<code>/": "alerts" is not a region code.
    path("alerts/", views_alerts.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views_alerts.alert_detail, name="alert"),
    path("<str:code>/", views.region_view, name="region"),
    path("<str:code>/bulletin/", views.bulletin, name="bulletin"),
    path("<str:code>/export.xlsx", views.export_region, name="export"),
    path("<str:code>/late/<str:kind>/", views.late, name="late"),
    path("<str:code>/late/<str:kind>.xlsx", views.export_late, name="export_late"),
]
