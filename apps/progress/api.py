"""`progress/` (the member's own), `clients/{id}/progress/` (a therapist's client, under
the link's sharing rules; the same document) and `clients/` (the therapist's list)."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.careteam.models import AccessCategory, CareLink
from apps.careteam.permissions import IsTherapist, link_for_therapist_read, shared_categories
from apps.careteam.services import access_log_record, access_log_record_list
from apps.progress.cache import progress_document_for_member
from apps.progress.overview import ClientOverview, client_overviews, clients_with_adherence
from apps.progress.serializers import (
    ClientOverviewSerializer,
    PeriodQuerySerializer,
    ProgressSerializer,
)

DAYS_PARAMETER = OpenApiParameter(
    "days", int, enum=[7, 30, 90], description="Local days ending today (default 30)."
)


def _period(request: Request) -> int:
    query = PeriodQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return int(query.validated_data["days"])


class ProgressView(APIView):
    """The member's adherence, habit scores, streaks, habits, stress and pain."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[DAYS_PARAMETER], responses=ProgressSerializer)
    def get(self, request: Request) -> Response:
        return Response(
            progress_document_for_member(
                member=request.user, now=timezone.now(), days=_period(request)
            )
        )


class ClientProgressView(APIView):
    """A client's progress: only the categories the client shares (adherence: nudges and
    habit logs; check-ins: stress and pain). A client who shares neither is a 403."""

    permission_classes = [IsTherapist]

    @extend_schema(parameters=[DAYS_PARAMETER], responses=ProgressSerializer)
    def get(self, request: Request, client_id: int) -> Response:
        days = _period(request)
        link = link_for_therapist_read(therapist=request.user, member_id=client_id, categories=[])
        categories = [
            category
            for category in shared_categories(link)
            if category in (AccessCategory.ADHERENCE, AccessCategory.CHECKINS)
        ]
        if not categories:
            raise PermissionDenied("This client shares neither adherence nor check-ins.")
        document = progress_document_for_member(
            member=link.member, now=timezone.now(), days=days, include=frozenset(categories)
        )
        access_log_record(link=link, categories=categories, what="progress")
        return Response(document)


class ClientListView(generics.ListAPIView):
    """The therapist's consented, active clients with the figures the admin shows, lowest
    7-day adherence first; figures of a category a client does not share are null.
    Each client whose figures are shown gets an entry in their access log (once an hour)."""

    permission_classes = [IsTherapist]
    serializer_class = ClientOverviewSerializer

    def get_queryset(self) -> QuerySet[CareLink]:
        return clients_with_adherence(therapist=self.request.user, now=timezone.now()).order_by(
            F("adherence_7d").asc(nulls_last=True), "member__display_name", "member__email", "pk"
        )

    def paginate_queryset(self, queryset: QuerySet[CareLink]) -> list[ClientOverview] | None:
        page = super().paginate_queryset(queryset)
        if page is None:
            return None
        links = client_overviews(therapist=self.request.user, now=timezone.now(), links=page)
        access_log_record_list(therapist=self.request.user, links=page, what="clients list")
        return links
