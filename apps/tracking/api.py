"""`checkins/` and `activities/`: a member's own records, paginated, filterable by day."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from apps.careteam.permissions import own_records
from apps.core.api import filter_by_local_dates
from apps.tracking.models import Activity, CheckIn
from apps.tracking.serializers import ActivitySerializer, CheckInSerializer
from apps.tracking.services import (
    activity_record,
    checkin_record,
    record_delete,
    record_update,
)
from stressrelief.converters import IdConverter

DATE_RANGE_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First local day, inclusive."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last local day, inclusive."),
]


class OwnRecordsViewSet(viewsets.ModelViewSet):
    """CRUD over the requesting member's own rows; anyone else's id is a 404."""

    lookup_value_regex = IdConverter.regex
    # PATCH updates; no PUT: a whole-record replace adds nothing for a log entry.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet:
        rows = own_records(self.queryset.model.objects.all(), member=self.request.user)
        if self.action == "list":
            rows = filter_by_local_dates(
                rows, request=self.request, time_zone=self.request.user.profile.timezone
            )
        return rows

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = record_update(
            record=serializer.instance, changes=serializer.validated_data
        )

    def perform_destroy(self, instance: CheckIn | Activity) -> None:
        record_delete(record=instance)


@extend_schema_view(
    list=extend_schema(parameters=DATE_RANGE_PARAMETERS),
    create=extend_schema(
        examples=[
            OpenApiExample(
                "Tight neck after a long meeting",
                value={
                    "stress": 6,
                    "pain": 4,
                    "symptoms": ["tightness", "headache"],
                    "body_areas": ["neck", "shoulders"],
                    "note": "Two hours at the laptop without a break.",
                },
                request_only=True,
            )
        ]
    ),
    partial_update=extend_schema(
        examples=[OpenApiExample("Correct the pain score", value={"pain": 2}, request_only=True)]
    ),
)
class CheckInViewSet(OwnRecordsViewSet):
    queryset = CheckIn.objects.all()
    serializer_class = CheckInSerializer

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = checkin_record(member=self.request.user, **serializer.validated_data)


@extend_schema_view(
    list=extend_schema(parameters=DATE_RANGE_PARAMETERS),
    create=extend_schema(
        examples=[
            OpenApiExample(
                "A glass of water", value={"kind": "hydration", "amount_ml": 250}, request_only=True
            ),
            OpenApiExample(
                "Mindfulness", value={"kind": "mindfulness", "minutes": 10}, request_only=True
            ),
            OpenApiExample("Heat pack", value={"kind": "heat", "minutes": 15}, request_only=True),
        ]
    ),
    partial_update=extend_schema(
        examples=[OpenApiExample("A longer stretch", value={"minutes": 8}, request_only=True)]
    ),
)
class ActivityViewSet(OwnRecordsViewSet):
    queryset = Activity.objects.all()
    serializer_class = ActivitySerializer

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = activity_record(member=self.request.user, **serializer.validated_data)
