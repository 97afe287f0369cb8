"""The therapist's clients list in the admin is a view of care links: a proxy, no table."""

from __future__ import annotations

from apps.careteam.models import CareLink


class Client(CareLink):
    """A member who shares with the therapist looking at the admin (an active CareLink)."""

    class Meta:
        proxy = True
        verbose_name = "client"
        verbose_name_plural = "clients"
        # No add/change/delete: the admin is read-only about clients.
        default_permissions = ("view",)
