from django.urls import path

from . import views, views_alerts, views_bulletins, views_reconciliation

app_name = "supervision"
urlpatterns = [
    path("", views.start, name="start"),
    # Before "<code>/", which would take "alerts" and "bulletins" for codes.
    path("alerts/", views_alerts.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views_alerts.alert_detail, name="alert"),
    path("bulletins/", views_bulletins.bulletins, name="bulletins"),
    path("bulletins/<int:pk>/", views_bulletins.issued, name="bulletin_issued"),
    path("<str:code>/", views.region_view, name="region"),
    path("<str:code>/bulletin/", views.bulletin, name="bulletin"),
    path("<str:code>/bulletin/issue/", views_bulletins.issue, name="bulletin_issue"),
    path("<str:code>/export.xlsx", views.export_region, name="export"),
    path("<str:code>/late/<str:kind>/", views.late, name="late"),
    path("<str:code>/late/<str:kind>.xlsx", views.export_late, name="export_late"),
    path(
        "<str:code>/reconciliation/",
        views_reconciliation.reconciliation,
        name="reconciliation",
    ),
    path(
        "<str:code>/reconciliation.xlsx",
        views_reconciliation.reconciliation_export,
        name="reconciliation_export",
    ),
]
