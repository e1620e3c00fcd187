from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def client_ip(request) -> str:
    """The client's address, from the proxy's header when one is configured."""
    from django.conf import settings

    header = settings.CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def rate_limited(request) -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "title": _("Too many attempts"),
            "message": _(
                "Too many attempts from this phone or network. Please wait a while and try again."
            ),
        },
        status=429,
    )


def csrf_failure(request, reason="") -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "title": _("Page expired"),
            "message": _(
                "This page has expired or cookies are blocked. Please go back, reload the page and submit again."
            ),
        },
        status=403,
    )


def healthz(request) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
