"""Uploads from the phone: typed by content, size-limited, images re-encoded clean.

Every fixture is made here with Pillow or from bytes; no binary files are committed.
"""

import hashlib
import io
import os
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.test import override_settings
from django.utils import translation
from PIL import ExifTags, Image, ImageCms

from apps.core.uploads import (
    MAX_IMAGE_SIDE,
    MAX_NAME_LENGTH,
    CleanedUpload,
    clean_upload,
    sanitise_filename,
)

# --- fixture builders ---------------------------------------------------------------


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def image_bytes(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def noise(size: tuple[int, int]) -> Image.Image:
    """Incompressible pixels, so that a cut-off file really lacks image data."""
    return Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))


def phone_photo_with_gps() -> bytes:
    """A 40×20 JPEG, red left half and blue right half, that the camera says to show
    rotated 90° clockwise (orientation 6), with GPS, XMP, an ICC profile and a comment."""
    img = Image.new("RGB", (40, 20), "blue")
    img.paste(Image.new("RGB", (20, 20), "red"), (0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (35.0, 34.0, 12.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (104.0, 37.0, 0.0),
        }
    )
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = image_bytes(
        img,
        "JPEG",
        quality=95,
        exif=exif,
        icc_profile=icc,
        comment=b"secret-comment",
        xmp=b"<x:xmpmeta>secret-xmp</x:xmpmeta>",
    )
    # The fixture really carries what must be removed.
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"secret-xmp" in data and b"ICC_PROFILE" in data
    return data


def pdf(*objects: bytes) -> bytes:
    """A small, structurally plausible PDF made of the given object bodies."""
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    for number, obj in enumerate(objects, start=1):
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    return body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


PLAIN_PDF_OBJECTS = (
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
)


def refused(uploaded) -> ValidationError:
    with pytest.raises(ValidationError) as exc_info:
        clean_upload(uploaded)
    return exc_info.value


class SpyFile(io.BytesIO):
    """Counts the bytes handed out, to prove a big upload is not read whole."""

    bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


# --- photos ---------------------------------------------------------------------------


def test_phone_photo_comes_out_upright_jpeg_without_location_or_metadata():
    result = clean_upload(upload(phone_photo_with_gps(), name="IMG_0001.JPG"))

    assert isinstance(result, CleanedUpload)
    assert (result.content_type, result.extension) == ("image/jpeg", "jpg")
    assert (result.width, result.height) == (20, 40)  # turned upright
    img = Image.open(io.BytesIO(result.content))
    assert img.format == "JPEG" and img.mode == "RGB" and img.size == (20, 40)
    # Orientation 6 turns the picture clockwise: its left (red) half ends up on top.
    top, bottom = img.getpixel((10, 5)), img.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom

    exif = img.getexif()
    assert len(exif) == 0
    assert ExifTags.Base.GPSInfo not in exif
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    for marker in (b"Exif", b"PhoneMaker", b"secret-xmp", b"ICC_PROFILE", b"secret-comment"):
        assert marker not in result.content, marker
    assert "icc_profile" not in img.info and "comment" not in img.info
    assert result.sha256 == hashlib.sha256(result.content).hexdigest()
    assert result.original_name == "IMG_0001.JPG"


def test_png_with_transparency_becomes_jpeg_on_white():
    img = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    img.paste(Image.new("RGBA", (10, 10), (0, 0, 255, 255)), (0, 0))
    result = clean_upload(upload(image_bytes(img, "PNG"), name="scan.png"))

    assert result.content_type == "image/jpeg"
    out = Image.open(io.BytesIO(result.content))
    assert out.format == "JPEG" and out.mode == "RGB"
    assert min(out.getpixel((25, 25))) > 245  # the transparent part is white, not black
    blue = out.getpixel((3, 3))
    assert blue[2] > 200 and blue[0] < 60


def test_palette_png_with_transparency_and_text_chunk_is_cleaned():
    from PIL import PngImagePlugin

    img = Image.new("P", (16, 16), 1)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-png-text")
    data = image_bytes(img, "PNG", transparency=1, pnginfo=info)
    result = clean_upload(upload(data, name="x.png"))

    assert b"secret-png-text" not in result.content
    assert min(Image.open(io.BytesIO(result.content)).getpixel((8, 8))) > 245


def test_16_bit_greyscale_png_keeps_its_greys():
    img = Image.new("I;16", (8, 8), 128 * 256)
    result = clean_upload(upload(image_bytes(img, "PNG"), name="grey.png"))
    r, g, b = Image.open(io.BytesIO(result.content)).getpixel((4, 4))
    assert 120 <= r <= 136 and r == g == b


def test_webp_is_accepted_and_reencoded_as_jpeg():
    data = image_bytes(Image.new("RGB", (50, 40), "green"), "WEBP")
    result = clean_upload(upload(data, name="photo.webp", content_type="image/webp"))
    assert result.extension == "jpg"
    assert Image.open(io.BytesIO(result.content)).format == "JPEG"
    assert (result.width, result.height) == (50, 40)


def test_large_photo_is_downscaled_to_the_maximum_side():
    data = image_bytes(Image.new("RGB", (4000, 3000), "white"), "JPEG")
    result = clean_upload(upload(data))
    assert (result.width, result.height) == (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE * 3 // 4)
    assert Image.open(io.BytesIO(result.content)).size == (result.width, result.height)


def test_type_comes_from_content_not_from_name_or_content_type():
    data = image_bytes(Image.new("RGB", (10, 10), "red"), "PNG")
    result = clean_upload(upload(data, name="document.pdf", content_type="application/pdf"))
    assert result.content_type == "image/jpeg"


# --- hostile or unusable files ------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", id="html"),
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, id="exe"),
        pytest.param(b"\xef\xbb\xbf<html><body>hi</body></html>", id="html-with-bom"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 100, id="zip"),
    ],
)
def test_non_image_behind_a_jpg_name_is_refused(data):
    error = refused(upload(data, name="photo.jpg", content_type="image/jpeg"))
    assert error.code == "unsupported_type"


