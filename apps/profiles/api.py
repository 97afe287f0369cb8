"""`me/`: the member's own profile; DELETE erases the account. `me/pause/` pauses nudges."""

from __future__ import annotations

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
from apps.core.schema import DeleteWithBodySchema
from apps.profiles.serializers import PauseSerializer, ProfileSerializer
from apps.profiles.services import (
    pause_end,
    profile_pause,
    profile_resume,
    profile_update,
)


class MeView(APIView):
    schema = DeleteWithBodySchema()  # DELETE reads a body: document it
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
        profile_update(
            profile=profile, changes=changes, display_name=account_changes.get("display_name")
        )
        return Response(ProfileSerializer(profile).data)

    @extend_schema(
        request=PasswordConfirmationSerializer,
        responses={204: None},
        examples=[
            OpenApiExample("Erase my account", value={"password": "my-password"}, request_only=True)
        ],
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
        profile = request.user.profile
        incoming = PauseSerializer(data=request.data, context={"time_zone": profile.timezone})
        incoming.is_valid(raise_exception=True)
        until = pause_end(profile=profile, now=timezone.now(), **incoming.validated_data)
        profile_pause(profile=profile, until=until)
        return Response(ProfileSerializer(profile).data)

    # {200: ...}: given a bare serializer, drf-spectacular documents any DELETE as a 204
    # with no body, and this one answers 200 with the profile (found by schemathesis).
    @extend_schema(responses={200: ProfileSerializer})
    def delete(self, request: Request) -> Response:
        profile = profile_resume(profile=request.user.profile)
        return Response(ProfileSerializer(profile).data)
