"""The Celery app: Redis broker, Django settings under the CELERY_ prefix."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("yjsb", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _beat_schedule(sender, **kwargs):
    # Kept in code, not in the database: the schedule is part of the release.
    from django.conf import settings

    sender.conf.beat_schedule = {
        "outbox-sweep": {
            "task": "apps.notifications.tasks.dispatch_pending_messages",
            "schedule": float(settings.OUTBOX_SWEEP_SECONDS),
        },
        "morning-digest": {
            "task": "apps.declarations.tasks.send_morning_digest",
            "schedule": crontab(hour=8, minute=0),
        },
        "deadline-sweep": {
            "task": "apps.screening.tasks.sweep_deadlines",
            "schedule": float(settings.DEADLINE_SWEEP_MINUTES * 60),
        },
        # The dashboards' summary tables: the recent days often, everything nightly.
        "figures-refresh": {
            "task": "apps.supervision.tasks.refresh_figures",
            "schedule": float(getattr(settings, "SUPERVISION_FIGURES_REFRESH_MINUTES", 10) * 60),
        },
        # Households: time-bound measures end on their end dates; the look-back reviews
        # (回头看) are drawn on the first of each month.
        "measures-end": {
            "task": "apps.households.tasks.end_expired_measures",
            "schedule": crontab(hour=1, minute=15),
        },
        "look-back-sampling": {
            "task": "apps.households.tasks.sample_look_backs",
            "schedule": crontab(day_of_month=1, hour=3, minute=0),
        },
        # Spot checks of last month's decided cases (常态化抽验复核), per county.
        "spot-check-draw": {
            "task": "apps.spotchecks.tasks.draw_spot_checks",
            "schedule": crontab(day_of_month=1, hour=3, minute=10),
        },
        # Civil affairs: each county's declarations exported and compared
        # with the assistance rolls, weekly.
        "civil-affairs-export": {
            "task": "apps.screening.tasks.export_for_civil_affairs",
            "schedule": crontab(day_of_week=1, hour=4, minute=0),
        },
        # Retention (剩余信息保护): what is past its keeping time, removed nightly.
        "purge-expired": {
            "task": "apps.screening.tasks.purge_expired",
            "schedule": crontab(hour=3, minute=30),
        },
        # Anomaly alerts for supervisors; a surge is also checked on each submission.
        "detect-anomalies": {
            "task": "apps.supervision.tasks.detect_anomalies",
            "schedule": float(settings.ANOMALY_RUN_MINUTES * 60),
        },
        # Data quality (数据质量): the rules over the stored data, nightly.
        "data-quality": {
            "task": "apps.quality.tasks.run_data_quality",
            "schedule": crontab(hour=1, minute=45),
        },
        "figures-rebuild": {
            "task": "apps.supervision.tasks.refresh_figures",
            "schedule": crontab(hour=2, minute=30),
            "kwargs": {"full": True},
        },
        "field-uploads-sweep": {
            "task": "apps.declarations.tasks.sweep_field_uploads",
            "schedule": crontab(hour=3, minute=45),
        },
    }
