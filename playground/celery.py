import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

app = Celery("playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _schedule_periodic_tasks(sender: Celery, **kwargs: object) -> None:
    """Every periodic task, registered here: the sweep (runs) and the worker heartbeat (ops)."""
    from django.conf import settings

    every = {
        "runs.sweep_stale_runs": settings.RUN_SWEEP_INTERVAL_SECONDS,
        "ops.worker_heartbeat": settings.WORKER_HEARTBEAT_INTERVAL_SECONDS,
    }
    for task, seconds in every.items():
        sender.add_periodic_task(seconds, sender.signature(task), name=task)
