"""Sharing API: `invitations/` (therapist), `care-team/` (member), `clients/{id}/checkins/`
(therapist), prescribed stretches: `clients/{id}/stretches/` (therapist) and `stretches/`
(member). The clients list and progress are in apps/progress/api.py."""

from __future__ import annotations

from functools import cached_property

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.careteam import serializers
from apps.careteam.models import AccessCategory, AccessLogEntry, CareLink, PrescribedStretch
from apps.careteam.permissions import (
    IsTherapist,
    link_for_therapist_prescribing,
    link_for_therapist_read,
    own_active_link,
    own_records,
    prescriptions_of_therapist,
)
from apps.careteam.selectors import stretches_for_member
from apps.careteam.services import (
    Shares,
    access_log_record,
    care_link_accept,
    care_link_revoke,
    care_link_update,
    invitation_create,
    prescribed_stretch_create,
    prescribed_stretch_retire,
    prescribed_stretch_update,
)
from apps.core.api import filter_by_local_dates
from apps.core.schema import DeleteWithBodySchema
from apps.tracking.models import CheckIn
from apps.tracking.serializers import TherapistCheckInSerializer


class InvitationView(APIView):
    permission_classes = [IsTherapist]

    @extend_schema(
        request=None,
        responses={201: serializers.InvitationSerializer},
        examples=[
            OpenApiExample(
                "A code for a client",
                value={"code": "K7QX-M2PD", "expires_at": "2026-12-01T10:00:00Z"},
                response_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        invitation, code = invitation_create(therapist=request.user)
        body = {"code": code, "expires_at": invitation.expires_at}
        return Response(serializers.InvitationSerializer(body).data, status=status.HTTP_201_CREATED)


def _own_active_link(request: Request, link_id: int) -> CareLink:
    link = own_active_link(member=request.user, link_id=link_id)
    if link is None:
        raise NotFound("Not found.")
    return link


class CareTeamView(APIView):
    """The therapists this member shares with; accept a code; revoke."""

    schema = DeleteWithBodySchema()  # DELETE reads a body: document it
    permission_classes = [IsAuthenticated]
    throttle_scope = "care_team"

    def get_throttles(self) -> list:
        # Only accepting a code is throttled: it is the one place a code could be guessed.
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(responses=serializers.CareLinkSerializer(many=True))
    def get(self, request: Request) -> Response:
        links = own_records(
            CareLink.objects.select_related("therapist"), member=request.user
        ).filter(revoked_at__isnull=True)
        return Response(serializers.CareLinkSerializer(links, many=True).data)

    @extend_schema(
        request=serializers.AcceptSerializer,
        responses={201: serializers.CareLinkSerializer},
        examples=[
            OpenApiExample(
                "Share adherence and check-ins, keep notes private",
                value={
                    "code": "K7QX-M2PD",
                    "share_adherence": True,
                    "share_checkins": True,
                    "share_notes": False,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = serializers.AcceptSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        link = care_link_accept(
            member=request.user, code=incoming.validated_data["code"], shares=incoming.shares()
        )
        return Response(serializers.CareLinkSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.RevokeSerializer,
        responses={204: None},
        operation_id="v1_care_team_revoke",
        examples=[OpenApiExample("Revoke link 12", value={"id": 12}, request_only=True)],
        description="Revoke a link by id in the body (same as DELETE care-team/{id}/).",
    )
    def delete(self, request: Request) -> Response:
        incoming = serializers.RevokeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        care_link_revoke(link=_own_active_link(request, incoming.validated_data["id"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CareTeamLinkView(APIView):
    """Change what one link shares (PATCH) or revoke it (DELETE)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=serializers.SharesSerializer,
        responses=serializers.CareLinkSerializer,
        examples=[
            OpenApiExample("Stop sharing notes", value={"share_notes": False}, request_only=True)
        ],
    )
    def patch(self, request: Request, link_id: int) -> Response:
        link = _own_active_link(request, link_id)
        incoming = serializers.SharesSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        current = Shares(
            adherence=link.share_adherence, checkins=link.share_checkins, notes=link.share_notes
        )
        care_link_update(link=link, shares=incoming.shares(current))
        return Response(serializers.CareLinkSerializer(link).data)

    @extend_schema(responses={204: None}, operation_id="v1_care_team_link_revoke")
    def delete(self, request: Request, link_id: int) -> Response:
        care_link_revoke(link=_own_active_link(request, link_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccessLogView(generics.ListAPIView):
    """Every read of this member's data by a therapist, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.AccessLogEntrySerializer

    def get_queryset(self) -> QuerySet[AccessLogEntry]:
        return filter_by_local_dates(
            own_records(AccessLogEntry.objects.all(), member=self.request.user),
            request=self.request,
            time_zone=self.request.user.profile.timezone,
            field="accessed_at",
        )


class ClientCheckInsView(generics.ListAPIView):
    """A client's check-ins, read-only, if the client shares them (notes only if shared)."""

    permission_classes = [IsTherapist]
    serializer_class = TherapistCheckInSerializer

    @cached_property
    def link(self) -> CareLink:
        """Checked on every request: a revoked or narrowed link takes effect at once."""
        return link_for_therapist_read(
            therapist=self.request.user,
            member_id=self.kwargs["client_id"],
            categories=[AccessCategory.CHECKINS],
        )

    def get_queryset(self) -> QuerySet[CheckIn]:
        return filter_by_local_dates(
            CheckIn.objects.filter(member_id=self.link.member_id),
            request=self.request,
            time_zone=self.link.member.profile.timezone,
        )

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["include_notes"] = self.link.share_notes
        return context

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        response = super().list(request, *args, **kwargs)
        link = self.link
        categories = [AccessCategory.CHECKINS] + (
            [AccessCategory.NOTES] if link.share_notes else []
        )
        access_log_record(link=link, categories=categories, what="check-ins")
        return response


STRETCH_EXAMPLE = {
    "name": "Upper trapezius stretch",
    "instructions": (
        "Sit tall, drop your right shoulder and tilt your left ear towards your left "
        "shoulder until you feel a gentle pull. Breathe slowly; no bouncing."
    ),
    "hold_seconds": 30,
    "repetitions": 3,
}


class ClientStretchesView(generics.ListCreateAPIView):
    """The active stretches this therapist prescribed to a client; prescribe a new one.

    Any active link allows it (no share flag: prescribing reads none of the client's data,
    so nothing goes to the access log); an unlinked or revoked client is a 404.
    """

    permission_classes = [IsTherapist]
    serializer_class = serializers.PrescribedStretchSerializer

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        # Before the body is validated: a revoked client is a 404, never a 400 that
        # tells the caller how their request would have been judged.
        self.link  # noqa: B018 - evaluated for its NotFound

    @cached_property
    def link(self) -> CareLink:
        """Checked on every request: a revoked link takes effect at once."""
        return link_for_therapist_prescribing(
            therapist=self.request.user, member_id=self.kwargs["client_id"]
        )

    def get_queryset(self) -> QuerySet[PrescribedStretch]:
        return prescriptions_of_therapist(therapist=self.request.user).filter(
            member_id=self.link.member_id, retired_at__isnull=True
        )

    @extend_schema(
        request=serializers.PrescribedStretchSerializer,
        responses={201: serializers.PrescribedStretchSerializer},
        examples=[OpenApiExample("A neck stretch", value=STRETCH_EXAMPLE, request_only=True)],
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().post(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.PrescribedStretchSerializer) -> None:
        serializer.instance = prescribed_stretch_create(
            therapist=self.request.user, member=self.link.member, **serializer.validated_data
        )


class ClientStretchView(APIView):
    """Edit (PATCH) or retire (DELETE) one of this therapist's stretches for a client.

    Another therapist's stretch, a retired one, or one of a client who revoked is a 404.
    """

    permission_classes = [IsTherapist]

    def _stretch(self, request: Request, client_id: int, stretch_id: int) -> PrescribedStretch:
        link = link_for_therapist_prescribing(therapist=request.user, member_id=client_id)
        stretch = (
            prescriptions_of_therapist(therapist=request.user)
            .filter(member_id=link.member_id, pk=stretch_id, retired_at__isnull=True)
            .first()
        )
        if stretch is None:
            raise NotFound("Not found.")
        return stretch

    @extend_schema(
        request=serializers.PrescribedStretchSerializer(partial=True),
        responses=serializers.PrescribedStretchSerializer,
        examples=[
            OpenApiExample(
                "Hold it longer, fewer times",
                value={"hold_seconds": 45, "repetitions": 2},
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request, client_id: int, stretch_id: int) -> Response:
        stretch = self._stretch(request, client_id, stretch_id)
        incoming = serializers.PrescribedStretchSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        prescribed_stretch_update(stretch=stretch, changes=incoming.validated_data)
        return Response(serializers.PrescribedStretchSerializer(stretch).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, client_id: int, stretch_id: int) -> Response:
        prescribed_stretch_retire(stretch=self._stretch(request, client_id, stretch_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberStretchesView(generics.ListAPIView):
    """The stretches the member's therapists prescribed: active ones, from therapists the
    member still shares with. Read-only."""

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.MemberStretchSerializer

    def get_queryset(self) -> QuerySet[PrescribedStretch]:
        return stretches_for_member(member=self.request.user)
