from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    """Refuse oversized bodies on the public pages before anything parses them.

    Staff uploads (later) have their own, larger limits; the public form is a few
    hundred bytes, so anything past PUBLIC_FORM_MAX_BYTES is hostile or broken.
    """

    PUBLIC_PREFIXES = ("/v/", "/status/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path.startswith(self.PUBLIC_PREFIXES):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > settings.PUBLIC_FORM_MAX_BYTES:
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
