"""API plumbing every endpoint shares: the error format, pagination, date-range filters."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a Django ValidationError from a service becomes a 400 that
    names the field (`{field: [messages]}`), like a serializer error."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = serializers.ValidationError(detail)
    return drf_exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a URL under /api/ that matches no route (`checkins/null/`) answers in
    the API's error format, like an unknown id; the site's pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, but JSON nested too deep for Python is a 400, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class DateRangeSerializer(serializers.Serializer):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD`: local calendar days, both inclusive."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # Declared here because `from` is a Python keyword. Bounded, so converting a day
        # to an instant in any zone cannot overflow.
        return {
            name: serializers.DateField(
                required=False, validators=[validate_record_date], help_text="YYYY-MM-DD"
            )
            for name in ("from", "to")
        }

    def validate(self, attrs: dict[str, date]) -> dict[str, date]:
        if "from" in attrs and "to" in attrs and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": ["Must be on or after `from`."]})
        return attrs


# Records before this are typos (0001-01-01), and far-off days overflow in some zones.
EARLIEST_RECORD = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)


def validate_record_date(value: date) -> date:
    if not EARLIEST_RECORD <= value <= LATEST_DAY:
        raise serializers.ValidationError(
            f"Must be between {EARLIEST_RECORD.isoformat()} and {LATEST_DAY.isoformat()}."
        )
    return value


def filter_by_local_dates(
    queryset: QuerySet, *, request: Request, time_zone: str, field: str = "recorded_at"
) -> QuerySet:
    """Apply `?from=`/`?to=` (the member's local days) to `field`; 400 on a bad date."""
    params = DateRangeSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    zone = ZoneInfo(time_zone)
    if "from" in params.validated_data:
        start = datetime.combine(params.validated_data["from"], time.min, tzinfo=zone)
        queryset = queryset.filter(**{f"{field}__gte": start})
    if "to" in params.validated_data:
        next_day = params.validated_data["to"] + timedelta(days=1)
        end = datetime.combine(next_day, time.min, tzinfo=zone)
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset
