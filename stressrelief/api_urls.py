"""Routes under /api/v1/ (names fixed by ../shared/API_CONTRACT.md)."""

from django.urls import path, register_converter
from rest_framework.routers import SimpleRouter

from apps.accounts import api as accounts
from apps.careteam import api as careteam
from apps.delivery import api as delivery
from apps.profiles import api as profiles
from apps.progress import api as progress
from apps.reminders import api as reminders
from apps.tracking import api as tracking
from stressrelief.converters import IdConverter

register_converter(IdConverter, "id")

router = SimpleRouter()
router.register("checkins", tracking.CheckInViewSet, basename="checkin")
router.register("activities", tracking.ActivityViewSet, basename="activity")
router.register("schedules", reminders.ScheduleViewSet, basename="schedule")
router.register("nudges", reminders.NudgeViewSet, basename="nudge")

urlpatterns = [
    path("auth/register/", accounts.RegisterView.as_view(), name="register"),
    path("auth/token/", accounts.TokenView.as_view(), name="token"),
    path("auth/password/change/", accounts.PasswordChangeView.as_view(), name="password-change"),
    path("auth/password/reset/", accounts.PasswordResetView.as_view(), name="password-reset"),
    path(
        "auth/password/reset/confirm/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("me/", profiles.MeView.as_view(), name="me"),
    path("me/export/", accounts.ExportView.as_view(), name="me-export"),
    path("me/pause/", profiles.PauseView.as_view(), name="me-pause"),
    path("invitations/", careteam.InvitationView.as_view(), name="invitations"),
    path("care-team/", careteam.CareTeamView.as_view(), name="care-team"),
    path("care-team/access-log/", careteam.AccessLogView.as_view(), name="access-log"),
    path("care-team/<id:link_id>/", careteam.CareTeamLinkView.as_view(), name="care-team-link"),
    path(
        "push-subscriptions/",
        delivery.PushSubscriptionView.as_view(),
        name="push-subscriptions",
    ),
    path("clients/", progress.ClientListView.as_view(), name="clients"),
    path(
        "clients/<id:client_id>/checkins/",
        careteam.ClientCheckInsView.as_view(),
        name="client-checkins",
    ),
    path(
        "clients/<id:client_id>/stretches/",
        careteam.ClientStretchesView.as_view(),
        name="client-stretches",
    ),
    path(
        "clients/<id:client_id>/stretches/<id:stretch_id>/",
        careteam.ClientStretchView.as_view(),
        name="client-stretch",
    ),
    path(
        "clients/<id:client_id>/progress/",
        progress.ClientProgressView.as_view(),
        name="client-progress",
    ),
    path("progress/", progress.ProgressView.as_view(), name="progress"),
    path("stretches/", careteam.MemberStretchesView.as_view(), name="stretches"),
    *router.urls,
]
