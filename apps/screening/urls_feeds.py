from django.urls import path

from .views_feeds import FeedPages, feed_sample, feed_template

app_name = "feeds"
urlpatterns = [
    *FeedPages().urls(),
    path("template/<slug:kind>.csv", feed_template, name="template"),
    path("sample/<slug:code>.csv", feed_sample, name="sample"),
]
