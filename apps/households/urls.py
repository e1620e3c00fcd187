from django.urls import path

from . import views as v
from . import views_life as life

app_name = "households"
urlpatterns = [
    path("", v.household_list, name="list"),
    path("<int:pk>/", v.household_detail, name="detail"),
    path("<int:pk>/plan/<int:plan_pk>/add/", v.measure_add, name="measure_add"),
    path("<int:pk>/plan/<int:plan_pk>/<str:action>/", v.plan_action, name="plan_action"),
    path("<int:pk>/measure/<int:measure_pk>/deliver/", v.measure_deliver, name="measure_deliver"),
    path("<int:pk>/measure/<int:measure_pk>/remove/", v.measure_remove, name="measure_remove"),
    path("<int:pk>/follow-up/<int:follow_up_pk>/", v.follow_up, name="follow_up"),
    path("<int:pk>/eliminate/", v.eliminate, name="eliminate"),
    path(
        "<int:pk>/eliminate/<int:proposal_pk>/<str:action>/",
        v.elimination_action,
        name="elimination_action",
    ),
    path("<int:pk>/look-back/<int:look_back_pk>/", v.look_back, name="look_back"),
    path("<int:pk>/industry/", v.industry, name="industry"),
    path("<int:pk>/category/", v.category, name="category"),
    path("doc/<int:doc_pk>/", v.document, name="document"),
    # Life events (apps/households/views_life.py); the move is on the case's side.
    path("<int:pk>/member/add/", life.member_add, name="member_add"),
    path("<int:pk>/member/<int:member_pk>/leave/", life.member_leave_page, name="member_leave"),
    path("<int:pk>/split/", life.split, name="split"),
    path("<int:pk>/merge/", life.merge, name="merge"),
]
