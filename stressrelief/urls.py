"""URL routes. The API lives under /api/v1/ (see ../shared/API_CONTRACT.md)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.operations.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("stressrelief.api_urls")),
    # One-click pages behind the links in nudge emails (done, snooze, skip, unsubscribe).
    path("n/", include("apps.delivery.urls")),
    # Django's password-reset pages: the link in the reset email opens these.
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
