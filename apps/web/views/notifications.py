"""The notifications page: Web Push on this device (push.js talks to `push-subscriptions/`),
"push" among the member's channels, and the in-app inbox of recent nudges.

Also serves the service worker at the site root (`/sw.js`): a worker's scope is the
folder its script comes from, so served from /static/web/ it could not show the pages'
notifications or be registered for them.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.careteam.permissions import own_records
from apps.delivery.models import PushSubscription
from apps.profiles.serializers import ProfileSerializer
from apps.profiles.services import profile_update
from apps.reminders.actions import FINAL, MAX_SNOOZES, SNOOZABLE
from apps.reminders.models import Nudge, NudgeStatus

# The inbox: nudges due in the last week, at most this many (a water nudge every hour
# of a long day makes ~100 a week; the newest are the ones worth acting on).
INBOX_DAYS = 7
INBOX_LIMIT = 50
# Held back on purpose (quiet hours, a pause...) or too late to send: the member never got
# these, so they are not in the inbox (Progress still counts them).
NOT_IN_INBOX = (NudgeStatus.SUPPRESSED, NudgeStatus.MISSED)
SERVICE_WORKER = "web/sw.js"


def _inbox(request: HttpRequest) -> list[dict[str, object]]:
    since = timezone.now() - timedelta(days=INBOX_DAYS)
    nudges = own_records(Nudge.objects.all(), member=request.user).filter(due_at__gte=since)
    nudges = nudges.exclude(status__in=NOT_IN_INBOX)
    # The forms post to the Today page's action (web:nudge_act), which refuses the same
    # things; offering only what can succeed spares the member a refusal.
    return [
        {
            "nudge": nudge,
            "can_finish": nudge.status not in FINAL,
            "can_snooze": nudge.status in SNOOZABLE and nudge.snooze_count < MAX_SNOOZES,
        }
        for nudge in nudges.order_by("-due_at", "-id")[:INBOX_LIMIT]
    ]


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    profile = request.user.profile
    context = {
        "vapid_public_key": settings.VAPID_PUBLIC_KEY,
        "push_in_channels": "push" in profile.channels,
        "push_devices": PushSubscription.objects.filter(
            member=request.user, disabled_at__isnull=True
        ).count(),
        "inbox": _inbox(request),
        "inbox_days": INBOX_DAYS,
        "inbox_limit": INBOX_LIMIT,
        "member_zone": profile.timezone,
    }
    return render(request, "web/notifications.html", context)


@login_required
@require_POST
def push_channel_add(request: HttpRequest) -> HttpResponse:
    """Add "push" to the member's channels (the same check as PATCH me/)."""
    profile = request.user.profile
    if "push" not in profile.channels:
        incoming = ProfileSerializer(
            profile, data={"channels": [*profile.channels, "push"]}, partial=True
        )
        if not incoming.is_valid():  # not with valid stored channels; never a 500 if so
            messages.error(request, "Push could not be added; please try on the Reminders page.")
            return redirect("web:notifications")
        profile_update(profile=profile, changes=dict(incoming.validated_data))
    messages.success(
        request, "Push is now one of the ways your reminders reach you. Turn it on below."
    )
    return redirect("web:notifications")


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker's script, from the site root so its scope is the whole site.

    No login: the browser re-fetches it to check for updates whether or not anyone is
    logged in, and a redirect to the log-in page would make that update fail. `no-cache`:
    a new version reaches browsers on their next check, not after a cache expires.
    """
    found = finders.find(SERVICE_WORKER)
    if not found:
        raise Http404("No service worker.")
    with open(found, encoding="utf-8") as script:
        response = HttpResponse(script.read(), content_type="application/javascript")
    response["Cache-Control"] = "no-cache"
    return response


urlpatterns = [
    path("notifications/", notifications, name="notifications"),
    path("notifications/push-channel/", push_channel_add, name="notifications_push_channel"),
    path("sw.js", service_worker, name="service_worker"),
]
