from django.urls import path

from . import views

app_name = "spotchecks"
urlpatterns = [
    path("", views.index, name="index"),
    path("draw/", views.draw, name="draw"),
    path("draws/<int:pk>/", views.draw_detail, name="draw_detail"),
    path("<int:pk>/", views.check_detail, name="check"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/record/", views.record, name="record"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
]
