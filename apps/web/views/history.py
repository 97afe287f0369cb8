"""History: the member's check-ins and habit logs of the last days, newest first, each
with a Delete button, so a mistake can be corrected from the pages (log it again, right).

Routes (login required): GET /history/ (web:history, `?days=7|30|90`, default 30);
POST /history/checkins/<id>/delete/ and /history/activities/<id>/delete/. Another
member's id is a 404, as in the API.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from apps.careteam.permissions import own_records
from apps.progress.serializers import PeriodQuerySerializer
from apps.tracking.models import BODY_AREAS, SYMPTOMS, Activity, ActivityKind, CheckIn
from apps.tracking.services import record_delete

# Enough for 90 busy days on one page; older rows are in the data download.
MAX_ROWS = 500


@login_required
@require_safe
def history_page(request: HttpRequest) -> HttpResponse:
    query = PeriodQuerySerializer(data=request.GET)
    days = int(query.validated_data["days"]) if query.is_valid() else 30
    member = request.user
    zone = ZoneInfo(member.profile.timezone)
    today = timezone.now().astimezone(zone).date()
    since = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=zone)
    checkins = own_records(CheckIn.objects.all(), member=member).filter(recorded_at__gte=since)
    activities = own_records(Activity.objects.all(), member=member).filter(recorded_at__gte=since)
    # One row more than shown tells whether there are more, without a COUNT per list.
    checkin_rows = list(checkins[: MAX_ROWS + 1])
    activity_rows = list(activities[: MAX_ROWS + 1])
    return render(
        request,
        "web/history.html",
        {
            "days": days,
            "periods": PeriodQuerySerializer().fields["days"].choices,
            "member_zone": member.profile.timezone,
            "checkins": [
                {
                    "row": row,
                    "symptoms": ", ".join(SYMPTOMS.get(s, s) for s in row.symptoms),
                    "body_areas": ", ".join(BODY_AREAS.get(a, a) for a in row.body_areas),
                }
                for row in checkin_rows[:MAX_ROWS]
            ],
            "activities": [
                {"row": row, "kind": ActivityKind(row.kind).label}
                for row in activity_rows[:MAX_ROWS]
            ],
            "capped": len(checkin_rows) > MAX_ROWS or len(activity_rows) > MAX_ROWS,
        },
    )


@login_required
@require_POST
def checkin_delete(request: HttpRequest, checkin_id: int) -> HttpResponse:
    checkin = get_object_or_404(
        own_records(CheckIn.objects.all(), member=request.user), pk=checkin_id
    )
    record_delete(record=checkin)
    messages.success(request, "The check-in is deleted.")
    return redirect("web:history")


@login_required
@require_POST
def activity_delete(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = get_object_or_404(
        own_records(Activity.objects.all(), member=request.user), pk=activity_id
    )
    record_delete(record=activity)
    messages.success(request, f"The {ActivityKind(activity.kind).label.lower()} log is deleted.")
    return redirect("web:history")


urlpatterns = [
    path("history/", history_page, name="history"),
    path("history/checkins/<id:checkin_id>/delete/", checkin_delete, name="checkin_delete"),
    path("history/activities/<id:activity_id>/delete/", activity_delete, name="activity_delete"),
]
