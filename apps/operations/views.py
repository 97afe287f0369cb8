"""/healthz: is this web process able to reach the database and the broker?"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.operations.selectors import health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 `{"database": "ok", "broker": "ok"}`; 503 naming what is unavailable.

    Details (hosts, errors) stay out of the response: it is public and unauthenticated.
    """
    report = health_report()
    body = {name: "ok" if health.ok else "unavailable" for name, health in report.items()}
    status = 200 if all(health.ok for health in report.values()) else 503
    return JsonResponse(body, status=status)
