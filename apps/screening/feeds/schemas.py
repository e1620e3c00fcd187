"""The feeds' definitions: the columns of each feed's file (the keys are the API's
JSON keys) and the words its cells may use."""

from apps.core import tabular
from apps.core.tabular import Column

from ..models import AssistanceKind, FeedKind

ID = Column("id_number", "身份证号", ("身份证号码", "证件号码", "公民身份号码", "身份证"), True)
NAME = Column("name", "姓名", ("患者姓名", "参保人姓名", "学生姓名", "救助对象姓名"), True, 30)

# The file format of each feed: the header row names the columns (any order, other
# columns ignored). The keys are the API's JSON keys.
SCHEMAS: dict[str, tuple[Column, ...]] = {
    FeedKind.MEDICAL: (
        ID,
        NAME,
        Column("date", "就诊日期", ("结算日期", "出院日期", "费用发生日期", "就医日期"), True),
        Column("total_cost", "医疗总费用", ("总费用", "医疗费用总额", "医疗费总额"), True),
        Column(
            "out_of_pocket",
            "个人自付",
            ("个人自付费用", "个人负担", "个人负担费用", "自付金额", "个人自付金额"),
            True,
        ),
    ),
    FeedKind.DISABILITY: (
        ID,
        NAME,
        Column("grade", "残疾等级", ("等级", "残疾级别"), True),
        Column("date", "认定日期", ("发证日期", "评定日期", "办证日期"), True),
    ),
    FeedKind.COLLEGE: (
        ID,
        NAME,
        Column("school", "录取院校", ("录取学校", "院校名称", "录取高校"), True, 100),
        Column("tuition", "学费", ("学费标准", "年学费", "学费（元）"), True),
    ),
    FeedKind.DISASTER: (
        Column("region_code", "行政区划代码", ("区划代码", "受灾地区代码", "村代码"), True),
        Column("event", "灾害事件", ("灾害名称", "灾种", "灾害类型"), True, 60),
        Column("date", "发生日期", ("受灾日期", "灾害发生日期"), True),
        Column("severity", "灾情等级", ("响应等级", "灾害等级"), True),
    ),
    FeedKind.ASSISTANCE: (
        ID,
        NAME,
        Column("assistance_kind", "救助类别", ("救助类型", "保障类别", "救助项目"), True),
        Column("since", "开始日期", ("享受日期", "起始日期", "纳入日期"), False),
    ),
}

ASSISTANCE_WORDS = {
    AssistanceKind.DIBAO: ("低保", "农村低保", "最低生活保障", "农村最低生活保障"),
    AssistanceKind.TEKUN: ("特困", "特困供养", "特困人员", "特困人员供养", "五保"),
    AssistanceKind.TEMPORARY: ("临时救助",),
    AssistanceKind.CHILDREN: ("孤儿", "事实无人抚养儿童"),
    AssistanceKind.DISABILITY: (
        "残疾人两项补贴",
        "两项补贴",
        "困难残疾人生活补贴",
        "重度残疾人护理补贴",
    ),
}
ASSISTANCE = {w: kind for kind, words in ASSISTANCE_WORDS.items() for w in words}
GRADES = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
SEVERITIES = {"Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "I": 1, "II": 2, "III": 3, "IV": 4}
SEVERITIES.update({"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4})


def feed_upload_inspect(upload, kind: str) -> tabular.InspectedUpload:
    from .batches import FeedImporter

    return tabular.upload_inspect(upload, columns=SCHEMAS[kind], max_bytes=FeedImporter.max_bytes())
