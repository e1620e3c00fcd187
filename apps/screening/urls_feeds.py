from django.urls import path

from . import views_feeds as v

app_name = "feeds"
urlpatterns = [
    path("", v.feed_list, name="list"),
    path("upload/", v.feed_upload, name="upload"),
    path("template/<slug:kind>.csv", v.feed_template, name="template"),
    path("<int:pk>/", v.feed_detail, name="detail"),
    path("<int:pk>/progress/", v.feed_progress, name="progress"),
]
