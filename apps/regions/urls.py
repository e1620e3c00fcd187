from django.urls import path

from . import views, views_absence

app_name = "regions"
urlpatterns = [
    path("qr/", views.qr_list, name="qr_list"),
    path("qr/<str:code>.svg", views.qr_svg, name="qr_svg"),
    path("posters/<str:code>/", views.posters, name="posters"),
    path("absences/", views_absence.absences, name="absences"),
    path("absences/<int:pk>/end/", views_absence.absence_stop, name="absence_end"),
]
