"""URL routes. The API lives under /api/v1/ (see ../shared/API_CONTRACT.md)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.operations.views import healthz
from apps.web.views import public as web_public

# Unrouted /api/ paths answer in JSON like the rest of the API (apps/core/api.py).
handler404 = "apps.core.api.not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("stressrelief.api_urls")),
    # One-click pages behind the links in nudge emails (done, snooze, skip, unsubscribe).
    path("n/", include("apps.delivery.urls")),
    # Log-in, log-out and password reset: Django's views and our templates; the two reset
    # steps go through our services (SITE_URL links, every other session ended).
    path("accounts/login/", web_public.LoginView.as_view(), name="login"),
    path("accounts/password_reset/", web_public.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        web_public.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The member's pages (apps/web): last, they own the site's root.
    path("", include("apps.web.urls")),
]
