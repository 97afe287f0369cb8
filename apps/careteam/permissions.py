"""Who may see what: the one module that decides it.

- A member sees and changes only their own records. Another member's object is
  answered with 404, exactly as if it did not exist.
- A therapist (an active staff user in the Therapists group) reads, never writes,
  the data of members who hold an active link to them, and only the categories that
  link shares. An unlinked or revoked member is a 404; a linked member's category that
  is not shared is a 403 that says so (the therapist knows the client already).
- Every such read is written to the member's access log (services.access_log_record).
- A therapist prescribes stretches to (and edits their own prescriptions for) a member
  who holds an active link to them, whatever the link shares: a prescription is the
  therapist's own content, not a read of the member's data, so nothing is logged. Another
  therapist's prescription is a 404. A member reads the active prescriptions of the
  therapists they still share with; revoking a link hides that therapist's at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.accounts.selectors import user_is_therapist
from apps.careteam.models import AccessCategory, CareLink, PrescribedStretch

if TYPE_CHECKING:
    from apps.accounts.models import User

NOT_FOUND = "Not found."


class IsTherapist(BasePermission):
    message = "Only therapists can do this."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user_is_therapist(user=user))


_IS_THERAPIST_ATTRIBUTE = "_careteam_user_is_therapist"


def request_is_from_therapist(request: HttpRequest) -> bool:
    """user_is_therapist for the request's user, asked once per request: the admin checks
    permissions several times while rendering one page, each a query on the groups."""
    if not hasattr(request, _IS_THERAPIST_ATTRIBUTE):
        user = request.user
        is_therapist = bool(user.is_authenticated and user_is_therapist(user=user))
        setattr(request, _IS_THERAPIST_ATTRIBUTE, is_therapist)
    return getattr(request, _IS_THERAPIST_ATTRIBUTE)


def own_records(queryset: QuerySet, *, member: User) -> QuerySet:
    """The rows of `queryset` that belong to `member` (models with a `member` field)."""
    return queryset.filter(member=member)


def own_active_link(*, member: User, link_id: int) -> CareLink | None:
    """The member's own active link `link_id` (its therapist loaded), else None: the
    API and the pages answer None with their own 404."""
    return (
        own_records(CareLink.objects.select_related("therapist"), member=member)
        .filter(pk=link_id, revoked_at__isnull=True)
        .first()
    )


def active_links_of_therapist(
    *, therapist: User, model: type[CareLink] = CareLink
) -> QuerySet[CareLink]:
    """The links through which `therapist` may read (`model`: CareLink or a proxy of it)."""
    return model._default_manager.filter(
        therapist=therapist, revoked_at__isnull=True, member__is_active=True
    )


def link_for_therapist_read(*, therapist: User, member_id: int, categories: list[str]) -> CareLink:
    """The active link that lets `therapist` read `categories` of member `member_id`.

    Raises NotFound (no active link) or PermissionDenied (a category is not shared).
    """
    link = (
        active_links_of_therapist(therapist=therapist)
        .select_related("member", "member__profile", "therapist")
        .filter(member_id=member_id)
        .first()
    )
    if link is None:
        raise NotFound(NOT_FOUND)
    shared = shared_categories(link)
    refused = [category for category in categories if category not in shared]
    if refused:
        raise PermissionDenied(
            f"This client does not share {', '.join(AccessCategory(c).label for c in refused)}."
        )
    return link


def shared_categories(link: CareLink) -> list[str]:
    """The AccessCategory values `link` shares, in a fixed order."""
    flags = {
        AccessCategory.ADHERENCE: link.share_adherence,
        AccessCategory.CHECKINS: link.share_checkins,
        AccessCategory.NOTES: link.share_notes,
    }
    return [category for category, shared in flags.items() if shared]


def link_for_therapist_prescribing(*, therapist: User, member_id: int) -> CareLink:
    """The active link that lets `therapist` prescribe stretches to member `member_id`.

    Any active link is enough (no share flag is needed, and no access-log entry is written:
    prescribing reads none of the member's data). Raises NotFound otherwise.
    """
    link = (
        active_links_of_therapist(therapist=therapist)
        .select_related("member")
        .filter(member_id=member_id)
        .first()
    )
    if link is None:
        raise NotFound(NOT_FOUND)
    return link


def prescriptions_of_therapist(*, therapist: User) -> QuerySet[PrescribedStretch]:
    """The stretches `therapist` prescribed to members who still hold an active link to
    them (retired ones included). Both the API and the admin are scoped by this: after a
    revoke the therapist no longer sees, even by guessing ids, what they wrote for that
    member."""
    return PrescribedStretch.objects.filter(
        therapist=therapist,
        member__in=active_links_of_therapist(therapist=therapist).values("member"),
    )
