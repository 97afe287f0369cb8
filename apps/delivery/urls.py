"""Pages behind the links in nudge emails (no login: the signed token is the credential).

Included by the root URLconf under `n/`, e.g. `/n/<token>/` and `/n/unsubscribe/<token>/`.
"""

from django.urls import path

from apps.delivery import views

app_name = "delivery"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("<str:token>/", views.nudge_action, name="action"),
]
