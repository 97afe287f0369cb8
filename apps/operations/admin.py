from django.contrib import admin

from apps.operations.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("worker_name", "last_seen_at")
    readonly_fields = ("worker_name", "last_seen_at")

    def has_add_permission(self, request: object) -> bool:
        return False
