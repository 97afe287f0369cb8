from django.apps import AppConfig


class WorkerConfig(AppConfig):
    """Makes worker/ an installed app so Celery's autodiscovery imports worker/tasks.py."""

    name = "worker"
    verbose_name = "Celery worker"
