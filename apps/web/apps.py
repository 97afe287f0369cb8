from django.apps import AppConfig


class WebConfig(AppConfig):
    """The member's web pages: server-rendered, working without JavaScript, enhanced by it."""

    name = "apps.web"
    label = "web"
    verbose_name = "Web pages"
