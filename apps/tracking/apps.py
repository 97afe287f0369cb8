from django.apps import AppConfig


class TrackingConfig(AppConfig):
    """What members log: check-ins (stress, pain, symptoms) and habit activities."""

    name = "apps.tracking"
    label = "tracking"
    verbose_name = "Tracking"
