from django.apps import AppConfig


class CareTeamConfig(AppConfig):
    """Sharing owned by the member: invitations, links to therapists, the access log."""

    name = "apps.careteam"
    label = "careteam"
    verbose_name = "Care team"
