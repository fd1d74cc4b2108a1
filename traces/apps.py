from typing import Any

from django.apps import AppConfig


class TracesConfig(AppConfig):
    name = "traces"
    verbose_name = "Traces and usage"

    def ready(self) -> None:
        from celery.signals import worker_init, worker_ready

        from traces import checks  # noqa: F401  (registers the system checks)

        worker_init.connect(_worker_init, weak=False)
        worker_ready.connect(_worker_ready, weak=False)


def _worker_init(**kwargs: Any) -> None:
    from traces import export

    export.process_role = "worker"  # the resource attribute of the spans this process exports


def _worker_ready(**kwargs: Any) -> None:
    from django.conf import settings

    if settings.METRICS_ENABLED and settings.METRICS_WORKER_PORT:
        from metrics.worker import serve

        serve(settings.METRICS_WORKER_PORT, settings.METRICS_WORKER_ADDRESS)
