from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Region
from .qr import village_public_url, village_qr_svg

# A county has a few hundred villages; more than this on one print job is a mistake.
MAX_POSTERS = 500


@login_required
def qr_list(request):
    villages = Region.objects.visible_to(request.user).villages().select_related("parent")
    rows = [(v, village_public_url(v)) for v in villages[:MAX_POSTERS]]
    areas = Region.objects.visible_to(request.user).filter(level__lt=5).exclude(level=1)
    return render(request, "regions/qr_list.html", {"rows": rows, "areas": areas})


@login_required
def qr_svg(request, code):
    village = get_object_or_404(Region.objects.visible_to(request.user).villages(), code=code)
    response = HttpResponse(village_qr_svg(village), content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="qr-{village.code}.svg"'
    return response


@login_required
def posters(request, code):
    """One A4 poster per village under the region `code` (itself a village or an area)."""
    region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
    villages = (
        Region.objects.visible_to(request.user)
        .villages()
        .subtree_of(region)
        .select_related("parent")
        if not region.is_village
        else [region]
    )
    pages = [
        {"village": v, "url": village_public_url(v), "svg": village_qr_svg(v)}
        for v in list(villages)[:MAX_POSTERS]
    ]
    return render(request, "regions/posters.html", {"region": region, "pages": pages})
