from django.apps import AppConfig


class RemindersConfig(AppConfig):
    """Per-member reminder schedules, the nudges they produce, and acting on them."""

    name = "apps.reminders"
    label = "reminders"
    verbose_name = "Reminders"
