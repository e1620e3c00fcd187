"""One-time codes for the status page's actions (withdraw, appeal).

A code is six digits, sent by SMS to the phone on file, valid for ten minutes and for
five wrong tries; a new code replaces the old one. Only its keyed hash is stored, and
it is compared in constant time.
"""

import datetime as dt
import hmac
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.crypto import keyed_hash
from apps.notifications.services import messages_enqueue, sms_to

from ..models import ActionCode, Declaration

CODE_VALID_FOR = dt.timedelta(minutes=10)
CODE_TRIES = 5


def _code_hash(declaration: Declaration, code: str) -> str:
    return keyed_hash("action-code", f"{declaration.pk}:{code}")


def action_code_issue(*, declaration: Declaration) -> ActionCode:
    """Make a new code for the case and queue its SMS to the phones on file."""
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    with transaction.atomic():
        # The new code replaces any code not yet used.
        ActionCode.objects.filter(declaration=declaration, used_at__isnull=True).delete()
        issued = ActionCode.objects.create(
            declaration=declaration,
            code_hash=_code_hash(declaration, code),
            created_at=now,
            expires_at=now + CODE_VALID_FOR,
        )
        messages_enqueue(
            subject=f"action-code:{issued.pk}",
            region_code=declaration.region_code,
            messages=sms_to(declaration.applicant_phones, "applicant_action_code", code=code),
        )
    return issued


def action_code_use(*, declaration: Declaration, code: str) -> str | None:
    """Spend the case's current code: None when `code` is it, else why not (for the
    page). Call it inside the transaction of the action it allows, so that a refused
    action leaves the code unspent; a wrong try is counted whatever follows."""
    now = timezone.now()
    with transaction.atomic():
        current = (
            ActionCode.objects.select_for_update()
            .filter(declaration=declaration, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if current is None or current.expires_at <= now:
            return _("This code has expired or was already used. Ask for a new code.")
        if current.wrong_tries >= CODE_TRIES:
            return _("Too many wrong codes. Ask for a new code.")
        if not hmac.compare_digest(current.code_hash, _code_hash(declaration, code)):
            current.wrong_tries += 1
            current.save(update_fields=["wrong_tries"])
            if current.wrong_tries >= CODE_TRIES:
                return _("Too many wrong codes. Ask for a new code.")
            return _("The code is wrong. Please check the SMS and try again.")
        current.used_at = now
        current.save(update_fields=["used_at"])
    return None
