"""Rate limits on the public pages (counted in the shared cache: Redis in CI)."""

import pytest
from django.test import override_settings
from django.urls import reverse

from apps.core.identity import id_check_digit
from apps.core.ratelimit import Limit, exceeded
from apps.declarations.models import Declaration

from .conftest import WOGOU, form_data

pytestmark = pytest.mark.django_db


def person(i: int) -> dict:
    body = f"62110219800101{i:03d}"
    return {
        "id_number": body + id_check_digit(body),
        "phone": f"1380000{i:04d}",
        "token": f"{i:032x}",
    }


@pytest.fixture
def form_url(regions):
    return reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})


def test_one_phone_number_cannot_flood_the_form(client, form_url):
    statuses = []
    for i in range(6):
        data = form_data(**person(i))
        data["phone"] = "13912345678"
        statuses.append(client.post(form_url, data).status_code)
    assert statuses == [302] * 5 + [429]
    assert Declaration.objects.count() == 5


@override_settings(RATELIMIT_SUBMIT_PER_IP="3/h")
def test_one_address_is_limited_and_the_refusal_saves_nothing(client, form_url):
    statuses = [client.post(form_url, form_data(**person(i))).status_code for i in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert Declaration.objects.count() == 3


@override_settings(RATELIMIT_SUBMIT_PER_IP="3/h")
def test_the_limit_is_per_address(client, form_url):
    for i in range(3):
        client.post(form_url, form_data(**person(i)), REMOTE_ADDR="10.0.0.1")
    assert client.post(form_url, form_data(**person(9)), REMOTE_ADDR="10.0.0.2").status_code == 302


def test_a_whole_village_behind_one_mobile_network_address_can_declare(client, form_url):
    # Carrier-grade NAT: a village's phones share one public address.
    for i in range(60):
        assert (
            client.post(form_url, form_data(**person(i)), REMOTE_ADDR="100.64.0.1").status_code
            == 302
        )
    assert Declaration.objects.count() == 60


def test_guessing_phones_for_one_tracking_number_is_stopped(client):
    url = reverse("public:status")
    statuses = [
        client.post(
            url, {"tracking_number": "123456789012", "phone": f"1390000{i:04d}"}
        ).status_code
        for i in range(11)
    ]
    assert statuses == [200] * 10 + [429]


@override_settings(RATELIMIT_STATUS_PER_IP="5/h")
def test_status_look_ups_are_limited_per_address(client):
    url = reverse("public:status")
    statuses = [
        client.post(
            url, {"tracking_number": f"1234567890{i:02d}", "phone": "13900000000"}
        ).status_code
        for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_reading_the_form_is_not_limited(client, form_url):
    assert all(client.get(form_url).status_code == 200 for _ in range(30))


def test_the_limiter_fails_open_when_redis_is_unreachable(settings):
    # A farmer must still be able to declare when the counter cannot count.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    assert not exceeded([Limit("submit-ip", "10.0.0.1", "0/h")])


def test_the_limiter_counts_in_the_embedded_default_without_redis(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    limits = [Limit("submit-ip", "10.0.0.9", "2/h")]
    assert [exceeded(limits) for _ in range(3)] == [False, False, True]


def test_each_window_expires_on_its_own(settings):
    from .conftest import require_redis

    require_redis()
    import redis

    limits = [Limit("submit-ip", "10.0.0.7", "5/h"), Limit("submit-phone", "p7", "5/d")]
    assert [exceeded(limits) for _ in range(5)] == [False] * 5
    assert exceeded(limits)  # the sixth use of each
    client = redis.Redis.from_url(settings.REDIS_URL)
    ttls = sorted(client.ttl(key) for key in client.keys("*rl:submit-*"))
    assert 0 < ttls[0] <= 3601 and 3601 < ttls[1] <= 86401


def test_the_limiter_counts_again_after_redis_drops_its_connections(settings):
    # A Redis restart closes every client's connection: the next request counts again
    # on a new one.
    from .conftest import require_redis

    require_redis()
    import redis

    limits = [Limit("submit-ip", "10.0.0.6", "2/h")]
    assert not exceeded(limits)
    redis.Redis.from_url(settings.REDIS_URL).client_kill_filter(_type="normal", skipme=True)
    exceeded(limits)  # may fail open: its connection was closed under it
    assert [exceeded(limits) for _ in range(2)][-1]  # counting again: over 2/h


def test_every_use_from_concurrent_threads_is_counted(settings):
    # gunicorn's threads count at once; the cache's increment is atomic.
    import threading

    from .conftest import require_redis

    require_redis()
    limits = [Limit("submit-ip", "10.0.0.5", "8/h")]
    threads = [threading.Thread(target=exceeded, args=(limits,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert exceeded(limits)  # the ninth use
