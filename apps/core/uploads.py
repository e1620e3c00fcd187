"""Safe processing of files uploaded from a phone: photos of documents and PDF scans.

Grid workers photograph the household register (户口簿), ID cards (身份证), the signed
consent (家庭经济状况核查授权书) and the minutes of the village evaluation. Whatever the
browser sends is hostile until proven otherwise, so `clean_upload`:

* refuses empty files and files over ``settings.UPLOAD_MAX_BYTES`` (default 10 MiB)
  before reading them into memory, and never reads more than the limit plus one byte;
* decides the type from the bytes (magic numbers), never from the name or the
  client's Content-Type; only JPEG, PNG and WebP photos and PDF scans pass;
* decodes images fully (catching truncated and corrupt files), refuses decompression
  bombs, turns them upright by their EXIF orientation, shrinks them to
  `MAX_IMAGE_SIDE` and re-encodes them as a fresh JPEG without any metadata: no EXIF
  (so no GPS location), no XMP, no ICC profile, no comments;
* keeps PDFs byte for byte, but refuses ones that carry scripts, launch actions or
  embedded files (a heuristic scan, see `_pdf_active_content`).

The result is a `CleanedUpload`; every refusal is a `ValidationError` with a Chinese
message (through the catalog) and a stable ``code``.
"""

import hashlib
import io
import re
import unicodedata
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

# A phone photo is at most about 50 MP (the 48/50 MP sensors of current phones);
# anything bigger is not a photo of a document but an attempt to exhaust memory
# (50 MP decode to 150 MB of RGB). Pillow's own guard only warns at 89 MP and refuses
# at 179 MP, so we check the declared size ourselves, before decoding.
MAX_IMAGE_PIXELS = 50_000_000

# Long side after re-encoding: plenty to read a 户口簿 page, small for cheap phones.
MAX_IMAGE_SIDE = 2560
JPEG_QUALITY = 85

# A display name, not a storage key: files are stored under names we choose.
MAX_NAME_LENGTH = 100

# Object streams are inflated to look for hidden dictionaries, up to this much in all.
_PDF_MAX_INFLATED = 20 * 1024 * 1024

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PDF_MAGIC = b"%PDF-"
# ISO base media brands of HEIC/HEIF/AVIF (what iPhones and many Android phones shoot
# with "高效"); Pillow cannot decode HEIC without an extra plug-in we do not ship.
_HEIF_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"hevm",
    b"hevs",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
}

# Names that make a PDF run code or carry other files. `#xx` escapes are decoded
# before the scan, so `/J#61vaScript` does not slip through.
_PDF_ACTIVE_NAME = re.compile(
    rb"/(?:JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA)(?![A-Za-z0-9])"
)
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM_START = re.compile(rb"\bstream\r?\n")

_CONTROL_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
# Characters that break Windows file names and quoted headers.
_RESERVED_CHARS = set('<>:"|?*')


@dataclass(frozen=True)
class CleanedUpload:
    content: bytes
    content_type: str  # "image/jpeg" or "application/pdf"
    extension: str  # "jpg" or "pdf", without the dot
    original_name: str  # sanitised, for display only
    sha256: str  # hex digest of `content`
    width: int | None = None  # images only, after re-encoding
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.content)


def clean_upload(uploaded_file: UploadedFile) -> CleanedUpload:
    """Check an uploaded photo or scan and return a safe copy of it.

    Raises ValidationError with one of the codes: ``empty``, ``too_large``,
    ``unsupported_type``, ``heic_unsupported``, ``image_too_large``,
    ``image_corrupt``, ``pdf_unsafe``.
    """
    data = _read_limited(uploaded_file)
    name = sanitise_filename(uploaded_file.name or "")
    kind = _sniff(data)
    if kind == "pdf":
        _check_pdf(data)
        return CleanedUpload(
            content=data,
            content_type="application/pdf",
            extension="pdf",
            original_name=name,
            sha256=hashlib.sha256(data).hexdigest(),
        )
    if kind == "heif":
        raise ValidationError(
            _(
                "HEIC photos cannot be uploaded. Set the phone camera to JPEG "
                "(“Most Compatible”) and take the photo again."
            ),
            code="heic_unsupported",
        )
    if kind is None:
        raise ValidationError(
            _("Only photos (JPEG, PNG or WebP) and PDF scans can be uploaded."),
            code="unsupported_type",
        )
    content, width, height = _reencode_image(data, kind)
    return CleanedUpload(
        content=content,
        content_type="image/jpeg",
        extension="jpg",
        original_name=name,
        sha256=hashlib.sha256(content).hexdigest(),
        width=width,
        height=height,
    )


