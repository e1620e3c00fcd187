"""The farmer's pages: the village form, the receipt and the status look-up.

No login. Protected by CSRF, request-size limits (core middleware) and rate limits per
client address and per phone number (counted on normalised numbers). Every SMS a page
causes is limited per recipient phone, client address and village; withdrawing or
appealing needs a one-time code sent to the phone on file.
"""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from apps.core.identity import (
    id_hash,
    mask_mobile,
    mobile_hash,
    normalise_id_number,
    normalise_mobile,
)
from apps.core.ratelimit import Limit, exceeded
from apps.core.views import client_ip, rate_limited
from apps.regions.models import Level, Region

from . import services
from .forms import (
    ActionForm,
    DeclarationForm,
    RecoverForm,
    StatusForm,
    normalise_tracking_number,
)
from .models import Declaration
from .selectors import declaration_public_status
from .services import declaration_submit, verify_due_date

RECEIPT_SALT = "declarations.receipt"
RECEIPT_MAX_AGE = 7 * 24 * 3600


def _phone_key(request, field: str) -> str:
    number = normalise_mobile(request.POST.get(field, "")[:20])
    return mobile_hash(number) if number else "none"


def sms_allowed(request, *, phones: list[str], region_code: str) -> bool:
    """Count an SMS that a public page is about to cause against the limits per
    recipient phone, per client address and per village; False when one is over."""
    limits = [
        Limit("sms-ip", client_ip(request), settings.RATELIMIT_SMS_PER_IP),
        Limit("sms-village", region_code, settings.RATELIMIT_SMS_PER_VILLAGE),
    ] + [Limit("sms-phone", mobile_hash(p), settings.RATELIMIT_SMS_PER_PHONE) for p in phones]
    return not exceeded(limits)


def _village_by_slug(slug: str) -> Region:
    return get_object_or_404(Region, public_slug=slug, level=Level.VILLAGE)


def receipt_url(declaration: Declaration) -> str:
    token = signing.dumps(declaration.pk, salt=RECEIPT_SALT)
    return reverse("public:receipt", kwargs={"token": token})


@never_cache
@sensitive_post_parameters("phone", "id_number", "declarant_phone")
@sensitive_variables("form")
def village_form(request, slug):
    village = _village_by_slug(slug)
    if request.method == "POST":
        if exceeded(
            [
                Limit("submit-ip", client_ip(request), settings.RATELIMIT_SUBMIT_PER_IP),
                Limit(
                    "submit-phone",
                    _phone_key(request, "phone"),
                    settings.RATELIMIT_SUBMIT_PER_PHONE,
                ),
            ]
        ):
            return rate_limited(request)
        form = DeclarationForm(request.POST)
        if form.is_valid():
            data = form.to_input()
            receipt_to = [data.phone] + ([data.declarant_phone] if data.on_behalf else [])
            result = declaration_submit(
                village=village,
                data=data,
                submission_token=form.cleaned_data["token"],
                applicant_receipt=sms_allowed(request, phones=receipt_to, region_code=village.code),
            )
            if result.reason == "open_case":
                # Whoever typed this ID number learns nothing of the case: its tracking
                # number goes by SMS to the phones on file (once a day at most).
                existing = result.declaration
                if sms_allowed(request, phones=existing.applicant_phones, region_code=village.code):
                    services.open_case_notify(declaration=existing)
                return render(
                    request, "declarations/public/open_case.html", {"village": village}, status=200
                )
            return redirect(receipt_url(result.declaration))
        status = 400
    else:
        form = DeclarationForm()
        status = 200
    return render(
        request, "declarations/public/form.html", {"village": village, "form": form}, status=status
    )


@never_cache
def receipt(request, token):
    try:
        pk = signing.loads(token, salt=RECEIPT_SALT, max_age=RECEIPT_MAX_AGE)
    except signing.BadSignature:
        raise Http404 from None
    declaration = get_object_or_404(Declaration.objects.select_related("village"), pk=pk)
    return render(
        request,
        "declarations/public/receipt.html",
        {
            "declaration": declaration,
            "village": declaration.village,
            "verify_due": verify_due_date(declaration),
        },
    )


@never_cache
@sensitive_post_parameters("phone")
def status(request):
    result = None
    not_found = False
    if request.method == "POST":
        # Counted as the form reads it: the same number in full-width digits or with
        # spaces is the same number.
        tracking = normalise_tracking_number(request.POST.get("tracking_number", "")[:30])
        if exceeded(
            [
                Limit("status-ip", client_ip(request), settings.RATELIMIT_STATUS_PER_IP),
                Limit(
                    "status-tracking", tracking or "none", settings.RATELIMIT_STATUS_PER_TRACKING
                ),
            ]
        ):
            return rate_limited(request)
        form = StatusForm(request.POST)
        if form.is_valid():
            result = declaration_public_status(
                tracking_number=form.cleaned_data["tracking_number"],
                phone=form.cleaned_data["phone"],
            )
            # One answer for "no such number" and "wrong phone": nothing to probe.
            not_found = result is None
        http_status = 200 if form.is_valid() else 400
    else:
        form = StatusForm()
        http_status = 200
    context = {"form": form, "result": result, "not_found": not_found}
    if result is not None:
        # Proof, for the next hour, that this browser knew the number and the phone.
        context["case_token"] = signing.dumps(result.declaration_id, salt=CASE_SALT)
    return render(request, "declarations/public/status.html", context, status=http_status)


