"""The departments' HTTP API: JSON batches of records, one bearer token per department.

    POST /api/v1/feeds/<code>/batches   (the code of a feed definition)   {"batch_id": "...", "records": [{...}, ...]}
    GET  /api/v1/batches/<batch_id>

No session and no CSRF: a client is a department's system, known by its token (kept
as a SHA-256 digest, shown once when issued). A batch is idempotent by its id: sent
again with the same records it is the batch already received (200), with other
records it is refused (409). A batch is imported by the same task as an upload.
"""

import hashlib
import hmac
import json
import re
import secrets
from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.audit.models import Action, Result
from apps.audit.services import record

from .feeds import BatchConflict, definition_for, feed_api_submit
from .models import Department, FeedBatch, FeedDefinition

BATCH_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def department_token_issue(*, department: Department) -> str:
    """A new API token for the department (the old one stops working). Returned once:
    only its digest is kept."""
    token = "yjsb_" + secrets.token_urlsafe(32)
    department.token_digest = token_digest(token)
    department.token_issued_at = timezone.now()
    department.save(update_fields=["token_digest", "token_issued_at"])
    return token


def department_token_revoke(*, department: Department) -> None:
    department.token_digest = ""
    department.save(update_fields=["token_digest"])


def _json_response(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _error(status: int, message: str) -> JsonResponse:
    return _json_response({"error": message}, status)


def _department(request) -> Department | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    digest = token_digest(token)
    department = Department.objects.select_related("region").filter(token_digest=digest).first()
    # The index finds the row; the comparison itself takes constant time.
    if department is None or not hmac.compare_digest(department.token_digest, digest):
        return None
    request.department = department if department.active else None
    return request.department


def audited(view):
    """Every call is a row of the audit log: the department (none without a valid
    token), what was asked, and whether it was served."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        department = getattr(request, "department", None)
        status = response.status_code
        result = (
            Result.OK
            if status < 400
            else Result.DENIED
            if status in (401, 403, 404)
            else Result.FAILED
        )
        record(
            Action.API,
            request=request,
            actor_name=f"department:{department.code}" if department else "",
            target=department or request.path,
            method=request.method,
            path=request.path,
            status=status,
            result=result,
        )
        return response

    return wrapper


def _unauthorised() -> JsonResponse:
    response = _error(401, _("A valid API token of an active department is required."))
    response["WWW-Authenticate"] = 'Bearer realm="feeds"'
    return response


def batch_json(batch: FeedBatch) -> dict:
    return {
        "batch_id": batch.batch_id,
        "kind": batch.kind,
        "status": batch.status,
        "status_label": str(batch.get_status_display()),
        "total_records": batch.total_rows,
        "checked_records": batch.processed_rows,
        "error_count": batch.error_count,
        "errors": batch.errors,
        "records_new": batch.records_new,
        "records_matched": batch.records_matched,
        "records_unmatched": batch.records_unmatched,
        "records_known": batch.records_known,
        "warnings_raised": batch.warnings_raised,
        "warnings_merged": batch.warnings_merged,
        "received_at": batch.created_at.isoformat(),
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "status_url": reverse("feeds_api:batch", args=[batch.batch_id]),
    }


@csrf_exempt
@audited
@require_POST
def batch_submit(request, kind: str):
    department = _department(request)
    if department is None:
        return _unauthorised()
    if not FeedDefinition.objects.filter(code=kind, active=True).exists():
        return _error(404, _("No such feed."))
    if definition_for(department, kind) is None:
        return _error(403, _("Your department does not deliver this feed."))
    limit = settings.FEED_API_MAX_BYTES
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(
            413,
            _("The batch is too large: send at most %(mb)s MB at a time.")
            % {"mb": f"{limit / (1024 * 1024):.0f}"},
        )
    try:
        payload = json.loads(body.decode("utf-8"))
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return _error(400, _("Send a JSON object with a batch_id and a list of records."))
    batch_id, records = payload.get("batch_id"), payload.get("records")
    if not isinstance(batch_id, str) or not BATCH_ID_RE.match(batch_id):
        return _error(
            400,
            _("batch_id: 1 to 64 letters, digits, dots, dashes, colons or underscores."),
        )
    if not isinstance(records, list) or not records:
        return _error(400, _("records: a non-empty list of records."))
    try:
        received = feed_api_submit(
            department=department, kind=kind, batch_id=batch_id, records=records
        )
    except BatchConflict:
        return _error(409, _("This batch id was used before for other records."))
    record(
        Action.IMPORT,
        actor_name=f"department:{department.code}",
        request=request,
        target=received.batch,
        kind=kind,
        new=received.created,
    )
    response = _json_response(batch_json(received.batch), 202 if received.created else 200)
    response["Location"] = reverse("feeds_api:batch", args=[received.batch.batch_id])
    return response


@csrf_exempt
@audited
@require_GET
def batch_status(request, batch_id: str):
    department = _department(request)
    if department is None:
        return _unauthorised()
    batch = FeedBatch.objects.filter(department=department, batch_id=batch_id).first()
    if batch is None:
        # Another department's batch is not told apart from no batch at all.
        return _error(404, _("No such batch of your department."))
    return _json_response(batch_json(batch))