def sanitise_filename(name: str) -> str:
    """The client's file name, fit to show: no path, no control characters, capped."""
    name = unicodedata.normalize("NFC", name)
    # Both separators: a Windows browser may send "C:\\Users\\…\\photo.jpg".
    name = re.split(r"[/\\]", name)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if category.startswith("Z") or ch in "\t\n\r":
            kept.append(" ")
        elif category in _CONTROL_CATEGORIES:
            continue  # includes bidi overrides (U+202E) that disguise "gpj.exe"
        elif ch in _RESERVED_CHARS:
            kept.append("_")
        else:
            kept.append(ch)
    name = " ".join("".join(kept).split()).lstrip(". ")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH]
    return name or "upload"


def _read_limited(uploaded_file: UploadedFile) -> bytes:
    limit = settings.UPLOAD_MAX_BYTES
    too_large = ValidationError(
        _(
            "The file is larger than %(limit)s MB. Lower the resolution or split it into "
            "several files."
        ),
        code="too_large",
        params={"limit": _format_mb(limit)},
    )
    # `.size` comes from the upload handler, which counted the bytes actually received.
    declared = uploaded_file.size
    if declared is not None and declared > limit:
        raise too_large
    uploaded_file.seek(0)
    data = uploaded_file.read(limit + 1)
    if len(data) > limit:
        raise too_large
    if not data:
        raise ValidationError(_("The file is empty."), code="empty")
    return data


def _format_mb(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:.0f}" if mb >= 1 else f"{mb:.2f}"


def _sniff(data: bytes) -> str | None:
    """The type by its magic number: a Pillow format name, "pdf", "heif" or None."""
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(_PDF_MAGIC):
        return "pdf"
    if data[4:8] == b"ftyp" and (
        data[8:12] in _HEIF_BRANDS or any(b in data[16:64] for b in _HEIF_BRANDS)
    ):
        return "heif"
    return None


def _corrupt() -> ValidationError:
    return ValidationError(
        _("The photo is damaged or incomplete. Take it again and upload it once more."),
        code="image_corrupt",
    )


