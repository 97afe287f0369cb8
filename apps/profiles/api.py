"""`me/`: the member's own profile; DELETE erases the account. `me/pause/` pauses nudges."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import logout
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.serializers import PasswordConfirmationSerializer
from apps.accounts.services import member_erase
from apps.profiles.serializers import PauseSerializer, ProfileSerializer
from apps.profiles.services import (
    pause_end_tomorrow_morning,
    profile_pause,
    profile_resume,
    profile_update,
)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ProfileSerializer)
    def get(self, request: Request) -> Response:
        return Response(ProfileSerializer(request.user.profile).data)

    @extend_schema(
        request=ProfileSerializer,
        responses=ProfileSerializer,
        examples=[
            OpenApiExample(
                "Work hours and quiet hours across midnight",
                value={
                    "timezone": "America/New_York",
                    "work_start": "08:30",
                    "work_end": "17:00",
                    "workdays": [0, 1, 2, 3, 4],
                    "quiet_start": "22:30",
                    "quiet_end": "06:30",
                    "hot_environment": True,
                    "water_goal_ml": 2500,
                    "channels": ["email", "push"],
                },
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request) -> Response:
        profile = request.user.profile
        incoming = ProfileSerializer(profile, data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        account_changes = changes.pop("user", {})
        if "display_name" in account_changes:
            request.user.display_name = account_changes["display_name"]
            request.user.save(update_fields=["display_name"])
        profile_update(profile=profile, changes=changes)
        return Response(ProfileSerializer(profile).data)

    @extend_schema(
        request=PasswordConfirmationSerializer,
        responses={204: None},
        description="Erase the account and every record about it. Needs the password.",
    )
    def delete(self, request: Request) -> Response:
        incoming = PasswordConfirmationSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        member = request.user
        logout(request._request)
        member_erase(member=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PauseView(APIView):
    """Pause every nudge for a while; they resume by themselves. DELETE resumes now."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PauseSerializer,
        responses=ProfileSerializer,
        examples=[
            OpenApiExample("For an hour", value={"minutes": 60}, request_only=True),
            OpenApiExample(
                "Until tomorrow morning", value={"tomorrow_morning": True}, request_only=True
            ),
            OpenApiExample(
                "Holiday", value={"until": "2026-12-27T09:00:00+01:00"}, request_only=True
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = PauseSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        profile = request.user.profile
        now = timezone.now()
        data = incoming.validated_data
        if data.get("minutes"):
            until = now + timedelta(minutes=data["minutes"])
        elif data.get("until"):
            until = data["until"]
        else:
            until = pause_end_tomorrow_morning(profile=profile, now=now)
        profile_pause(profile=profile, until=until)
        return Response(ProfileSerializer(profile).data)

    @extend_schema(responses=ProfileSerializer)
    def delete(self, request: Request) -> Response:
        profile = profile_resume(profile=request.user.profile)
        return Response(ProfileSerializer(profile).data)
