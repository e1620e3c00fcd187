"""The Simplified Chinese catalog: complete, placeholder-safe, and actually used.

The interface is written as English msgids; locale/zh_Hans/LC_MESSAGES/django.po turns
it into Chinese. These tests fail when a new string is left untranslated (run
`make messages` and translate it), when a translation drops or mangles a placeholder,
or when the pages stop coming out in Chinese.
"""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from apps.notifications.templates_registry import TEMPLATES

from .conftest import ID_A, WOGOU, form_data

PO_PATH = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

# %(name)s / %(line)d, {name}, and HTML tags must survive translation unchanged.
PLACEHOLDER_RE = re.compile(r"%\(\w+\)[sd]|\{\w*\}|</?[a-zA-Z][^>]*>")

# Exact policy wording for the difficulty kinds (see docs/glossary.md).
DIFFICULTY_KINDS = {
    "illness": "因病",
    "disability": "因残",
    "schooling costs": "因学",
    "natural disaster": "因灾",
    "accident": "因意外事故",
    "unstable work or employment": "因务工就业不稳",
    "failed farming or business": "因产业经营失败",
    "sudden loss of income or rise in spending": "收入骤减或支出骤增",
    "other": "其他",
}

SMS_MAX_CHARS = 70


def _entries() -> list[polib.POEntry]:
    return [e for e in polib.pofile(str(PO_PATH)) if not e.obsolete]


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER_RE.findall(text))


@pytest.fixture
def chinese_catalog(settings):
    """Build the .mo (gitignored; `make test` builds it too) and reload the catalogs.

    Reassigning LOCALE_PATHS sends setting_changed, which makes Django drop the
    translations it cached, in case they were loaded before the .mo existed.
    """
    call_command("compiletranslations", verbosity=0)
    settings.LOCALE_PATHS = list(settings.LOCALE_PATHS)


def test_catalog_header():
    po = polib.pofile(str(PO_PATH))
    assert po.metadata["Language"] == "zh_Hans"
    assert po.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in po.metadata["Content-Type"]
    assert not po.metadata_is_fuzzy


def test_catalog_complete_and_not_fuzzy():
    entries = _entries()
    assert entries, "the catalog is empty"
    untranslated = [e.msgid for e in entries if not e.translated() and "fuzzy" not in e.flags]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == [], f"untranslated: {untranslated}"
    assert fuzzy == [], f"fuzzy: {fuzzy}"


def test_placeholders_kept():
    wrong = []
    for e in _entries():
        translations = [e.msgstr] if not e.msgid_plural else list(e.msgstr_plural.values())
        for msgstr in translations:
            if _placeholders(e.msgid) != _placeholders(msgstr):
                wrong.append((e.msgid, msgstr))
    assert wrong == []


def test_difficulty_kinds_use_policy_wording():
    catalog = {e.msgid: e.msgstr for e in _entries()}
    assert {k: catalog.get(k) for k in DIFFICULTY_KINDS} == DIFFICULTY_KINDS


def test_sms_templates_in_chinese_and_short(chinese_catalog):
    # Parameters as declarations.services fills them (masked name, MONTH_DAY_FORMAT
    # date, spaced tracking number), a little longer than usual; the provider adds its
    # 【签名】 on top.
    values = {
        "village": "鲁家沟村",
        "name": "魏*常",
        "kinds": "因病、因意外事故",
        "due": "12月31日",
        "tracking": "5015 3312 3961",
    }
    for template in TEMPLATES.values():
        text = template.render(values)
        assert re.search(r"[\u4e00-\u9fff]", text), text
        assert not re.search(r"[A-Za-z]{3,}", text), text
        assert len(text) < SMS_MAX_CHARS, (len(text), text)


@pytest.mark.django_db
def test_village_form_renders_in_chinese(client, regions, chinese_catalog):
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for chinese in ("申报家庭困难", "姓名", "手机号码", "身份证号", "组（社）", "因病", "提交"):
        assert chinese in html, chinese
    for english in ("Kind of difficulty", "ID number", "Declare a difficulty", "Submit"):
        assert english not in html, english


@pytest.mark.django_db
def test_validation_error_in_chinese(client, regions, chinese_catalog):
    wrong_check_digit = ID_A[:17] + ("1" if ID_A[17] != "1" else "2")
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    response = client.post(url, form_data(id_number=wrong_check_digit))
    assert response.status_code == 400
    html = response.content.decode()
    assert "请修改下面标红的内容。" in html
    error = re.search(r'<p class="error" id="id_number-error">([^<]*)</p>', html)
    assert error, "no error shown at the ID number field"
    assert error.group(1) == "身份证号不对，请一位一位地核对。"
    assert "check digit" not in html
