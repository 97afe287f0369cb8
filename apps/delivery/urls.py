"""Pages behind the links in nudge emails (no login: the signed token is the credential).

Included by the root URLconf under `n/`, e.g. `/n/<token>/`, `/n/unsubscribe/<token>/` and
`/n/weekly/unsubscribe/<token>/` (turns off one weekly email).
"""

from django.urls import path

from apps.delivery import views

app_name = "delivery"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("weekly/unsubscribe/<str:token>/", views.weekly_unsubscribe, name="weekly_unsubscribe"),
    path("<str:token>/", views.nudge_action, name="action"),
]
