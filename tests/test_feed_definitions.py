"""Feed kinds as data: a feed defined only in the admin is uploaded, sent by the API,
matched and ruled into a scored warning for the right village; each kind of rule with
its near miss; bad definitions refused at the field in Chinese; outsiders get nothing."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Action, AuditEntry
from apps.households.models import IncomeRecord
from apps.regions.models import Role
from apps.screening.api import department_token_issue
from apps.screening.feeds.definitions import BUILTIN, county_lines_set, definition_save
from apps.screening.models import (
    BatchStatus,
    Department,
    DepartmentMember,
    FeedBatch,
    FeedDefinition,
    FeedRecord,
    Warning,
)

from .conftest import ANDING, DONGGUAN, PROVINCE, TAIPING, TONGWEI, WOGOU, make_staff
from .households_steps import enrol, new_id
from .test_feeds import household, make_staff_user, upload
from .test_warning_pages import admin_user

pytestmark = pytest.mark.django_db

DEFINITION_PERMS = tuple(
    f"{action}_{model}"
    for action in ("view", "add", "change")
    for model in ("feeddefinition", "feedfield", "feedrule")
)


def day(days_ago: int = 10) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


def management(prefix: str, total: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


FIELDS = [
    {"key": "id_number", "label": "身份证号", "aliases": "公民身份号码", "type": "id_number"},
    {"key": "name", "label": "姓名", "type": "name"},
    {"key": "date", "label": "登记日期", "type": "date"},
    {"key": "benefit", "label": "失业保险金", "aliases": "失业金,领取金额", "type": "money"},
]
RULE = {
    "code": "unemployed",
    "kind": "threshold",
    "field": "benefit",
    "default_value": "1000",
    "household": "any",
    "reason": "{date}登记失业，领取失业保险金{benefit:,.0f}元",
    "factor": "失业",
    "weight": "25",
    "basis": "full",
}


def admin_post(fields=FIELDS, rules=(RULE,), **definition) -> dict:
    """The admin's add page of a definition, as the browser posts it."""
    data = {
        "code": "unemployment",
        "name": "失业登记",
        "department_kind": "人社",
        "subject": "person",
        "effect": "warning",
        "active": "on",
        "description": "",
        **definition,
        **management("fields", len(fields)),
        **management("rules", len(rules)),
    }
    for i, f in enumerate(fields):
        row = {"required": "on", "max_length": "0", "order": str(i), **f}
        data.update({f"fields-{i}-{k}": v for k, v in row.items()})
    for i, r in enumerate(rules):
        row = {"order": str(i), "values": "", "shares": "", "factor_reason": "", **r}
        data.update({f"rules-{i}-{k}": v for k, v in row.items()})
    return data


@pytest.fixture
def province_admin(regions):
    return admin_user("prov-admin", regions[PROVINCE], Role.PROVINCE, *DEFINITION_PERMS)


@pytest.fixture
def renshe(regions):
    return Department.objects.create(
        code="anding-renshe", name="安定区人社局", region=regions[ANDING], kinds=["unemployment"]
    )


@pytest.fixture
def renshe_clerk(renshe):
    user = make_staff_user("renshe-clerk")
    DepartmentMember.objects.create(user=user, department=renshe)
    return user