def _bomb() -> ValidationError:
    return ValidationError(
        _(
            "The image is too large (more than %(megapixels)s megapixels). Upload an "
            "ordinary phone photo."
        ),
        code="image_too_large",
        params={"megapixels": MAX_IMAGE_PIXELS // 1_000_000},
    )


def _open(data: bytes, kind: str) -> Image.Image:
    """Open (header only) as exactly the sniffed format, refusing oversized images.

    Why not lower `Image.MAX_IMAGE_PIXELS` or turn Pillow's DecompressionBombWarning
    into an error with `warnings.catch_warnings`: both change process-wide state, which
    races with other threads of the same worker. Opening reads only the header, so we
    compare the declared size with our own, stricter `MAX_IMAGE_PIXELS` before anything
    is decoded. Pillow's guard (warning above 89 MP, DecompressionBombError above
    179 MP) stays as a second line; its error is caught, and a warning can only come
    for sizes our check refuses anyway.
    """
    try:
        img = Image.open(io.BytesIO(data), formats=[kind])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The warning arrives as an exception only where a warnings filter made it one.
        raise _bomb() from None
    except (OSError, ValueError, SyntaxError):
        # Image.UnidentifiedImageError is an OSError.
        raise _corrupt() from None
    width, height = img.size
    if width <= 0 or height <= 0:
        raise _corrupt()
    if width * height > MAX_IMAGE_PIXELS:
        raise _bomb()
    return img


def _reencode_image(data: bytes, kind: str) -> tuple[bytes, int, int]:
    # verify() checks the structure (PNG chunk CRCs, …) but leaves the image unusable,
    # hence a second open to decode; load() catches truncated pixel data. Both rely on
    # ImageFile.LOAD_TRUNCATED_IMAGES staying False, Pillow's default.
    try:
        with _open(data, kind) as img:
            img.verify()
        with _open(data, kind) as img:
            if kind == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still leaves at
                # least MAX_IMAGE_SIDE: less memory for a 50 MP photo.
                img.draft("RGB", (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
            img.load()
            upright = _upright(img)
            rgb = _to_rgb(upright)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb() from None
    except Exception:
        # Decoders fail on crafted input with all sorts of errors (OSError, SyntaxError,
        # struct.error, IndexError, …); whatever we cannot decode, we refuse.
        raise _corrupt() from None

    rgb.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
    # A brand-new image carries nothing over: Image.save would otherwise copy some of
    # `info` (the JPEG comment, for one) into the output.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), clean.width, clean.height


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a photo with broken EXIF is kept as it was taken."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:
        # The orientation is a nicety; malformed EXIF must not cost the whole photo.
        return img.copy()


def _to_rgb(img: Image.Image) -> Image.Image:
    """Flatten to 8-bit RGB; transparent parts become white, as on paper."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit greyscale PNG: scale to 8 bits instead of clipping everything to white.
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode == "P" and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    # CMYK JPEGs are converted without their ICC profile; colours may shift a little,
    # which does not matter for a photographed document.
    return img.convert("RGB")


def _check_pdf(data: bytes) -> None:
    if _pdf_active_content(data):
        raise ValidationError(
            _(
                "This PDF contains scripts, actions or attached files and cannot be "
                "uploaded. Scan the paper again or upload photos instead."
            ),
            code="pdf_unsafe",
        )


def _pdf_active_content(data: bytes) -> bool:
    """Whether the PDF names JavaScript, a launch action or embedded files.

    A heuristic byte scan, not a PDF parser. It looks at the file outside stream
    bodies (so random bytes in a scanned page image cannot trigger it) and inside
    Flate-compressed object streams, where PDF 1.5+ writers hide dictionaries.
    It misses other filters (LZW, ASCII85 object streams) and any trick a parser
    would need to see through; stored PDFs must therefore still be served as
    attachments (Content-Disposition: attachment, X-Content-Type-Options: nosniff),
    never rendered inline on our origin.
    """
    inflated_budget = _PDF_MAX_INFLATED
    outside: list[bytes] = []
    pos = 0
    while True:
        match = _PDF_STREAM_START.search(data, pos)
        if match is None:
            outside.append(data[pos:])
            break
        outside.append(data[pos : match.start()])
        end = data.find(b"endstream", match.end())
        if end < 0:
            end = len(data)
        header = _unescape_names(data[max(pos, match.start() - 512) : match.start()])
        if b"/ObjStm" in header and b"/FlateDecode" in header:
            body = data[match.end() : end]
            inflated = _inflate(body, inflated_budget)
            if inflated is None:
                return True  # inflates beyond the budget: suspicious in itself
            inflated_budget -= len(inflated)
            if _PDF_ACTIVE_NAME.search(_unescape_names(inflated)):
                return True
        pos = end + len(b"endstream")
    return bool(_PDF_ACTIVE_NAME.search(_unescape_names(b"".join(outside))))


def _unescape_names(chunk: bytes) -> bytes:
    return _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), chunk)


def _inflate(body: bytes, budget: int) -> bytes | None:
    """Inflate at most `budget` bytes; None when there is more (a zip bomb)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, budget + 1)
    except zlib.error:
        return b""  # not valid Flate data: a reader could not use it either
    if len(out) > budget:
        return None
    return out
