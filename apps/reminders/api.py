"""`schedules/` (CRUD), `nudges/` (list) and acting on a nudge (done, snooze, skip)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.careteam.permissions import own_records
from apps.core.api import filter_by_local_dates
from apps.reminders.actions import nudge_done, nudge_skip, nudge_snooze
from apps.reminders.models import Nudge, Schedule
from apps.reminders.serializers import NudgeSerializer, ScheduleSerializer, SnoozeSerializer
from apps.reminders.services import schedule_delete, schedule_save
from stressrelief.converters import IdConverter


@extend_schema_view(
    create=extend_schema(
        examples=[
            OpenApiExample(
                "Water every hour at work",
                value={
                    "kind": "hydration",
                    "every_minutes": 60,
                    "window_start": "09:00",
                    "window_end": "17:00",
                    "weekdays": [0, 1, 2, 3, 4],
                    "channels": ["push"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Mindfulness at lunch and after work",
                value={"kind": "mindfulness", "times": ["12:30", "18:15"]},
                request_only=True,
            ),
        ]
    ),
    partial_update=extend_schema(
        examples=[OpenApiExample("Turn off", value={"enabled": False}, request_only=True)]
    ),
)
class ScheduleViewSet(viewsets.ModelViewSet):
    """The member's reminder schedules; every change re-times the next nudge at once."""

    serializer_class = ScheduleSerializer
    lookup_value_regex = IdConverter.regex
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Schedule]:
        return own_records(Schedule.objects.all(), member=self.request.user)

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = schedule_save(
            member=self.request.user, changes=serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = schedule_save(
            member=self.request.user,
            changes=serializer.validated_data,
            schedule=serializer.instance,
        )

    def perform_destroy(self, instance: Schedule) -> None:
        schedule_delete(schedule=instance)


class NudgeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The member's nudges, newest first; act on one with done, snooze or skip."""

    serializer_class = NudgeSerializer
    lookup_value_regex = IdConverter.regex

    def get_queryset(self) -> QuerySet[Nudge]:
        rows = own_records(Nudge.objects.all(), member=self.request.user)
        if self.action == "list":
            rows = filter_by_local_dates(
                rows, request=self.request, time_zone=self.request.user.profile.timezone,
                field="due_at",
            )  # fmt: skip
        return rows

    @extend_schema(request=None, responses=NudgeSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str) -> Response:
        return Response(NudgeSerializer(nudge_done(nudge=self.get_object())).data)

    @extend_schema(
        request=SnoozeSerializer,
        responses=NudgeSerializer,
        examples=[OpenApiExample("Twenty minutes", value={"minutes": 20}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str) -> Response:
        incoming = SnoozeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        nudge = nudge_snooze(nudge=self.get_object(), minutes=incoming.validated_data["minutes"])
        return Response(NudgeSerializer(nudge).data, status=status.HTTP_200_OK)

    @extend_schema(request=None, responses=NudgeSerializer)
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str) -> Response:
        return Response(NudgeSerializer(nudge_skip(nudge=self.get_object())).data)