def test_gif_is_refused():
    data = image_bytes(Image.new("P", (10, 10)), "GIF")
    assert refused(upload(data, name="photo.gif", content_type="image/gif")).code == (
        "unsupported_type"
    )


def test_svg_is_refused():
    svg = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
        b'height="10"><script>alert(document.cookie)</script></svg>'
    )
    error = refused(upload(svg, name="photo.svg", content_type="image/svg+xml"))
    assert error.code == "unsupported_type"


def test_heic_is_refused_with_advice_to_shoot_jpeg():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    error = refused(upload(heic, name="IMG_0002.HEIC", content_type="image/heic"))
    assert error.code == "heic_unsupported"
    assert "兼容性最佳" in error.messages[0]


def test_empty_file_is_refused():
    assert refused(upload(b"")).code == "empty"


@override_settings(UPLOAD_MAX_BYTES=1000)
def test_oversized_file_is_refused_without_being_read():
    spy = SpyFile(b"\xff\xd8\xff" + b"\x00" * 5000)
    error = refused(UploadedFile(spy, name="big.jpg", content_type="image/jpeg", size=5003))
    assert error.code == "too_large"
    assert spy.bytes_read == 0


@override_settings(UPLOAD_MAX_BYTES=1000)
def test_file_larger_than_its_declared_size_is_read_only_up_to_the_limit():
    spy = SpyFile(b"\xff\xd8\xff" + b"\x00" * 50_000)
    error = refused(UploadedFile(spy, name="big.jpg", content_type="image/jpeg", size=10))
    assert error.code == "too_large"
    assert spy.bytes_read == 1001


@override_settings(UPLOAD_MAX_BYTES=2 * 1024 * 1024)
def test_size_limit_is_in_the_message():
    error = refused(upload(b"%PDF-" + b"0" * (2 * 1024 * 1024)))
    assert error.code == "too_large"
    assert error.params == {"limit": "2"}


def test_decompression_bomb_is_refused():
    # 30000×30000 one-bit pixels: about 100 KB on disk, 2.7 GB once decoded as RGB.
    bomb = image_bytes(Image.new("1", (30000, 30000)), "PNG")
    assert len(bomb) < 200_000
    assert refused(upload(bomb, name="bomb.png")).code == "image_too_large"


def test_image_over_our_pixel_limit_but_under_pillows_is_refused():
    # 64 MP: Pillow would decode it without a word; our 50 MP limit refuses it.
    big = image_bytes(Image.new("1", (8000, 8000)), "PNG")
    error = refused(upload(big, name="big.png"))
    assert error.code == "image_too_large"
    assert error.params == {"megapixels": 50}


