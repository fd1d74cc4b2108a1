import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

app = Celery("playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _schedule_sweep(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(settings.RUN_SWEEP_INTERVAL_SECONDS, sender.signature("runs.sweep_stale_runs"))
