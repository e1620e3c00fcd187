"""The grid worker on one bar of signal, on a 360×740 phone: the visit form works
offline once loaded, waits on the phone ("待上传 1") and arrives exactly once when the
signal returns, however often it is sent; a photo is made small on the phone, stored
without EXIF, and its upload resumes after a dropped connection; the visit's location
is recorded with consent; each worker page weighs at most 50 KB. Screenshots go to
test-output/field-*.png."""

import io
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from apps.declarations import services as s
from apps.declarations.models import (
    ChunkedUpload,
    DocumentKind,
    HouseholdVisit,
    UploadChunk,
    VisitDraft,
)
from apps.households.models import LabourCapacity
from tests.browser.conftest import PHONE, TIMEOUT_MS
from tests.browser.test_review_flow import sign_in
from tests.browser.weight import page_weight
from tests.review_steps import SAVE_STEP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEIGHT_LIMIT = 50 * 1024
PHOTO_LIMIT = 300 * 1024
WHERE = {"latitude": 35.581234, "longitude": 104.612345, "accuracy": 15}


@pytest.fixture
def accepted(case, grid_wogou):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    return case


@pytest.fixture
def big_photo(tmp_path):
    """A 12 MP phone photo of a document, with the GPS position in its EXIF."""
    image = Image.new("RGB", (4000, 3000), (236, 232, 220))
    draw = ImageDraw.Draw(image)
    for y in range(200, 2900, 90):
        draw.rectangle((300, y, 300 + (y * 37) % 3300, y + 30), fill=(40, 40, 60))
    for x in range(0, 4000, 250):
        draw.line((x, 0, x + 800, 3000), fill=(180, 60, 60), width=9)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (35.0, 34.0, 52.0), 3: "E", 4: (104.0, 36.0, 44.0)}
    path = tmp_path / "IMG_20261205_101500.jpg"
    image.save(path, "JPEG", quality=95, exif=exif)
    assert path.stat().st_size > 1024 * 1024
    return path


def phone_context(browser, **extra):
    context = browser.new_context(**PHONE, geolocation=WHERE, permissions=["geolocation"], **extra)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def wait_until(page, condition: str) -> None:
    """Wait in the page until the JavaScript `condition` (may await) holds. Not
    wait_for_function: it evaluates strings, which the pages' CSP forbids."""
    page.evaluate(
        "async () => { for (let i = 0; i < 300; i++) {"
        f" if (await (async () => {condition})()) return;"
        " await new Promise(r => setTimeout(r, 50)); }"
        f" throw new Error('timed out: ' + {json.dumps(condition)}); }}"
    )


def shot(page, output_dir, name):
    page.screenshot(path=str(output_dir / f"field-{name}.png"), full_page=True)


def save_step(page):
    with page.expect_navigation():
        page.click(SAVE_STEP)


def assert_outbox_waiting(page, visits: int) -> None:
    """The outbox's line says `visits` visits wait: awaited, as the page counts its
    outbox after it has loaded."""
    expect(page.locator("[data-outbox]")).to_have_text(
        re.compile(rf"^\s*待上传\s+{visits}(\s|$)"), use_inner_text=True
    )


def check_photo(document):
    with document.file.open("rb") as f:
        data = f.read()
    assert len(data) <= PHOTO_LIMIT, len(data)
    image = Image.open(io.BytesIO(data))
    assert max(image.size) <= 1600
    assert not image.getexif().get_ifd(0x8825)  # no GPS
    assert not image.getexif()