def csv(rows: list[list], header=("公民身份号码", "姓名", "登记日期", "失业金")) -> bytes:
    lines = [",".join(header), *(",".join(str(c) for c in r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_feed_defined_only_in_the_admin_is_uploaded_sent_by_api_and_warns_the_village(
    client, regions, province_admin, renshe, renshe_clerk, grid_wogou,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    client.force_login(province_admin)
    response = client.post(reverse("admin:screening_feeddefinition_add"), admin_post())
    assert response.status_code == 302, response.context["errors"]
    definition = FeedDefinition.objects.get(code="unemployment")
    assert [f.key for f in definition.fields.all()] == ["id_number", "name", "date", "benefit"]
    assert AuditEntry.objects.filter(
        action=Action.ADMIN_CHANGE,
        actor=province_admin,
        target=f"screening.feeddefinition:{definition.pk}",
    ).exists()
    household(regions, "001", (101,))
    household(regions, "002", (102,), village=TAIPING)
    # The clerk uploads the file on the upload page (its header uses the aliases).
    content = csv([[new_id(101), "张101", day(), "1200元"], [new_id(555), "李五", day(), 3000]])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, renshe_clerk, renshe, "unemployment", content)
    assert response.status_code == 302
    batch = FeedBatch.objects.get()
    assert batch.definition == definition and batch.status == BatchStatus.DONE, batch.errors
    assert (batch.total_rows, batch.records_matched, batch.warnings_raised) == (2, 1, 1)
    warning = Warning.objects.get()
    assert (warning.village_id, warning.id_number) == (regions[WOGOU].pk, new_id(101))
    assert warning.sources.get().summary == f"{day()}登记失业，领取失业保险金1,200元"
    factor = warning.score_factors[0]
    assert (factor["factor"], factor["weight"], factor["points"]) == ("失业", 25, 25)
    assert factor["why"] == warning.sources.get().summary
    assert warning.score == 25
    # The village's grid worker sees it on the worklist.
    client.force_login(grid_wogou)
    rows = client.get(reverse("screening:worklist")).context["rows"]
    assert [w.pk for w, _mark in rows] == [warning.pk]
    # The department's system sends a batch by the API, under the definition's code.
    token = department_token_issue(department=renshe)
    records = [
        {"id_number": new_id(102), "name": "张102", "date": day(3), "benefit": "999.99"},
        {"id_number": new_id(102), "name": "张102", "date": day(2), "benefit": 1000},
    ]
    body = {"batch_id": "rs-1", "records": records}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("feeds_api:submit", args=["unemployment"]),
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert response.status_code == 202
    api_batch = FeedBatch.objects.get(batch_id="rs-1")
    assert (api_batch.records_matched, api_batch.warnings_raised) == (2, 1)
    taiping = Warning.objects.get(village=regions[TAIPING])
    assert [s.summary for s in taiping.sources.all()] == [
        f"{day(2)}登记失业，领取失业保险金1,000元"
    ]


# --- the rules, each with its near miss ---------------------------------------------------


def define(rule: dict, fields=None, subject="person", code="testfeed") -> FeedDefinition:
    fields = fields or [
        {"key": "id_number", "label": "身份证号", "type": "id_number"},
        {"key": "date", "label": "日期", "type": "date"},
        {"key": "amount", "label": "金额", "type": "money"},
        {"key": "grade", "label": "等级", "type": "choice", "choices": "1|一级\n2|二级\n3|三级"},
    ]
    rule = {"code": "r", "reason": "{date} {amount} {grade}", "factor": "f", "weight": 10, **rule}
    return definition_save(
        {
            "code": code,
            "name": "测试数据",
            "department_kind": "测试",
            "subject": subject,
            "fields": fields,
            "rules": [rule],
        }
    )


@pytest.fixture
def deliver(regions, django_capture_on_commit_callbacks):
    """Deliver records of the test feed by the API of 安定区's department."""
    department = Department.objects.create(
        code="anding-test", name="安定区测试局", region=regions[ANDING], kinds=["testfeed"]
    )
    token = department_token_issue(department=department)
    sent = []

    def deliver(client, *records) -> FeedBatch:
        sent.append(1)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("feeds_api:submit", args=["testfeed"]),
                {"batch_id": f"b{len(sent)}", "records": list(records)},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
        assert response.status_code == 202, response.content
        batch = FeedBatch.objects.get(batch_id=f"b{len(sent)}")
        assert batch.status == BatchStatus.DONE, batch.errors
        return batch

    return deliver


def row(serial, amount="0", grade="3", date=None) -> dict:
    return {"id_number": new_id(serial), "date": date or day(), "amount": amount, "grade": grade}


def warned() -> set[str]:
    return {w.id_number for w in Warning.objects.all()}


def test_a_threshold_uses_the_county_s_line_for_the_record_s_year_else_the_default(
    client, regions, deliver
):
    define({"kind": "threshold", "field": "amount", "default": "5000"})
    this_year = timezone.localdate().year
    county_lines_set("testfeed", regions[ANDING], this_year, threshold="3000")
    for serial in (101, 102, 103, 104):
        household(regions, str(serial), (serial,))
    last_year = dt.date(this_year - 1, 6, 1).isoformat()
    deliver(
        client,
        row(101, "3000"),  # the county's line this year: at it
        row(102, "2999.99"),  # just under it
        row(103, "4999.99", date=last_year),  # no line for last year: the default
        row(104, "5000", date=last_year),
    )
    assert warned() == {new_id(101), new_id(104)}


def test_an_income_share_compares_with_the_household_s_net_income(
    client, regions, county_anding, deliver
):
    define({"kind": "income_share", "field": "amount", "default": "0.5", "basis": "burden"})
    for serial in (7, 8):
        monitored = enrol(regions, county_anding, serial=serial)
        IncomeRecord.objects.create(
            household=monitored,
            period_start=timezone.localdate() - dt.timedelta(days=365),
            period_end=timezone.localdate(),
            net_income=Decimal("10000"),
            household_size=2,
            per_capita=Decimal("5000"),
            source=IncomeRecord.Source.ENROLMENT,
        )
    household(regions, "009", (9,))  # income unknown: never above a share of it
    deliver(client, row(7, "5000.01"), row(8, "5000"), row(9, "90000"))
    assert warned() == {new_id(7)}
    factor = Warning.objects.get().score_factors[0]
    assert (factor["factor"], factor["weight"], factor["points"]) == ("f", 10, 5)  # 50%


def test_a_category_rule_fires_for_the_listed_choices_only(client, regions, deliver):
    define({"kind": "category", "field": "grade", "values": "1,2"})
    for serial in (101, 102, 103):
        household(regions, str(serial), (serial,))
    deliver(client, row(101, grade="一级"), row(102, grade="2"), row(103, grade="三级"))
    assert warned() == {new_id(101), new_id(102)}
    assert FeedRecord.objects.get(id_hash__isnull=False, data__grade=3)  # kept, not raised
    summaries = set(Warning.objects.values_list("sources__summary", flat=True))
    assert summaries == {f"{day()} 0.00 一级", f"{day()} 0.00 二级"}


def test_new_since_the_last_delivery_fires_once_per_person(client, regions, deliver):
    define({"kind": "new", "field": "grade", "values": "1,2"})
    for serial in (101, 102, 103):
        household(regions, str(serial), (serial,))
    deliver(client, row(101, grade="3"), row(102, grade="1"))
    assert warned() == {new_id(102)}
    Warning.objects.all().delete()
    # Later: 101 now grade 2 (new as such), 102 again (not new), 103 for the first time.
    deliver(client, row(101, grade="2", date=day(1)), row(102, grade="2", date=day(1)))
    deliver(client, row(103, grade="1", date=day(1)))
    assert warned() == {new_id(101), new_id(103)}


def test_new_since_the_last_delivery_for_a_region_feed(client, regions, deliver):
    define(
        {"kind": "new", "reason": "{event}", "basis": "full"},
        fields=[
            {"key": "region_code", "label": "区划代码", "type": "region"},
            {"key": "event", "label": "事件", "type": "text", "max_length": 20},
        ],
        subject="region",
    )
    deliver(client, {"region_code": WOGOU, "event": "山体滑坡"})
    assert list(Warning.objects.values_list("village__code", "sources__summary")) == [
        (WOGOU, "山体滑坡")
    ]
    # The township next: every village under it, but 窝沟村 had one already.
    deliver(client, {"region_code": "621102100000", "event": "暴雨"})
    villages = set(
        Warning.objects.filter(sources__summary="暴雨").values_list("region_code", flat=True)
    )
    assert TAIPING in villages and WOGOU not in villages


def test_a_household_condition_limits_a_rule_to_monitored_or_formerly_poor(
    client, regions, deliver
):
    define({"kind": "category", "field": "grade", "values": "1", "household": "monitored_or_poor"})
    household(regions, "101", (101,), poor=True)
    household(regions, "102", (102,))
    deliver(client, row(101, grade="1"), row(102, grade="1"))
    assert warned() == {new_id(101)}


def test_the_five_original_feeds_are_definitions(regions):
    codes = set(FeedDefinition.objects.values_list("code", flat=True))
    assert {"medical", "disability", "college", "disaster", "assistance"} <= codes
    assert FeedDefinition.objects.get(code="assistance").effect == "assistance_roll"
    assert BUILTIN.exists()


def test_a_definition_loads_from_json_and_a_life_event_feed_keeps_records_only(
    client, regions, deliver, tmp_path
):
    path = tmp_path / "deaths.json"
    path.write_text(
        json.dumps(
            {
                "code": "testfeed",
                "name": "死亡登记",
                "department_kind": "公安",
                "effect": "life_event",
                "fields": [
                    {"key": "id_number", "label": "身份证号", "type": "id_number"},
                    {"key": "date", "label": "死亡日期", "type": "date"},
                ],
                "rules": [],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    call_command("load_feed_definitions", str(path), stdout=io.StringIO())
    definition = FeedDefinition.objects.get(code="testfeed")
    assert (definition.effect, definition.fields.count()) == ("life_event", 2)
    household(regions, "101", (101,))
    batch = deliver(
        client, {"id_number": new_id(101), "date": day()}, {"id_number": new_id(555), "date": day()}
    )
    assert (batch.records_matched, batch.records_new, batch.warnings_raised) == (1, 1, 0)
    assert FeedRecord.objects.get(definition=definition).region_code == WOGOU
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(path.read_text()), "fields": []}), encoding="utf-8")
    with pytest.raises(CommandError, match="按人的数据须有必填的身份证号字段"):
        call_command("load_feed_definitions", str(bad))


# --- bad definitions ------------------------------------------------------------------------


def test_bad_definitions_are_refused_at_the_field_in_chinese(client, regions, province_admin):
    client.force_login(province_admin)
    add = reverse("admin:screening_feeddefinition_add")
    no_id = admin_post(fields=FIELDS[1:], rules=())
    page = client.post(add, no_id).content.decode()
    assert "按人的数据须有必填的身份证号字段" in page
    unknown = admin_post(rules=({**RULE, "field": "salary"},))
    page = client.post(add, unknown).content.decode()
    assert "没有字段“salary”" in page
    category_on_money = admin_post(rules=({**RULE, "kind": "category", "values": "1"},))
    page = client.post(add, category_on_money).content.decode()
    assert "值的列表须对应选项字段" in page
    bad_template = admin_post(rules=({**RULE, "reason": "{benefit.__class__}"},))
    page = client.post(add, bad_template).content.decode()
    assert "用花括号写字段键" in page
    no_choices = admin_post(fields=[*FIELDS, {"key": "grade", "label": "等级", "type": "choice"}])
    page = client.post(add, no_choices).content.decode()
    assert "选项字段须逐行列出选项" in page
    assert not FeedDefinition.objects.filter(code="unemployment").exists()
    with pytest.raises(ValidationError, match="按区域的数据须有必填的区划代码字段"):
        definition_save({"code": "x", "name": "x", "department_kind": "x", "subject": "region", "fields": FIELDS, "rules": []})  # fmt: skip


def test_only_the_province_defines_feeds(client, regions):
    county = admin_user("county-admin", regions[ANDING], Role.COUNTY, *DEFINITION_PERMS)
    client.force_login(county)
    add = reverse("admin:screening_feeddefinition_add")
    assert client.get(add).status_code == 403
    assert client.post(add, admin_post()).status_code == 403
    assert not FeedDefinition.objects.filter(code="unemployment").exists()


# --- outsiders ------------------------------------------------------------------------------


def test_an_outsider_department_gets_nothing(
    client, regions, province_admin, renshe, renshe_clerk, django_capture_on_commit_callbacks
):
    client.force_login(province_admin)
    client.post(reverse("admin:screening_feeddefinition_add"), admin_post())
    household(regions, "001", (101,))
    with django_capture_on_commit_callbacks(execute=True):
        upload(
            client, renshe_clerk, renshe, "unemployment", csv([[new_id(101), "张", day(), 2000]])
        )
    assert Warning.objects.count() == 1
    # 通渭县's department: the same feed, another region.
    theirs = Department.objects.create(
        code="tongwei-renshe", name="通渭县人社局", region=regions[TONGWEI], kinds=["unemployment"]
    )
    outsider = make_staff_user("tongwei-clerk")
    DepartmentMember.objects.create(user=outsider, department=theirs)
    client.force_login(outsider)
    assert list(client.get(reverse("feeds:list")).context["page"]) == []
    batch = FeedBatch.objects.get()
    assert client.get(reverse("feeds:detail", args=[batch.pk])).status_code == 404
    # It cannot deliver for the other department, and its own upload reaches nobody
    # outside its region.
    response = upload(client, outsider, Department.objects.get(code="anding-renshe"), "unemployment", csv([[new_id(101), "张", day(1), 2000]]))  # fmt: skip
    assert response.status_code == 400 and FeedBatch.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, outsider, theirs, "unemployment", csv([[new_id(101), "张", day(2), 5000]]))
    mine = FeedBatch.objects.get(department=theirs)
    assert (mine.records_matched, mine.warnings_raised) == (0, 0)
    # A department not delivering the feed is refused by the API.
    other = Department.objects.create(
        code="tongwei-yibao", name="通渭县医保局", region=regions[TONGWEI], kinds=["medical"]
    )
    token = department_token_issue(department=other)
    response = client.post(
        reverse("feeds_api:submit", args=["unemployment"]),
        {"batch_id": "x", "records": [{"id_number": new_id(101)}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403
    # Another region's village staff see none of it.
    dongguan = make_staff("grid-dongguan", regions[DONGGUAN], Role.GRID)
    client.force_login(dongguan)
    assert client.get(reverse("screening:worklist")).context["rows"] == []


def test_an_inactive_definition_takes_no_delivery_and_a_used_code_is_fixed(
    client, regions, province_admin, deliver
):
    definition = define({"kind": "category", "field": "grade", "values": "1"})
    household(regions, "101", (101,))
    deliver(client, row(101, grade="1"))
    client.force_login(province_admin)
    change = reverse("admin:screening_feeddefinition_change", args=[definition.pk])
    page = client.get(change)
    assert "code" not in page.context["adminform"].form.fields  # batches refer to it
    definition.active = False
    definition.save()
    token = department_token_issue(department=Department.objects.get(code="anding-test"))
    response = client.post(
        reverse("feeds_api:submit", args=["testfeed"]),
        {"batch_id": "late", "records": [row(101, grade="2")]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 404 and not FeedBatch.objects.filter(batch_id="late").exists()
