"""The region tree: CSV import, codes and prefixes, stable QR URLs and posters."""

import pytest
from django.core.management import call_command
from django.db.models import ProtectedError
from django.urls import reverse

from apps.declarations.services import declaration_submit
from apps.regions.models import Level, Region, level_of_code, parent_code_of
from apps.regions.qr import village_public_url, village_qr_svg
from apps.regions.services import RegionImportError, regions_import_csv

from .conftest import DEMO_CSV, ID_A, LUJIAGOU, WOGOU, declaration_input

pytestmark = pytest.mark.django_db


def test_levels_and_parents_are_read_from_the_code():
    assert level_of_code("620000000000") == Level.PROVINCE
    assert level_of_code("621100000000") == Level.CITY
    assert level_of_code("621102000000") == Level.COUNTY
    assert level_of_code("621102100000") == Level.TOWNSHIP
    assert level_of_code("621102100201") == Level.VILLAGE
    assert parent_code_of("621102100201") == "621102100000"
    assert parent_code_of("621102100000") == "621102000000"
    assert parent_code_of("620000000000") is None


def test_the_demo_province_has_the_promised_size(regions):
    counts = {level: Region.objects.filter(level=level).count() for level in Level}
    assert counts[Level.PROVINCE] == 1
    assert counts[Level.CITY] >= 2 and counts[Level.COUNTY] >= 3
    assert counts[Level.TOWNSHIP] >= 6 and counts[Level.VILLAGE] >= 30
    wogou = regions[WOGOU]
    assert wogou.parent.code == LUJIAGOU and wogou.prefix == WOGOU
    assert [r.name for r in wogou.ancestors()] == ["甘肃省", "定西市", "安定区", "鲁家沟镇"]


def test_reimporting_changes_nothing_and_keeps_qr_slugs(regions):
    slugs = dict(Region.objects.villages().values_list("code", "public_slug"))
    result = regions_import_csv(text=DEMO_CSV.read_text(encoding="utf-8"))
    assert (result.created, result.updated) == (0, 0)
    assert dict(Region.objects.villages().values_list("code", "public_slug")) == slugs


def test_a_village_with_declarations_cannot_be_deleted(regions):
    # Declarations refer to their village without a constraint in the database (it
    # would lock the village's row on every submission): Django's PROTECT keeps it.
    village = regions[WOGOU]
    case = declaration_submit(village=village, data=declaration_input(id_number=ID_A))
    with pytest.raises(ProtectedError) as refused:
        village.delete()
    assert case.declaration in refused.value.protected_objects
    assert Region.objects.filter(pk=village.pk).exists()


def test_a_rename_keeps_the_printed_qr_url(regions):
    url = village_public_url(regions[WOGOU])
    regions_import_csv(text="code,name\n621102100201,新窝沟村\n")
    village = Region.objects.get(code=WOGOU)
    assert village.name == "新窝沟村" and village_public_url(village) == url


def test_the_national_list_s_chinese_headers_and_parent_column_are_accepted(db):
    text = (
        "\ufeff统计用区划代码,名称,上级代码\n"
        "620000000000,甘肃省,\n"
        "620100000000,兰州市,620000000000\n"
        "620102000000,城关区,620100000000\n"
        "620102001000,临夏路街道,620102000000\n"
        "620102001001,西关社区,620102001000\n"
    )
    result = regions_import_csv(text=text)
    assert result.created == 5
    assert Region.objects.get(code="620102001001").level == Level.VILLAGE


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("code,name\n62000000000,甘肃省\n", "12"),
        ("code,name,level\n620000000000,甘肃省,2\n", "层级"),
        ("code,name\n620100000000,兰州市\n", "620000000000"),
        ("code,name\n620000000000,\n", "名称"),
        ("code,name\n620000000000,甘肃省\n620000000000,甘肃\n", "重复"),
        ("foo,bar\n1,2\n", "表头"),
        ("", "空"),
        ("code,name,parent\n620000000000,甘肃省,\n620100000000,兰州市,629900000000\n", "上级"),
    ],
)
def test_bad_rows_are_reported_and_nothing_is_imported(db, text, fragment):
    with pytest.raises(RegionImportError) as info:
        regions_import_csv(text=text)
    assert fragment in " ".join(info.value.errors)
    assert not Region.objects.exists()


def test_the_management_command_imports_a_file(db, tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text("code,name\n620000000000,甘肃省\n620100000000,兰州市\n", encoding="utf-8")
    call_command("import_regions", str(path))
    assert Region.objects.count() == 2


def test_the_qr_code_is_an_svg_of_the_village_s_permanent_url(regions, settings):
    settings.PUBLIC_BASE_URL = "https://yjsb.example.gov.cn"
    village = regions[WOGOU]
    url = village_public_url(village)
    assert url == f"https://yjsb.example.gov.cn/v/{village.public_slug}/"
    assert len(url) < 60  # short: a small, robust QR code
    svg = village_qr_svg(village)
    assert svg.lstrip().startswith("<") and "<svg" in svg and "<path" in svg


def test_staff_download_the_svg_and_print_a_poster_page_per_village(
    client, township_lujiagou, regions, settings
):
    client.force_login(township_lujiagou)
    download = client.get(reverse("regions:qr_svg", args=[WOGOU]))
    assert download["Content-Type"].startswith("image/svg+xml")
    assert f"qr-{WOGOU}.svg" in download["Content-Disposition"]
    posters = client.get(reverse("regions:posters", args=[LUJIAGOU]))
    page = posters.content.decode()
    assert page.count('class="poster"') == 5
    assert page.count("<svg") == 5
    assert "扫一扫" in page and "窝沟村" in page
    assert "css/poster.css" in page
    css = (settings.BASE_DIR / "static" / "css" / "poster.css").read_text(encoding="utf-8")
    assert "size: A4" in css and "break-after: page" in css


def test_a_village_worker_may_print_their_own_poster(client, grid_wogou):
    client.force_login(grid_wogou)
    response = client.get(reverse("regions:posters", args=[WOGOU]))
    assert response.status_code == 200 and len(response.context["pages"]) == 1
