from django.urls import path

from . import api

app_name = "feeds_api"
urlpatterns = [
    path("feeds/<slug:kind>/batches", api.batch_submit, name="submit"),
    path("batches/<str:batch_id>", api.batch_status, name="batch"),
]