@never_cache
@sensitive_post_parameters("id_number", "phone")
@sensitive_variables("form")
def recover(request):
    """A lost tracking number: asked for with the ID number and the phone used when
    declaring, sent by SMS to that phone only. The page says the same whether or not a
    declaration matched, so it tells nobody whether a person has declared; then it
    redirects (Post/Redirect/Get), so a refresh sends nothing again."""
    if request.method == "POST":
        # Counted as the form reads the numbers: spaces or full-width digits are the
        # same number.
        number = normalise_id_number(request.POST.get("id_number", "")[:24])
        if exceeded(
            [
                Limit("status-ip", client_ip(request), settings.RATELIMIT_STATUS_PER_IP),
                Limit(
                    "recover-id",
                    id_hash(number) if number else "none",
                    settings.RATELIMIT_RECOVER_PER_ID,
                ),
                Limit(
                    "recover-phone",
                    _phone_key(request, "phone"),
                    settings.RATELIMIT_RECOVER_PER_PHONE,
                ),
            ]
        ):
            return rate_limited(request)
        form = RecoverForm(request.POST)
        if form.is_valid():
            phone = form.cleaned_data["phone"]
            declaration = services.declaration_to_recover(
                id_number=form.cleaned_data["id_number"], phone=phone
            )
            if declaration is not None and sms_allowed(
                request, phones=[phone], region_code=declaration.region_code
            ):
                services.tracking_number_send(declaration=declaration, phone=phone)
            return redirect(f"{reverse('public:recover')}?sent=1")
        return render(request, "declarations/public/recover.html", {"form": form}, status=400)
    return render(
        request,
        "declarations/public/recover.html",
        {"form": RecoverForm(), "sent": request.GET.get("sent") == "1"},
    )


CASE_SALT = "declarations.status-case"
CASE_TOKEN_MAX_AGE = 3600
ACTIONS = ("appeal", "withdraw")


def _expired(request):
    return render(
        request,
        "error.html",
        {"title": _("Page expired"), "message": _("Please look up your declaration again.")},
        status=403,
    )


def _case_from_token(request) -> Declaration | None:
    try:
        pk = signing.loads(request.POST.get("case", ""), salt=CASE_SALT, max_age=CASE_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return get_object_or_404(Declaration, pk=pk)


def _action_page(request, *, action, declaration, form, status=200):
    return render(
        request,
        "declarations/public/status_reason.html",
        {
            "form": form,
            "action": action,
            "case_token": request.POST.get("case", ""),
            "sent_to": [mask_mobile(p) for p in declaration.applicant_phones],
        },
        status=status,
    )


@never_cache
@require_POST
def status_code(request, action):
    """Send a one-time code to the phones on file; the action's page asks for it."""
    if action not in ACTIONS:
        raise Http404
    declaration = _case_from_token(request)
    if declaration is None:
        return _expired(request)
    if exceeded(
        [Limit("code-case", str(declaration.pk), settings.RATELIMIT_CODE_PER_CASE)]
    ) or not sms_allowed(
        request, phones=declaration.applicant_phones, region_code=declaration.region_code
    ):
        return rate_limited(request)
    services.action_code_issue(declaration=declaration)
    return _action_page(request, action=action, declaration=declaration, form=ActionForm())


@never_cache
@require_POST
@sensitive_post_parameters("code")
def status_act(request, action):
    """The applicant appeals a rejection or withdraws an open declaration, with the
    one-time code sent to the phone on file."""
    if action not in ACTIONS:
        raise Http404
    declaration = _case_from_token(request)
    if declaration is None:
        return _expired(request)
    form = ActionForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                # A refused action rolls back the spent code; a wrong code is counted.
                wrong = services.action_code_use(
                    declaration=declaration, code=form.cleaned_data["code"]
                )
                if wrong is None:
                    title, message = _act(action, declaration, form.cleaned_data["reason"])
        except services.ActionRefused as exc:
            return render(
                request,
                "error.html",
                {"title": _("Not possible"), "message": exc.message},
                status=409,
            )
        if wrong is None:
            return render(
                request, "declarations/public/done.html", {"title": title, "message": message}
            )
        form.add_error("code", wrong)
    return _action_page(request, action=action, declaration=declaration, form=form, status=400)


def _act(action: str, declaration: Declaration, reason: str) -> tuple[str, str]:
    if action == "appeal":
        services.appeal_file(declaration=declaration, reason=reason, channel="online")
        return _("Appeal sent"), _(
            "Your appeal has been sent to the level above. You will be told the decision by SMS."
        )
    services.declaration_withdraw(declaration=declaration, reason=reason, by_applicant=True)
    return _("Withdrawn"), _("Your declaration has been withdrawn.")


def home(request):
    return render(request, "declarations/public/home.html")
