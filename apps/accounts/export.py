"""`me/export/`: every record the service holds about a member, as plain JSON data.

tests/accounts/test_export_and_erase.py fails when a model that points at the user is
missing here, so a new model cannot be forgotten.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import LogEntry
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.accounts.models import User
from apps.accounts.selectors import user_is_therapist
from apps.careteam.models import (
    AccessLogEntry,
    CareLink,
    Invitation,
    PrescribedStretch,
    TherapistNote,
)
from apps.delivery.models import PushSubscription
from apps.progress.models import WeeklyEmail
from apps.reminders.models import Nudge, Schedule
from apps.tracking.models import Activity, CheckIn

EXPORT_FORMAT_VERSION = 1
CARE_LINK_FIELDS = [
    "id",
    "therapist__display_name",
    "therapist__email",
    "share_adherence",
    "share_checkins",
    "share_notes",
    "created_at",
    "revoked_at",
]


def _rows(queryset: Any, fields: list[str]) -> list[dict[str, Any]]:
    return list(queryset.values(*fields))


def member_export(*, member: User) -> dict[str, Any]:
    """A JSON-serialisable dict of the member's data, one key per kind of record.

    `sections` maps each model label to its key, for readers (and the completeness test).
    """
    profile = member.profile
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": timezone.now(),
        "account": {
            "id": member.pk,
            "email": member.email,
            "display_name": member.display_name,
            "date_joined": member.date_joined,
            "last_login": member.last_login,
            "is_therapist": user_is_therapist(user=member),
        },
        "profile": model_to_dict(profile, exclude=["id", "user"])
        | {"created_at": profile.created_at, "updated_at": profile.updated_at},
        "checkins": _rows(
            CheckIn.objects.filter(member=member),
            ["id", "stress", "pain", "symptoms", "body_areas", "note", "recorded_at", "created_at"],
        ),
        "activities": _rows(
            Activity.objects.filter(member=member),
            ["id", "kind", "minutes", "amount_ml", "recorded_at", "created_at"],
        ),
        "schedules": _rows(
            Schedule.objects.filter(member=member),
            [
                "id",
                "kind",
                "times",
                "every_minutes",
                "window_start",
                "window_end",
                "weekdays",
                "channels",
                "enabled",
                "next_due_at",
                "created_at",
            ],
        ),
        "nudges": _rows(
            Nudge.objects.filter(member=member),
            [
                "id",
                "kind",
                "due_at",
                "status",
                "suppressed_reason",
                "sent_at",
                "acted_at",
                "snooze_count",
            ],
        ),
        "push_subscriptions": _rows(
            PushSubscription.objects.filter(member=member),
            ["id", "endpoint", "created_at", "disabled_at"],
        ),
        "care_team": _rows(
            CareLink.objects.filter(member=member),
            CARE_LINK_FIELDS,
        ),
        "clients": _rows(
            CareLink.objects.filter(therapist=member),
            ["id", "member_id", "created_at", "revoked_at"],
        ),
        "invitations_sent": _rows(
            Invitation.objects.filter(therapist=member),
            ["id", "created_at", "expires_at", "accepted_at"],
        ),
        "invitations_accepted": _rows(
            Invitation.objects.filter(accepted_by=member),
            ["id", "therapist__display_name", "accepted_at"],
        ),
        "admin_actions": _rows(
            LogEntry.objects.filter(user=member),
            ["action_time", "content_type__model", "object_repr", "action_flag"],
        ),
        # A therapist's private notes about the member: not shown to the member in the
        # service, but data about them, so their right of access includes it.
        "therapist_notes": _rows(
            TherapistNote.objects.filter(member=member),
            ["id", "therapist__display_name", "therapist__email", "text", "created_at"],
        ),
        # Retired ones and those of a revoked link too: the service still holds them.
        "prescribed_stretches": _rows(
            PrescribedStretch.objects.filter(member=member),
            [
                "id",
                "therapist__display_name",
                "therapist__email",
                "name",
                "instructions",
                "hold_seconds",
                "repetitions",
                "created_at",
                "updated_at",
                "retired_at",
            ],
        ),
        "access_log": _rows(
            AccessLogEntry.objects.filter(member=member),
            ["id", "therapist_name", "categories", "what", "accessed_at"],
        ),
        "weekly_emails": _rows(
            WeeklyEmail.objects.filter(recipient=member),
            ["kind", "week_start", "status", "sent_at"],
        ),
        # The key itself is a credential, not data about the member: only when it was made.
        "api_tokens": _rows(Token.objects.filter(user=member), ["created"]),
        "sections": EXPORT_SECTIONS,
    }


# "<model label>.<field>" -> export key, for every relation to the user model in every
# installed app. tests/accounts/test_export_and_erase.py fails on any relation missing.
EXPORT_SECTIONS = {
    "accounts.user.id": "account",
    "accounts.loginsession.user": "account",  # session keys: credentials, not exported
    "profiles.profile.user": "profile",
    "tracking.checkin.member": "checkins",
    "tracking.activity.member": "activities",
    "reminders.schedule.member": "schedules",
    "reminders.nudge.member": "nudges",
    "delivery.pushsubscription.member": "push_subscriptions",
    "careteam.carelink.member": "care_team",
    "careteam.carelink.therapist": "clients",
    "careteam.invitation.therapist": "invitations_sent",
    "careteam.invitation.accepted_by": "invitations_accepted",
    "careteam.accesslogentry.member": "access_log",
    # Reads this account made as a therapist are in the clients' logs, not this export.
    "careteam.accesslogentry.therapist": "clients",
    "careteam.prescribedstretch.member": "prescribed_stretches",
    "careteam.therapistnote.member": "therapist_notes",
    # The admin's clients list is a proxy of care links: the same rows as above.
    "progress.client.member": "care_team",
    "progress.client.therapist": "clients",
    # Notes this account wrote as a therapist are about its clients: in their exports.
    "careteam.therapistnote.therapist": "clients",
    # What this account prescribed as a therapist is about its clients: in their exports.
    "careteam.prescribedstretch.therapist": "clients",
    "progress.weeklyemail.recipient": "weekly_emails",
    "authtoken.token.user": "api_tokens",
    "authtoken.tokenproxy.user": "api_tokens",
    "admin.logentry.user": "admin_actions",
    # Django's link tables: which groups and permissions the account has.
    "accounts.user_groups.user": "account",
    "accounts.user_user_permissions.user": "account",
}
