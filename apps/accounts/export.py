"""`me/export/`: every record the service holds about a member, as plain JSON data.

tests/accounts/test_export_and_erase.py fails when a model that points at the user is
missing here, so a new model cannot be forgotten.
"""

from __future__ import annotations

from typing import Any

from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.accounts.models import User
from apps.careteam.models import AccessLogEntry, CareLink, Invitation
from apps.delivery.models import PushSubscription
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
            "is_therapist": member.groups.filter(name="Therapists").exists(),
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
        "access_log": _rows(
            AccessLogEntry.objects.filter(member=member),
            ["id", "therapist_name", "categories", "what", "accessed_at"],
        ),
        # The key itself is a credential, not data about the member: only when it was made.
        "api_tokens": _rows(Token.objects.filter(user=member), ["created"]),
        "sections": EXPORT_SECTIONS,
    }


# Model label -> export key, for every model with a foreign key to the user.
EXPORT_SECTIONS = {
    "accounts.user": "account",
    "profiles.profile": "profile",
    "tracking.checkin": "checkins",
    "tracking.activity": "activities",
    "careteam.carelink": "care_team",
    "careteam.invitation": "invitations_sent",
    "careteam.accesslogentry": "access_log",
    "reminders.schedule": "schedules",
    "reminders.nudge": "nudges",
    "delivery.pushsubscription": "push_subscriptions",
    "authtoken.token": "api_tokens",
    "authtoken.tokenproxy": "api_tokens",  # a proxy of Token for the admin
    # Not about the member's health; listed so the completeness test knows they are
    # deliberate: admin history (erased with the account), group and permission links.
    "admin.logentry": "account",
}
