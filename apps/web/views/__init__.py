"""The member's pages, one module per area; each module owns its `urlpatterns`."""
