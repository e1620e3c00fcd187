import qrcode
import qrcode.image.svg
from django.conf import settings
from django.urls import reverse

from .models import Region


def village_public_url(village: Region) -> str:
    """The permanent URL printed on the village's posters."""
    path = reverse("public:village_form", kwargs={"slug": village.public_slug})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def village_qr_svg(village: Region) -> str:
    # Error correction M survives a little dirt or a fold on a notice board.
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    qr.add_data(village_public_url(village))
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode")
