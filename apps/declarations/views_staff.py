from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.views import client_ip
from apps.regions.models import StaffMembership

from .selectors import declaration_timeline, declarations_visible_to
from .services import REVEALABLE_FIELDS, declaration_reveal, verify_due_date


@login_required
def home(request):
    declarations = declarations_visible_to(request.user).order_by("-submitted_at")
    page = Paginator(declarations, 50).get_page(request.GET.get("page"))
    memberships = StaffMembership.objects.filter(user=request.user, is_active=True).select_related(
        "region"
    )
    rows = [(d, verify_due_date(d)) for d in page.object_list]
    return render(
        request,
        "declarations/staff/home.html",
        {"page": page, "rows": rows, "memberships": memberships},
    )


@never_cache
@login_required
def detail(request, tracking_number):
    declaration = get_object_or_404(
        declarations_visible_to(request.user), tracking_number=tracking_number
    )
    return render(
        request,
        "declarations/staff/detail.html",
        {
            "declaration": declaration,
            "verify_due": verify_due_date(declaration),
            "timeline": declaration_timeline(declaration),
            "can_reveal": request.user.has_perm("declarations.reveal_personal_data"),
        },
    )


@never_cache
@login_required
@require_POST
def reveal(request, tracking_number, field):
    if field not in REVEALABLE_FIELDS:
        raise Http404
    declaration = get_object_or_404(
        declarations_visible_to(request.user), tracking_number=tracking_number
    )
    value = declaration_reveal(
        declaration=declaration, field=field, actor=request.user, ip=client_ip(request)
    )
    return render(
        request,
        "declarations/staff/revealed.html",
        {"declaration": declaration, "field": field, "value": value},
    )
