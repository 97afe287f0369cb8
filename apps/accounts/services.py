"""Writes about accounts. Every account is created here, so it always has a profile."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.http import urlsafe_base64_decode

from apps.accounts.models import THERAPISTS_GROUP, User
from apps.reminders.services import default_schedules_create


@transaction.atomic
def member_create(
    *, email: str, password: str, display_name: str = "", timezone: str = "UTC"
) -> User:
    """Create a member, their profile and default reminder schedules together, or none."""
    user = User.objects.create_user(
        email=email, password=password, display_name=display_name, timezone=timezone
    )
    default_schedules_create(member=user)
    return user


@transaction.atomic
def therapist_create(*, email: str, password: str, display_name: str = "") -> User:
    """Create a therapist: a staff user in the Therapists group, with a profile."""
    user = member_create(email=email, password=password, display_name=display_name)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    group, _ = Group.objects.get_or_create(name=THERAPISTS_GROUP)
    user.groups.add(group)
    return user


def member_erase(*, member: User) -> None:
    """Erase the member and every row about them, in one transaction.

    Rows that point at the member cascade (profile, check-ins, activities, care links,
    access log, API token); an invitation they accepted keeps no pointer to them
    (SET_NULL). Admin history entries *about* the account hold its email as text, so
    they go too. Sessions die with the account: they resolve to no user.
    """
    with transaction.atomic():
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(User), object_id=str(member.pk)
        ).delete()
        member.delete()


def password_reset_send(*, email: str, request: HttpRequest) -> None:
    """Email a reset link if an active account has this address; silent otherwise, so
    the answer never tells whether an email is registered."""
    form = PasswordResetForm(data={"email": email})
    if form.is_valid():
        site = urlsplit(settings.SITE_URL)
        form.save(
            request=request,
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            from_email=settings.DEFAULT_FROM_EMAIL,
        )


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from an emailed link's uid and token; ValidationError names
    the field that is wrong."""
    try:
        user = User.objects.get(pk=urlsafe_base64_decode(uid).decode())
    except (User.DoesNotExist, ValueError, UnicodeDecodeError):
        raise ValidationError({"token": ["This reset link is not valid."]}) from None
    if not default_token_generator.check_token(user, token):
        raise ValidationError({"token": ["This reset link is not valid or has expired."]})
    try:
        password_validation.validate_password(new_password, user=user)
    except ValidationError as error:
        raise ValidationError({"new_password": error.messages}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user
