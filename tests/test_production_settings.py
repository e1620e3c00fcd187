"""Production settings refuse unsafe configurations, and pass the deploy checks.

Each case loads config.settings.production in a fresh interpreter with a controlled
environment. config/settings/base.py also reads a .env file from the repository root;
the subprocess disables that, so a developer's .env can neither break nor mask a case.
Nothing here connects to PostgreSQL or Redis: the URLs point at a closed port.
"""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from config.settings import base

GOOD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DEBUG": "false",
    "SECRET_KEY": "k3" + "x7Qz-pV9_rT2mW8nB4cY6hJ1fL5sD0gA" * 2,  # 66 characters
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "FIELD_HASH_KEY": "hash-key-for-the-production-settings-test-0123456789",
    "DATABASE_URL": "postgres://yjsb@127.0.0.1:1/yjsb",
    "REDIS_URL": "redis://:redis-password-for-the-test@127.0.0.1:1/0",
    "ALLOWED_HOSTS": "example.org",
}

# Runs the given code with base.py's `.env` reading switched off.
BOOTSTRAP = "import environ; environ.Env.read_env = classmethod(lambda cls, *a, **k: None); "


def run(code: str, **overrides: str | None) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        **GOOD_ENV,
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(  # noqa: S603 (fixed code, this interpreter)
        [sys.executable, "-c", BOOTSTRAP + code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def setup(**overrides: str | None) -> subprocess.CompletedProcess:
    return run("import django; django.setup()", **overrides)


def assert_refused(result: subprocess.CompletedProcess, reason: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert reason in result.stderr


def test_good_values_load():
    result = setup()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", ["true", "1", "on"])
def test_refuses_debug(value):
    assert_refused(setup(DEBUG=value), "DEBUG must be off")


@pytest.mark.parametrize(
    "value",
    [
        None,  # unset: the embedded default
        base.INSECURE_DEFAULT_SECRET_KEY,
        "s" * 49,  # too short
    ],
    ids=["unset", "default", "short"],
)
def test_refuses_default_or_weak_secret_key(value):
    assert_refused(setup(SECRET_KEY=value), "SECRET_KEY")


@pytest.mark.parametrize(
    "overrides",
    [
        {"FIELD_ENCRYPTION_KEYS": None},
        {"FIELD_ENCRYPTION_KEYS": base.INSECURE_DEFAULT_FIELD_KEY},
        # The default key kept beside a real one still decrypts: refused too.
        {
            "FIELD_ENCRYPTION_KEYS": GOOD_ENV["FIELD_ENCRYPTION_KEYS"]
            + ","
            + base.INSECURE_DEFAULT_FIELD_KEY
        },
        {"FIELD_HASH_KEY": None},
        {"FIELD_HASH_KEY": base.INSECURE_DEFAULT_HASH_KEY},
        {"FIELD_HASH_KEY": "too-short"},
        {"FIELD_ENCRYPTION_KEYS": ""},
    ],
    ids=[
        "keys-unset",
        "keys-default",
        "keys-default-beside-real",
        "hash-unset",
        "hash-default",
        "hash-short",
        "keys-empty",
    ],
)
def test_refuses_default_field_keys(overrides):
    assert_refused(setup(**overrides), "FIELD_ENCRYPTION_KEYS and a FIELD_HASH_KEY")


def test_refuses_a_malformed_encryption_key():
    assert_refused(setup(FIELD_ENCRYPTION_KEYS="not-a-fernet-key"), "must be a Fernet key")


@pytest.mark.parametrize(
    ("name", "value"), [("FIELD_CIPHER", "des-cbc"), ("FIELD_HASH", "md5")], ids=["cipher", "hash"]
)
def test_refuses_an_unknown_algorithm(name, value):
    assert_refused(setup(**{name: value}), f"{name} must be one of")


def test_accepts_the_chinese_national_algorithms():
    result = setup(FIELD_CIPHER="sm4-gcm", FIELD_HASH="hmac-sm3")
    assert result.returncode == 0, result.stderr


def test_refuses_sqlite():
    assert_refused(setup(DATABASE_URL=None), "PostgreSQL")


def test_refuses_missing_redis():
    assert_refused(setup(REDIS_URL=None), "Redis")


@pytest.mark.parametrize(
    "overrides",
    [
        {"REDIS_URL": "redis://127.0.0.1:1/0"},
        {"REDIS_URL": "rediss://127.0.0.1:1/0"},
        {"REDIS_URL": "redis://yjsb@127.0.0.1:1/0"},  # a user name, no password
        {"CELERY_BROKER_URL": "redis://127.0.0.1:1/1"},
    ],
    ids=["no-password", "tls-no-password", "user-only", "broker-no-password"],
)
def test_refuses_redis_without_a_password(overrides):
    assert_refused(setup(**overrides), "must carry the Redis password")


def settings_of(expression: str, **overrides: str | None) -> str:
    result = run(
        f"import django; django.setup(); from django.conf import settings; print({expression})",
        **overrides,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_redis_over_tls_verifies_the_servers_certificate():
    tls = {
        "REDIS_URL": "rediss://:redis-password-for-the-test@redis.internal:6380/0",
        "REDIS_TLS_CA_CERTS": "/tls/ca.crt",
    }
    expected = "{'ssl_cert_reqs': <VerifyMode.CERT_REQUIRED: 2>, 'ssl_ca_certs': '/tls/ca.crt'}"
    assert settings_of("settings.CACHES['default']['OPTIONS']", **tls) == expected
    assert settings_of("settings.CELERY_BROKER_USE_SSL", **tls) == expected
    # redis-py takes these options: the cache's connections speak TLS, checking the
    # server's certificate against the CA and its host name (nothing connects here).
    connection = settings_of(
        "(lambda c: (type(c).__name__, c.ca_certs, c.cert_reqs, c.check_hostname))("
        "__import__('redis').ConnectionPool.from_url("
        "settings.CACHES['default']['LOCATION'], **settings.CACHES['default']['OPTIONS']"
        ").make_connection())",
        **tls,
    )
    assert connection == "('SSLConnection', '/tls/ca.crt', <VerifyMode.CERT_REQUIRED: 2>, True)"
    # Plain redis:// gets no TLS options (the plain connection would refuse them).
    assert settings_of("settings.CACHES['default']['OPTIONS']") == "{}"
    assert settings_of("hasattr(settings, 'CELERY_BROKER_USE_SSL')") == "False"


@pytest.mark.parametrize(
    "overrides",
    [
        {"DATABASE_SSLMODE": "verify-full", "DATABASE_SSLROOTCERT": "/tls/ca.crt"},
        {"DATABASE_URL": GOOD_ENV["DATABASE_URL"] + "?sslmode=verify-full&sslrootcert=/tls/ca.crt"},
    ],
    ids=["variables", "url-query"],
)
def test_postgresql_tls_options_reach_the_connection(overrides):
    options = settings_of("settings.DATABASES['default']['OPTIONS']", **overrides)
    assert options == "{'sslmode': 'verify-full', 'sslrootcert': '/tls/ca.crt'}"


def test_deploy_check_passes_without_warnings():
    result = run(
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy'])"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output
    assert "security." not in output


@pytest.mark.parametrize("value", ["true", "1"])
def test_refuses_demo_mode(value):
    assert_refused(setup(DEMO_MODE=value), "DEMO_MODE must be off")
