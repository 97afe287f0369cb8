from django.contrib import admin

from apps.profiles.models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "timezone", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    readonly_fields = ("created_at", "updated_at")
