from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.forms import LockoutAdminAuthenticationForm
from apps.accounts.models import User
from apps.accounts.services import member_complete, therapist_grant, therapist_revoke
from apps.profiles.validators import validate_time_zone

# The admin's log-in says when an address is locked, like the member's log-in page.
admin.site.login_form = LockoutAdminAuthenticationForm


class EmailUserCreationForm(UserCreationForm):
    # Not a User field: it goes to the profile that save_model creates with the account.
    timezone = forms.CharField(
        label="Time zone",
        initial="UTC",
        validators=[validate_time_zone],
        help_text="IANA name, e.g. Europe/London.",
    )

    class Meta:
        model = User
        fields = ("email", "display_name")


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ("email",)
    list_display = ("email", "display_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "display_name")
    actions = ("make_therapists", "remove_therapist_role")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("display_name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "display_name", "timezone", "password1", "password2"),
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            # The creation form saves the model itself, not through create_user, so the
            # profile and default schedules every account has are added here (inside the
            # admin's transaction: the account exists with them or not at all).
            member_complete(user=obj, timezone=form.cleaned_data.get("timezone") or "UTC")

    @admin.action(description="Make the selected users therapists", permissions=["change"])
    def make_therapists(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with transaction.atomic():
            changed = sum(therapist_grant(user=user) for user in queryset)
        unchanged = len(queryset) - changed
        message = f"Made {_users(changed)} {'a therapist' if changed == 1 else 'therapists'}."
        if unchanged:
            role = "was a therapist" if unchanged == 1 else "were therapists"
            message += f" {_users(unchanged)} {role} already."
        self.message_user(request, message, messages.SUCCESS if changed else messages.INFO)

    @admin.action(
        description="Remove the therapist role from the selected users", permissions=["change"]
    )
    def remove_therapist_role(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with transaction.atomic():
            changed = sum(therapist_revoke(user=user) for user in queryset)
        unchanged = len(queryset) - changed
        message = f"Removed the therapist role from {_users(changed)}."
        if unchanged:
            role = "was not a therapist" if unchanged == 1 else "were not therapists"
            message += f" {_users(unchanged)} {role}."
        self.message_user(request, message, messages.SUCCESS if changed else messages.INFO)


def _users(count: int) -> str:
    return f"{count} user" if count == 1 else f"{count} users"
