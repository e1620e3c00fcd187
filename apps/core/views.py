import uuid

from django.contrib import messages
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .errors import ActionRefused, Conflict, InvalidInput, NotPermitted, WrongState

# The status a page answers with when a service refuses (its message on the page).
REFUSAL_STATUS = {NotPermitted: 403, WrongState: 409, Conflict: 409, InvalidInput: 400}


def refused(request, exc: ActionRefused, *to):
    """Post/Redirect/Get for a refused action: its message waits for the next page
    (an error message) and the answer is a redirect to `to` (a URL, or a view name and
    its arguments), so that a refresh shows the page again and sends nothing."""
    messages.error(request, exc.message)
    return redirect(*to)


def at_field(form, exc: ActionRefused) -> bool:
    """Put a refusal that names a field of the form (`exc.field`: a date out of the
    procedure's order) at that field; False when it names none. Such a form re-renders
    with its input and a 400, like any form with field errors."""
    field = getattr(exc, "field", None)
    if field in form.fields:
        form.add_error(field, str(exc.message))
        return True
    return False


def store_cleaned(document, cleaned):
    """Save a document row with its cleaned upload (apps.core.uploads), stored under a
    name we make; the name the phone sent is only shown."""
    document.file.save(
        f"{uuid.uuid4().hex}.{cleaned.extension}", ContentFile(cleaned.content), save=False
    )
    document.save()
    return document


def private_download(document, *, name: str, content_type: str = "") -> FileResponse:
    """A stored file (`name` and the file's extension) for the one person allowed to see
    it, kept out of every cache. Documents were re-encoded on upload: a JPEG may show
    inline, anything else downloads."""
    content_type = content_type or document.content_type
    response = FileResponse(
        document.file.open("rb"),
        content_type=content_type,
        as_attachment=content_type != "image/jpeg",
        filename=f"{name}.{document.file.name.rsplit('.', 1)[-1]}",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def with_upload(store, call):
    """Store an uploaded document (`store()` gives the row, or None without an upload)
    and make the service call (`call(row)`) as one: when the service refuses, neither
    the row nor its file stays behind."""
    document = None
    try:
        with transaction.atomic():
            document = store()
            return call(document)
    except ActionRefused:
        if document is not None:
            document.file.delete(save=False)
        raise


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
