"""The member's pages. Each area's module under views/ owns its routes."""

from apps.web.views import (
    account,
    careteam,
    history,
    notifications,
    progress,
    public,
    reminders,
    timers,
    today,
)

# The `<id:...>` converter is registered once, in stressrelief/api_urls.py.
app_name = "web"

urlpatterns = [
    *public.urlpatterns,
    *today.urlpatterns,
    *timers.urlpatterns,
    *progress.urlpatterns,
    *history.urlpatterns,
    *reminders.urlpatterns,
    *careteam.urlpatterns,
    *notifications.urlpatterns,
    *account.urlpatterns,
]
