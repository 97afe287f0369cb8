from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Getting a nudge to the member: one transport per channel, every attempt recorded."""

    name = "apps.delivery"
    label = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        # Importing registers the push transport beside email and in-app.
        from apps.delivery import webpush  # noqa: F401
