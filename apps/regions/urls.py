from django.urls import path

from . import views

app_name = "regions"
urlpatterns = [
    path("qr/", views.qr_list, name="qr_list"),
    path("qr/<str:code>.svg", views.qr_svg, name="qr_svg"),
    path("posters/<str:code>/", views.posters, name="posters"),
]
