# The production image of 一键申报: one image for web (gunicorn), Celery worker, Celery
# beat and the one-shot migrate job (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. The project itself
# is not a library (py-modules = []): installing it installs only its dependencies,
# with the official SDKs of both SMS providers.
COPY pyproject.toml README* ./
RUN pip install ".[sms]"

COPY . .

# Compile the Chinese catalog and collect static files (hashed, compressed, served by
# WhiteNoise). Production settings refuse to load without real secrets, so this step
# gets throwaway values that exist only for this RUN: they are not kept in the image,
# nothing here connects to PostgreSQL or Redis, and the containers get the real values
# from .env at run time.
RUN SECRET_KEY=build-time-only-placeholder-never-used-to-sign-anything-at-runtime \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtdGltZS1vbmx5LW5vdC1hLXNlY3JldC1rZXk= \
    FIELD_HASH_KEY=build-time-only-placeholder-not-a-secret-hash-key \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    REDIS_URL=redis://:build-time-only@127.0.0.1:6379/0 \
    ALLOWED_HOSTS=localhost \
    sh -c "python manage.py compiletranslations \
        && python manage.py collectstatic --noinput -v 0"

# The uploads volume mounts here; a fresh named volume takes this owner.
RUN mkdir -p /app/media && chown app:app /app/media

USER app

EXPOSE 8000

# WEB_CONCURRENCY (workers) and GUNICORN_CMD_ARGS are read by gunicorn itself.
CMD ["gunicorn", "config.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-tmp-dir", "/dev/shm", \
     "--timeout", "60", \
     "--access-logfile", "-", \
     "--no-control-socket"]
