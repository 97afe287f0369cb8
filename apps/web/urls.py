"""The member's pages. Each area's module under views/ owns its routes."""

from django.urls import register_converter

from apps.web.views import (
    account,
    careteam,
    notifications,
    progress,
    public,
    reminders,
    timers,
    today,
)
from stressrelief.converters import IdConverter

register_converter(IdConverter, "id")

app_name = "web"

urlpatterns = [
    *public.urlpatterns,
    *today.urlpatterns,
    *timers.urlpatterns,
    *progress.urlpatterns,
    *reminders.urlpatterns,
    *careteam.urlpatterns,
    *notifications.urlpatterns,
    *account.urlpatterns,
]
