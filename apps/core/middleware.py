from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    """Refuse oversized bodies before anything parses them.

    The public form is a few hundred bytes, so anything past PUBLIC_FORM_MAX_BYTES is
    hostile or broken; staff pages take a few photos at a time.
    """

    PUBLIC_PREFIXES = ("/v/", "/status/")
    # Staff pages take photo uploads: a few photos a request at most.
    STAFF_MAX_BYTES = 60 * 1024 * 1024
    # The population roster upload takes one register file, checked at the field.
    ROSTER_UPLOAD_PATH = "/staff/roster/upload/"
    # Department data: a file of a feed, or an API batch of JSON records.
    FEED_UPLOAD_PATH = "/staff/feeds/upload/"
    FEED_API_PREFIX = "/api/v1/"
    MULTIPART_OVERHEAD = 1024 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            limit = self._limit(request.path)
            if length < 0 or length > limit:
                body = render_to_string(
                    "error.html",
                    {
                        "title": _("Request too large"),
                        "message": _(
                            "What you sent is too large. Please shorten the description and try again."
                        ),
                    },
                    request=None,
                )
                return HttpResponse(body, status=413)
        return self.get_response(request)

    def _limit(self, path: str) -> int:
        if path.startswith(self.PUBLIC_PREFIXES):
            return settings.PUBLIC_FORM_MAX_BYTES
        if path == self.ROSTER_UPLOAD_PATH:
            # Above the file's own limit, so that a slightly-too-big file gets the
            # form's message at the field rather than this page.
            return max(
                self.STAFF_MAX_BYTES, settings.ROSTER_UPLOAD_MAX_BYTES + self.MULTIPART_OVERHEAD
            )
        if path == self.FEED_UPLOAD_PATH:
            return max(
                self.STAFF_MAX_BYTES, settings.FEED_UPLOAD_MAX_BYTES + self.MULTIPART_OVERHEAD
            )
        if path.startswith(self.FEED_API_PREFIX):
            # The API view answers a slightly-too-big batch itself, in JSON.
            return settings.FEED_API_MAX_BYTES + self.MULTIPART_OVERHEAD
        return self.STAFF_MAX_BYTES


class PermissionsPolicyMiddleware:
    """Send the Permissions-Policy header (settings.PERMISSIONS_POLICY) on every response.

    The setting maps a feature to its allowed origins: [] turns it off, ["self"] allows
    this site only, e.g. {"camera": [], "publickey-credentials-get": ["self"]} gives
    `camera=(), publickey-credentials-get=(self)`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        header = ", ".join(
            f"{feature}=({' '.join(origins)})"
            for feature, origins in settings.PERMISSIONS_POLICY.items()
        )
        if header:
            response.setdefault("Permissions-Policy", header)
        return response
