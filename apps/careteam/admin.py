"""The therapist's admin for the stretches they prescribe.

A therapist needs no model permissions here: being in the Therapists group is enough, and
`get_queryset` (through permissions.prescriptions_of_therapist) keeps each therapist to
their own prescriptions for clients who still share with them. Guessing another
prescription's id in the URL finds nothing (the admin redirects with "does not exist").
Superusers see only their own prescriptions, like everyone: administrators run accounts,
not therapy.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from apps.accounts.models import User
from apps.careteam.models import PrescribedStretch
from apps.careteam.permissions import (
    active_links_of_therapist,
    prescriptions_of_therapist,
    request_is_from_therapist,
)
from apps.careteam.services import prescribed_stretch_retire


@admin.register(PrescribedStretch)
class PrescribedStretchAdmin(admin.ModelAdmin):
    list_display = ("name", "member", "hold_seconds", "repetitions", "is_active", "updated_at")
    list_select_related = ("member", "therapist")
    list_filter = (("retired_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "member__email", "member__display_name")
    fields = ("member", "name", "instructions", "hold_seconds", "repetitions", "retired_at")
    readonly_fields = ("retired_at",)
    actions = ("retire",)

    # --- Who sees what ---------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[PrescribedStretch]:
        # Superusers too see only their own: administrators run accounts, not therapy.
        return prescriptions_of_therapist(therapist=request.user).select_related(
            "member", "therapist"
        )

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "member":
            # Only the therapist's current clients: a prescription needs an active link.
            kwargs["queryset"] = User.objects.filter(
                pk__in=active_links_of_therapist(therapist=request.user).values("member")
            ).order_by("display_name", "email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(
        self, request: HttpRequest, obj: PrescribedStretch | None = None
    ) -> tuple[str, ...]:
        # A prescription stays with the client it was written for; moving it would also
        # fail the member choice above for a superuser editing another therapist's row.
        if obj is not None:
            return (*self.readonly_fields, "member")
        return self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: PrescribedStretch, form: Any, change: bool
    ) -> None:
        if not change:
            obj.therapist = request.user
        super().save_model(request, obj, form, change)

    # --- Permissions: the Therapists group is enough ---------------------------------------
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_is_from_therapist(request) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_is_from_therapist(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request_is_from_therapist(request) or super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_is_from_therapist(request) or super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_is_from_therapist(request) or super().has_delete_permission(request, obj)

    # --- Actions ---------------------------------------------------------------------------
    @admin.display(boolean=True, description="active")
    def is_active(self, stretch: PrescribedStretch) -> bool:
        return stretch.is_active

    @admin.action(description="Retire the selected stretches (stop showing them in nudges)")
    def retire(self, request: HttpRequest, queryset: QuerySet[PrescribedStretch]) -> None:
        retired = 0
        for stretch in queryset.filter(retired_at__isnull=True):
            prescribed_stretch_retire(stretch=stretch)
            retired += 1
        self.message_user(request, f"{retired} stretch(es) retired.", messages.SUCCESS)