def test_a_visit_recorded_offline_arrives_exactly_once(
    browser, live_server, accepted, grid_wogou, big_photo, output_dir
):
    context = phone_context(browser)
    page = context.new_page()
    posts = []
    page.on(
        "request",
        lambda r: (
            posts.append((r.url, r.headers["content-type"], r.post_data_buffer))
            if r.method == "POST" and "/visit/" in r.url
            else None
        ),
    )
    refused = []  # what the Content-Security-Policy blocked, if anything
    page.on(
        "console",
        lambda m: (
            refused.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    detail = reverse("staff:detail", args=[accepted.tracking_number])
    sign_in(page, live_server, grid_wogou, reverse("staff:home"))

    # Page weight of the three worker pages, JavaScript included.
    weights = {
        "home": page_weight(page, live_server.url + reverse("staff:home")),
        "case": page_weight(page, live_server.url + detail),
        "visit": page_weight(
            page, live_server.url + reverse("staff:visit", args=[accepted.tracking_number])
        ),
    }
    (output_dir / "field-page-weight.json").write_text(json.dumps(weights, indent=1))
    for name, weight in weights.items():
        assert weight["total"] <= WEIGHT_LIMIT, (name, weight)
        assert weight.get("script", 0) > 0, f"{name}: field.js not loaded"

    # The visit form, opened online: its steps and the case page kept on the phone.
    assert page.input_value("input[name=visit_date]") == timezone.localdate().isoformat()
    wait_until(page, "navigator.serviceWorker.controller !== null")
    wait_until(
        page,
        "(await (await caches.open('pages-v1')).keys()).length >= 4"
        " && (await (await caches.open('static-v1')).keys()).length >= 2",
    )
    page.check("input[name=share_location]")
    wait_until(page, "document.querySelector('input[name=location]').value !== ''")
    shot(page, output_dir, "01-date-step")

    # No signal from here on.
    context.set_offline(True)
    save_step(page)
    assert "/visit/members/" in page.url
    assert_outbox_waiting(page, 1)
    page.select_option("select[name=m-0-labour_capacity]", LabourCapacity.PARTIAL)
    page.fill("input[name=m-0-relation]", "户主")
    page.click("main form button[name=add]")  # offline: a block added on the phone
    page.fill("input[name=m-1-name]", "李梅")
    page.fill("input[name=m-1-relation]", "配偶")
    page.select_option("select[name=m-1-labour_capacity]", LabourCapacity.NONE)
    shot(page, output_dir, "02-members-step-offline")
    save_step(page)
    page.fill("input[name=income_farming]", "12000")
    page.fill("input[name=expense_medical]", "9000")
    shot(page, output_dir, "03-money-step-offline")
    save_step(page)
    page.check("input[name=risk_types][value=illness]")
    page.fill("textarea[name=findings]", "老伴住院，花费六万。")
    page.set_input_files("input[name=photo]", str(big_photo))
    shot(page, output_dir, "04-findings-step-offline")
    save_step(page)
    assert page.url == live_server.url + detail  # the case page, from the phone
    assert_outbox_waiting(page, 1)  # one visit waits, all its steps
    shot(page, output_dir, "05-waiting-to-upload")
    assert not HouseholdVisit.objects.exists()

    # The signal returns: the outbox is sent.
    sent_before = len(posts)
    context.set_offline(False)
    page.wait_for_selector("[data-outbox]", state="hidden")
    replays = posts[sent_before:]
    assert [re.sub(r".*/visit/", "", u) for u, _c, _b in replays] == [
        "date/",
        "members/",
        "money/",
        "findings/",
    ]
    # …and sent again, every form of it, as a phone might after a lost answer.
    for url, content_type, body in replays:
        response = page.request.fetch(
            url,
            method="POST",
            headers={"content-type": content_type},
            data=body,
            max_redirects=0,
        )
        assert response.status == 302
    visit = HouseholdVisit.objects.prefetch_related("members").get()
    assert [m.name for m in visit.members.all()] == [accepted.name, "李梅"]
    assert visit.income_farming == 12000
    assert visit.location.startswith("35.581234,104.612345,")
    assert not VisitDraft.objects.exists()
    photos = accepted.documents.filter(kind=DocumentKind.VISIT_PHOTO)
    assert photos.count() == 1
    check_photo(photos.get())
    page.goto(live_server.url + detail)
    assert "已记录位置" in page.content()
    shot(page, output_dir, "06-visit-arrived")
    assert refused == []
    context.close()


def test_a_dropped_upload_resumes_from_the_offset(
    browser, live_server, accepted, grid_wogou, big_photo, output_dir
):
    # Routing sees every request when no service worker stands in between.
    context = phone_context(browser, service_workers="block")
    page = context.new_page()
    patches = []

    def drop_second_piece(route):
        request = route.request
        if request.method == "PATCH":
            offset = int(request.headers["upload-offset"])
            patches.append((offset, len(request.post_data_buffer)))
            if len(patches) == 2:
                route.fetch()  # the server gets the piece, the answer is lost
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/staff/uploads/**", drop_second_piece)
    sign_in(page, live_server, grid_wogou, reverse("staff:visit", args=[accepted.tracking_number]))
    save_step(page)  # today, no location
    page.select_option("select[name=m-0-labour_capacity]", LabourCapacity.PARTIAL)
    save_step(page)
    save_step(page)
    page.check("input[name=risk_types][value=illness]")
    page.fill("textarea[name=findings]", "老伴住院。")
    page.set_input_files("input[name=photo]", str(big_photo))
    save_step(page)
    assert page.url.endswith(reverse("staff:detail", args=[accepted.tracking_number]))
    shot(page, output_dir, "07-upload-resumed")

    offsets = [offset for offset, _size in patches]
    assert len(offsets) >= 3, offsets
    # The piece whose answer was lost is not sent again: the upload went on from
    # where the server had got to.
    assert len(set(offsets)) == len(offsets), offsets
    assert offsets == sorted(offsets) and offsets[0] == 0
    sent = sum(size for _offset, size in patches)
    document = accepted.documents.get(kind=DocumentKind.VISIT_PHOTO)
    check_photo(document)
    assert not ChunkedUpload.objects.exists() and not UploadChunk.objects.exists()
    assert sent == patches[-1][0] + patches[-1][1]  # every byte sent once
    visit = HouseholdVisit.objects.get()
    assert visit.location == ""  # no consent asked for: no location
    context.close()


def test_without_javascript_the_visit_is_recorded_without_location(
    phone_page_no_js, live_server, accepted, grid_wogou, output_dir
):
    page = phone_page_no_js
    sign_in(page, live_server, grid_wogou, reverse("staff:visit", args=[accepted.tracking_number]))
    assert page.input_value("input[name=visit_date]") == timezone.localdate().isoformat()
    page.check("input[name=share_location]")  # consent, but no phone to ask
    save_step(page)
    # "Add a member" without JavaScript: the server adds a block.
    page.select_option("select[name=m-0-labour_capacity]", LabourCapacity.PARTIAL)
    with page.expect_navigation():
        page.click("main form button[name=add]")
    assert page.locator("fieldset.member").count() == 2
    assert page.input_value("select[name=m-0-labour_capacity]") == LabourCapacity.PARTIAL
    page.fill("input[name=m-1-name]", "李梅")
    page.fill("input[name=m-1-relation]", "配偶")
    page.select_option("select[name=m-1-labour_capacity]", LabourCapacity.NONE)
    # Touch targets of at least 44 px, one column.
    for selector in ("input[name=m-1-name]", "select[name=m-1-labour_capacity]", SAVE_STEP):
        box = page.locator(selector).first.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 300, (selector, box)
    shot(page, output_dir, "08-members-without-javascript")
    save_step(page)
    save_step(page)
    page.check("input[name=risk_types][value=illness]")
    page.fill("textarea[name=findings]", "老伴住院。")
    save_step(page)
    visit = HouseholdVisit.objects.prefetch_related("members").get()
    assert visit.location == ""
    assert sorted(m.name for m in visit.members.all()) == sorted([accepted.name, "李梅"])
    assert "未记录位置" in page.content()
