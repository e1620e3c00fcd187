"""Shared fixtures: the demo region tree and a persona for each role.

With REQUIRE_SERVICES set (CI), the suite refuses to run anywhere but on PostgreSQL
and Redis, and a test needing Redis fails rather than skips when it is missing.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from apps.accounts.models import User
from apps.declarations.services import DeclarationInput
from apps.notifications import backends
from apps.regions.models import Region, Role, StaffMembership
from apps.regions.services import regions_import_csv

from .rates_world import world  # noqa: F401 — a shared fixture

DEMO_CSV = Path(settings.BASE_DIR) / "apps" / "regions" / "data" / "demo_regions.csv"

# Villages and areas of the demo tree used by the tests.
WOGOU = "621102100201"  # 窝沟村, 鲁家沟镇, 安定区
TAIPING = "621102100202"  # 太平村, same township
XIANGQUAN_VILLAGE = "621102101201"  # 香泉村, 香泉镇 (other township, same county)
DONGGUAN = "621121100201"  # 东关村, 通渭县 (other county)
LUJIAGOU = "621102100000"
ANDING = "621102000000"
TONGWEI = "621121000000"
PROVINCE = "620000000000"

# Screenshots and downloads of the browser tests; CI (.ci/run) may put them elsewhere.
OUTPUT_DIR = Path(os.environ.get("TEST_OUTPUT_DIR") or Path(settings.BASE_DIR) / "test-output")


def pytest_configure(config):
    if (
        settings.REQUIRE_SERVICES
        and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
    ):
        raise pytest.UsageError("REQUIRE_SERVICES is set but DATABASE_URL is not PostgreSQL")
    if settings.REQUIRE_SERVICES and not settings.REDIS_URL:
        raise pytest.UsageError("REQUIRE_SERVICES is set but REDIS_URL is empty")


def require_redis():
    """Skip without Redis on a developer's machine; fail in CI."""
    if not settings.REDIS_URL:
        if settings.REQUIRE_SERVICES:
            pytest.fail("Redis is required (REQUIRE_SERVICES) but REDIS_URL is not set")
        pytest.skip("needs Redis: set REDIS_URL")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")


def require_postgres():
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        if settings.REQUIRE_SERVICES:
            pytest.fail("PostgreSQL is required (REQUIRE_SERVICES)")
        pytest.skip("needs PostgreSQL: set DATABASE_URL")


@pytest.fixture(scope="session", autouse=True)
def _chinese_catalog():
    """Build the .mo files (gitignored) so a bare `pytest` on a fresh clone works."""
    from asgiref.local import Local
    from django.core.management import call_command
    from django.utils.translation import trans_real

    call_command("compiletranslations", verbosity=0)
    trans_real._translations = {}
    trans_real._default = None
    trans_real._active = Local()


@pytest.fixture(autouse=True)
def _clean_outside_state():
    backends.outbox.clear()
    cache.clear()
    yield
    backends.outbox.clear()


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """Uploads of each test go to a directory of its own (the procedure needs documents
    on file, so most cases carry some)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture
def regions(db) -> dict[str, Region]:
    from apps.screening.feeds.definitions import builtin_ensure

    builtin_ensure()  # the migration's feed definitions, gone after a transactional test
    regions_import_csv(text=DEMO_CSV.read_text(encoding="utf-8"))
    return {r.code: r for r in Region.objects.all()}


def make_staff(
    username: str, region: Region, role: str, *, mobile: str = "", reveal: bool = False
) -> User:
    user = User.objects.create_user(
        username=username, password="pw-for-tests-only", full_name=username
    )
    if mobile:
        user.set_mobile(mobile)
        user.save()
    StaffMembership.objects.create(user=user, region=region, role=role)
    if reveal:
        from django.contrib.auth.models import Permission

        user.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    return user


@pytest.fixture
def grid_wogou(regions) -> User:
    return make_staff("grid-wogou", regions[WOGOU], Role.GRID, mobile="13800138000", reveal=True)


@pytest.fixture
def grid_taiping(regions) -> User:
    return make_staff("grid-taiping", regions[TAIPING], Role.GRID, mobile="13900139000")


@pytest.fixture
def township_lujiagou(regions) -> User:
    return make_staff("township-lujiagou", regions[LUJIAGOU], Role.TOWNSHIP, mobile="13700137000")


@pytest.fixture
def county_tongwei(regions) -> User:
    return make_staff("county-tongwei", regions[TONGWEI], Role.COUNTY)


@pytest.fixture
def province_user(regions) -> User:
    return make_staff("province", regions[PROVINCE], Role.PROVINCE)


@pytest.fixture
def outsider(db) -> User:
    """A logged-in user with no region at all."""
    return User.objects.create_user(username="outsider", password="pw-for-tests-only")


# Valid ID numbers (GB 11643 check digits) for the tests.
ID_A = "62110219800101107X"
ID_B = "621102199005050038"


def declaration_input(**overrides) -> DeclarationInput:
    values = dict(
        name="魏家常",
        phone="13912345678",
        id_number=ID_A,
        address_group="3组",
        address_house="12号",
        difficulties=["illness"],
        description="老伴住院。",
    )
    values.update(overrides)
    return DeclarationInput(**values)


def form_data(**overrides) -> dict:
    data = {
        "name": "魏家常",
        "phone": "139 1234 5678",
        "id_number": ID_A,
        "address_group": "3组",
        "address_house": "12号",
        "difficulties": ["illness"],
        "description": "老伴住院，花费很大。",
        "consent": "on",
        "token": "0123456789abcdef0123456789abcdef",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


if os.environ.get("PYTEST_XDIST_WORKER"):
    raise RuntimeError("the suite shares Redis state between tests; run it without xdist")


# --- the review workflow ------------------------------------------------------------------


@pytest.fixture
def line(regions):
    """安定区's monitoring line for this year."""
    from decimal import Decimal

    from django.utils import timezone

    from apps.households.models import MonitoringThreshold

    return MonitoringThreshold.objects.create(
        county=regions[ANDING], year=timezone.localdate().year, amount=Decimal("7000")
    )


@pytest.fixture
def case(regions, grid_wogou):
    """A declaration in 窝沟村, submitted three weeks ago (so visits and notices can lie
    in the past, and its clocks are overdue)."""
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from apps.declarations.services import declaration_submit

    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        return declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration


# --- monitored households -----------------------------------------------------------------

from .households_steps import county_anding, household, policies, township  # noqa: E402, F401 — fixtures
from .screening_steps import batch, medical_dept  # noqa: E402, F401 — fixtures
