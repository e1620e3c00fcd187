"""Forms sent once, and uploads that resume: what a phone on one bar of signal needs.

* `once(request, handle)`: a form carries a hidden idempotency key made when it is
  rendered (`new_form_key`). The first POST with the key runs `handle` and keeps the
  redirect it answered with, in the same transaction; any later POST with the key (a
  retry after a dropped answer, the outbox sending twice) gets that redirect and
  changes nothing. Two copies arriving at once: the second waits on the key's row and
  then answers like a retry. A refused form (4xx) keeps nothing, its key included.
* A plain chunked upload with resume, in the manner of the tus protocol's core:
  POST creates an upload of a declared size; HEAD (or GET) tells how many bytes have
  arrived (`Upload-Offset`); PATCH with `Upload-Offset: n` appends the bytes from n.
  A PATCH at any other offset is refused with 409 and the offset to resume from, so a
  phone that lost an answer resends only what did not arrive. Each chunk is a file on
  the encrypted storage; `take_upload` joins them when the form that uses the file is
  saved.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .models import ChunkedUpload, FormSubmission, UploadChunk

KEY_FIELD = "form_key"
# The pieces a phone sends; small enough to get through on a weak signal.
MAX_CHUNK = 256 * 1024


def new_form_key() -> str:
    return uuid.uuid4().hex


def _key(request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.POST.get(KEY_FIELD, ""))
    except ValueError:
        return None


def once(request, handle):
    """Run `handle()` for this form's key once; every repeat gets the first redirect."""
    key = _key(request)
    if key is None:
        return handle()
    done = FormSubmission.objects.filter(key=key, user=request.user).first()
    if done is not None:
        return redirect(done.location or request.path)
    with transaction.atomic():
        try:
            with transaction.atomic():
                submission = FormSubmission.objects.create(
                    key=key, user=request.user, path=request.path[:200]
                )
        except IntegrityError:
            # The same form is being saved by another request, which has finished
            # now that the row could be read: answer like a retry.
            done = FormSubmission.objects.filter(key=key, user=request.user).first()
            if done is None:
                raise Http404 from None
            return redirect(done.location or request.path)
        response = handle()
        if response.status_code in (301, 302, 303):
            submission.location = response["Location"][:200]
            submission.save(update_fields=["location"])
        else:
            transaction.set_rollback(True)
        return response


def _offset_response(upload: ChunkedUpload, status: int = 200) -> HttpResponse:
    response = JsonResponse({"id": str(upload.id), "offset": upload.received}, status=status)
    response["Upload-Offset"] = str(upload.received)
    response["Upload-Length"] = str(upload.size)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_http_methods(["POST"])
def upload_create(request):
    try:
        size = int(request.headers.get("Upload-Length", ""))
    except ValueError:
        size = 0
    if not 0 < size <= settings.UPLOAD_MAX_BYTES:
        return JsonResponse({"error": "Upload-Length"}, status=400)
    upload = ChunkedUpload.objects.create(
        owner=request.user, size=size, name=request.headers.get("Upload-Name", "")[:100]
    )
    response = _offset_response(upload, 201)
    response["Location"] = request.build_absolute_uri(f"{request.path}{upload.id}/")
    return response


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "PATCH"])
def upload_chunk(request, upload_id):
    upload = get_object_or_404(ChunkedUpload, id=upload_id, owner=request.user)
    if request.method != "PATCH":
        return _offset_response(upload)
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return JsonResponse({"error": "Upload-Offset"}, status=400)
    body = request.body
    with transaction.atomic():
        upload = ChunkedUpload.objects.select_for_update().get(pk=upload.pk)
        if offset != upload.received:
            return _offset_response(upload, 409)
        if not body or len(body) > MAX_CHUNK or offset + len(body) > upload.size:
            return JsonResponse({"error": "chunk"}, status=400)
        chunk = UploadChunk(upload=upload, offset=offset)
        chunk.file.save(f"{uuid.uuid4().hex}.part", ContentFile(body), save=False)
        chunk.save()
        upload.received = offset + len(body)
        upload.save(update_fields=["received"])
    return _offset_response(upload)


def take_upload(user, upload_id) -> SimpleUploadedFile | None:
    """The complete upload of this user as one file (its pieces are deleted), or None."""
    try:
        upload = ChunkedUpload.objects.get(id=upload_id, owner=user)
    except (ChunkedUpload.DoesNotExist, ValidationError, ValueError):
        return None
    if not upload.complete:
        return None
    parts = []
    for chunk in upload.chunks.all():
        with chunk.file.open("rb") as f:
            parts.append(f.read())
    return SimpleUploadedFile(upload.name or "photo.jpg", b"".join(parts), "image/jpeg")


def discard_upload(user, upload_id) -> None:
    for chunk in UploadChunk.objects.filter(upload_id=upload_id, upload__owner=user):
        chunk.file.delete(save=False)
    ChunkedUpload.objects.filter(id=upload_id, owner=user).delete()


# How long a key answers repeats, and how long an unfinished upload may wait for the
# rest of its pieces; a phone back from the mountains after a week still finds them.
KEEP_KEYS = dt.timedelta(days=30)
KEEP_UPLOADS = dt.timedelta(days=14)


def sweep(now=None) -> dict[str, int]:
    """Forget old form keys and delete uploads never used (their pieces' files too)."""
    now = now or timezone.now()
    keys, _ = FormSubmission.objects.filter(created_at__lt=now - KEEP_KEYS).delete()
    stale = ChunkedUpload.objects.filter(created_at__lt=now - KEEP_UPLOADS)
    for chunk in UploadChunk.objects.filter(upload__in=stale):
        chunk.file.delete(save=False)
    _total, deleted = stale.delete()
    return {"keys": keys, "uploads": deleted.get("declarations.ChunkedUpload", 0)}
