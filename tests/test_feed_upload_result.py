"""What a department clerk reads after an upload: each count of the batch (new,
matched, warnings, unmatched, errors) in words, success styled as success, and "already
received" only for records that were."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from apps.screening.models import BatchStatus, FeedBatch

from . import test_feeds as feeds
from .conftest import WOGOU
from .households_steps import new_id
from .test_feeds import csv_bytes, household, medical, upload

# The department and its clerk of the feed tests, as fixtures here.
department = feeds.department
clerk = feeds.clerk

pytestmark = pytest.mark.django_db


def uploaded(client, clerk, department, content, capture, name="feed.csv") -> str:
    """Upload a medical file and return the page the clerk lands on."""
    with capture(execute=True):
        response = upload(client, clerk, department, "medical", content, name=name)
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


def summary(page: str) -> str:
    return re.search(r'<p class="result-summary" id="feed-summary">(.*?)</p>', page).group(1)


def cell(page: str, name: str) -> str:
    return re.search(rf'id="feed-{name}">(\d+)<', page).group(1)


def strangers(n: int) -> list[list]:
    """n people of the county's ID range that nobody in the roster has."""
    return [
        [new_id(500 + i % 500, born=f"19{70 + i // 500}0101"), f"王{i}", "2026-11-01", 900, 100]
        for i in range(n)
    ]


def test_three_hundred_new_people_matching_nobody_are_new_not_already_received(
    client, clerk, department, django_capture_on_commit_callbacks
):
    page = uploaded(
        client,
        clerk,
        department,
        csv_bytes("medical", strangers(300)),
        django_capture_on_commit_callbacks,
    )
    batch = FeedBatch.objects.get()
    assert batch.status == BatchStatus.DONE, batch.errors
    assert summary(page) == (
        "共 300 条：新记录 300 条，匹配 0 条，新发预警 0 条，未匹配 300 条，有误 0 条。"
    )
    assert (cell(page, "new"), cell(page, "matched"), cell(page, "unmatched")) == (
        "300",
        "0",
        "300",
    )
    assert "均已收到过" not in page


def test_a_mixed_file_reports_each_count(
    client, clerk, department, regions, django_capture_on_commit_callbacks
):
    household(regions, "001", (101, 102), village=WOGOU)
    rows = [medical(101, 20000), medical(102, 100), *strangers(2)]
    page = uploaded(
        client,
        clerk,
        department,
        csv_bytes("medical", rows),
        django_capture_on_commit_callbacks,
    )
    assert summary(page) == (
        "共 4 条：新记录 4 条，匹配 2 条，新发预警 1 条，未匹配 2 条，有误 0 条。"
    )
    assert (cell(page, "warnings"), cell(page, "known"), cell(page, "errors")) == ("1", "0", "0")

    # Another file with the two matched records again and one stranger more: the two are
    # received before, the stranger new.
    again = [medical(101, 20000), medical(102, 100), *strangers(3)[2:]]
    page = uploaded(
        client,
        clerk,
        department,
        csv_bytes("medical", again),
        django_capture_on_commit_callbacks,
        name="again.csv",
    )
    assert summary(page) == (
        "共 3 条：新记录 1 条，匹配 2 条，新发预警 0 条，未匹配 1 条，有误 0 条。"
    )
    assert cell(page, "known") == "2" and "均已收到过" not in page

    # Only the matched records, once more: every one was received before.
    page = uploaded(
        client,
        clerk,
        department,
        csv_bytes("medical", rows[:2]),
        django_capture_on_commit_callbacks,
        name="third.csv",
    )
    assert summary(page).startswith("共 2 条：新记录 0 条，匹配 2 条")
    assert "这些记录均已收到过，没有任何改动。" in page


def test_success_is_styled_as_success(
    client, clerk, department, django_capture_on_commit_callbacks
):
    page = uploaded(
        client,
        clerk,
        department,
        csv_bytes("medical", strangers(3)),
        django_capture_on_commit_callbacks,
    )
    assert '<dd class="stage status-done" id="roster-status">已导入</dd>' in page
    assert '<section class="card result-ok" id="feed-result">' in page
    assert 'role="alert"' not in page and "error-summary" not in page
    css = (Path(settings.BASE_DIR) / "static/css/app.css").read_text()
    done = re.search(r"\.stage\.status-done \{ color: (#[0-9a-f]{6}); \}", css).group(1)
    assert done == "#1e5e22"  # the green of "on time", not the bar's alarm red
    assert ".card.result-ok { border-left: 4px solid #2e7d32; }" in css


def test_a_refused_file_is_styled_as_an_alarm(
    client, clerk, department, django_capture_on_commit_callbacks
):
    bad = [[new_id(101), "张", "not a date", 100, 50]]
    page = uploaded(
        client,
        clerk,
        department,
        csv_bytes("medical", bad),
        django_capture_on_commit_callbacks,
    )
    assert 'class="stage status-failed"' in page and 'role="alert"' in page
    assert "result-ok" not in page


def test_the_same_file_again_says_it_was_already_received(
    client, clerk, department, django_capture_on_commit_callbacks
):
    content = csv_bytes("medical", strangers(5))
    uploaded(client, clerk, department, content, django_capture_on_commit_callbacks)
    page = uploaded(client, clerk, department, content, django_capture_on_commit_callbacks)
    assert "此文件已经收到过，未重复导入。" in page
    assert FeedBatch.objects.count() == 1
    # The page is the first batch's result, its counts unchanged.
    assert summary(page).startswith("共 5 条：新记录 5 条")