def test_truncated_jpeg_is_refused():
    data = image_bytes(noise((200, 200)), "JPEG", quality=90)
    assert refused(upload(data[: len(data) // 2])).code == "image_corrupt"


def test_png_with_broken_checksum_is_refused():
    data = bytearray(image_bytes(noise((20, 20)), "PNG"))
    data[data.index(b"IDAT") + 10] ^= 0xFF
    assert refused(upload(bytes(data), name="x.png")).code == "image_corrupt"


def test_garbage_after_a_jpeg_magic_is_refused():
    data = b"\xff\xd8\xff\xe0" + os.urandom(2000)
    assert refused(upload(data)).code == "image_corrupt"


# --- PDF scans ----------------------------------------------------------------------


def test_pdf_is_accepted_unchanged():
    data = pdf(*PLAIN_PDF_OBJECTS)
    result = clean_upload(upload(data, name="授权书.pdf", content_type="application/pdf"))
    assert result.content == data
    assert (result.content_type, result.extension) == ("application/pdf", "pdf")
    assert result.width is None and result.height is None
    assert result.original_name == "授权书.pdf"


def test_pdf_with_binary_image_stream_that_looks_like_a_name_is_accepted():
    # Scanned pages are mostly JPEG streams; their random bytes must not trigger the scan.
    image = b"\xff\xd8\xff junk /JS /Launch junk \xff\xd9"
    stream = b"<< /Type /XObject /Subtype /Image /Filter /DCTDecode /Length %d >>\nstream\n" % len(
        image
    )
    data = pdf(*PLAIN_PDF_OBJECTS, stream + image + b"\nendstream")
    assert clean_upload(upload(data, name="scan.pdf")).extension == "pdf"


@pytest.mark.parametrize(
    "active",
    [
        pytest.param(b"<< /S /JavaScript /JS (app.alert(1)) >>", id="javascript"),
        pytest.param(b"<< /S /Launch /F (cmd.exe) >>", id="launch"),
        pytest.param(b"<< /EmbeddedFiles << /Names [] >> >>", id="embedded-file"),
        pytest.param(b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>", id="hex-escaped"),
    ],
)
def test_pdf_with_active_content_is_refused(active):
    data = pdf(*PLAIN_PDF_OBJECTS, active)
    assert refused(upload(data, name="scan.pdf")).code == "pdf_unsafe"


def test_pdf_hiding_javascript_in_a_compressed_object_stream_is_refused():
    hidden = zlib.compress(b"4 0 << /S /JavaScript /JS (app.alert(1)) >>")
    objstm = (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(hidden)
        + hidden
        + b"\nendstream"
    )
    data = pdf(*PLAIN_PDF_OBJECTS, objstm)
    assert refused(upload(data, name="scan.pdf")).code == "pdf_unsafe"


def test_pdf_object_stream_that_inflates_enormously_is_refused():
    bomb = zlib.compress(b"\x00" * (25 * 1024 * 1024), 9)
    objstm = (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(bomb)
        + bomb
        + b"\nendstream"
    )
    data = pdf(*PLAIN_PDF_OBJECTS, objstm)
    assert refused(upload(data, name="scan.pdf")).code == "pdf_unsafe"


# --- names and messages -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\wang\\Desktop\\户口簿.jpg", "户口簿.jpg"),
        ("身份证\x00正面\r\n.jpg", "身份证正面 .jpg"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ('a<b>:"c"|?*.jpg', "a_b___c____.jpg"),
        ("...hidden.jpg", "hidden.jpg"),
        ("   ", "upload"),
        ("", "upload"),
    ],
)
def test_original_name_is_sanitised(raw, expected):
    assert sanitise_filename(raw) == expected


def test_long_original_name_is_capped_keeping_its_extension():
    name = sanitise_filename("家" * 300 + ".jpeg")
    assert len(name) == MAX_NAME_LENGTH
    assert name.endswith("家.jpeg")


def test_uploaded_name_is_sanitised_in_the_result():
    data = image_bytes(Image.new("RGB", (10, 10)), "JPEG")
    result = clean_upload(upload(data, name="/home/wang/\u202e证明.jpg"))
    assert result.original_name == "证明.jpg"


def test_messages_are_in_chinese():
    with translation.override("zh-hans"):
        html = upload(b"<html></html>", name="photo.jpg")
        assert refused(html).messages == ["只能上传照片（JPEG、PNG或WebP格式）或PDF扫描件。"]
        bomb = upload(image_bytes(Image.new("1", (8000, 8000)), "PNG"), name="b.png")
        assert refused(bomb).messages == [
            "图片尺寸过大（超过50百万像素），请上传用手机正常拍摄的照片。"
        ]
        with override_settings(UPLOAD_MAX_BYTES=1024 * 1024):
            big = upload(b"%PDF-" + b"0" * (2 * 1024 * 1024))
            assert refused(big).messages == ["文件超过1 MB，请降低分辨率或分成几个文件上传。"]
