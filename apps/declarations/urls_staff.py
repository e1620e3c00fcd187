from django.urls import path

from . import resumable
from . import views_life as life
from . import views_print as p
from . import views_staff as v

app_name = "staff"
urlpatterns = [
    path("", v.home, name="home"),
    path("c/<str:code>/", v.case_link, name="case_link"),
    path("queue/", v.queue, name="queue"),
    path("queue/approve/", v.queue_approve, name="queue_approve"),
    path("search/", v.search, name="search"),
    path("new/", v.enter, name="enter"),
    path("d/<str:tracking_number>/", v.detail, name="detail"),
    path("d/<str:tracking_number>/act/<str:action>/", v.act, name="act"),
    path("d/<str:tracking_number>/visit/", v.visit, name="visit"),
    path("d/<str:tracking_number>/visit/<str:step>/", v.visit_step, name="visit_step"),
    path("sw.js", v.service_worker, name="service_worker"),
    path("uploads/", resumable.upload_create, name="upload_create"),
    path("uploads/<uuid:upload_id>/", resumable.upload_chunk, name="upload_chunk"),
    path("d/<str:tracking_number>/income/", v.income, name="income"),
    path("d/<str:tracking_number>/evaluation/", v.evaluation, name="evaluation"),
    path("d/<str:tracking_number>/property/", v.property_check, name="property"),
    path("d/<str:tracking_number>/upload/", v.upload, name="upload"),
    path("d/<str:tracking_number>/green/", v.green_open, name="green_open"),
    path("d/<str:tracking_number>/green/help/", v.green_help, name="green_help"),
    path("d/<str:tracking_number>/appeal/", v.appeal_record, name="appeal_record"),
    path("d/<str:tracking_number>/appeal/decide/", v.appeal_decide, name="appeal_decide"),
    path("d/<str:tracking_number>/reveal/<str:field>/", v.reveal, name="reveal"),
    path("d/<str:tracking_number>/announcement/", v.announcement, name="announcement"),
    path("d/<str:tracking_number>/print/<str:form>/", p.print_case, name="print_case"),
    path("print/<str:code>/<str:form>/", p.print_village, name="print_village"),
    path("doc/<int:pk>/", v.document, name="document"),
    # On a household's page; a declarations service.
    path("h/<int:pk>/reidentify/", v.reidentify, name="reidentify"),
    # Life events that reach a case (apps/declarations/views_life.py).
    path("d/<str:tracking_number>/move/", life.case_move_page, name="case_move"),
    path("d/<str:tracking_number>/applicant-died/", life.applicant_died, name="applicant_died"),
    path("h/<int:pk>/move/", life.household_move_page, name="household_move"),
]
