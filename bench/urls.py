"""The project's URLs plus the baseline view, for the bench settings only."""

from django.urls import path

from bench.baseline.views import baseline_submit
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/baseline/", baseline_submit, name="bench_baseline"),
    *project_urlpatterns,
]
