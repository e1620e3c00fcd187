from django.urls import path

from . import views as v
from . import views_effects as effects

app_name = "screening"
urlpatterns = [
    path("", v.worklist, name="worklist"),
    path("<int:pk>/", v.warning, name="warning"),
    path("route/<str:tracking_number>/", v.route, name="route"),
    path("civil-affairs/", v.civil_affairs, name="civil_affairs"),
    path("civil-affairs/received/<int:pk>/", v.routing_receive, name="routing_receive"),
    path("civil-affairs/export/", v.export_make, name="export_make"),
    path("civil-affairs/export/<int:pk>/", v.export_download, name="export_download"),
    path("life-events/", effects.life_events, name="life_events"),
    path("life-events/<int:pk>/", effects.life_event, name="life_event"),
]
