"""Writes about accounts. Every account is created here, so it always has a profile."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Field, Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.http import urlsafe_base64_decode
from rest_framework.authtoken.models import Token

from apps.accounts.lockout import lockout_clear
from apps.accounts.models import THERAPISTS_GROUP, LoginSession, User
from apps.careteam.models import AccessLogEntry
from apps.profiles.models import Profile
from apps.profiles.services import profile_create
from apps.progress.cache import progress_cache_forget
from apps.reminders.services import default_schedules_create

EMAIL_TAKEN = "An account with this email exists already."


def member_create(
    *, email: str, password: str, display_name: str = "", timezone: str = "UTC"
) -> User:
    """Create a member, their profile and default reminder schedules together, or none.

    Two registrations racing for one email: the database's unique index decides, and
    the loser gets a ValidationError on `email`, not a 500.
    """
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, display_name=display_name, timezone=timezone
            )
            default_schedules_create(member=user)
    except IntegrityError:
        if User.objects.filter(email=email.strip().lower()).exists():
            raise ValidationError({"email": [EMAIL_TAKEN]}) from None
        raise
    return user


@transaction.atomic
def therapist_create(
    *, email: str, password: str, display_name: str = "", timezone: str = "UTC"
) -> User:
    """Create a therapist: a member (profile in `timezone`, default schedules) who is also
    a staff user in the Therapists group; all of it or, on any ValidationError, none."""
    user = member_create(
        email=email, password=password, display_name=display_name, timezone=timezone
    )
    therapist_grant(user=user)
    return user


@transaction.atomic
def therapist_grant(*, user: User) -> bool:
    """Make an existing account a therapist: staff (so they can log into the admin) and in
    the Therapists group. Returns True if anything changed; granting again changes nothing.

    The password, profile and care links are left alone, and a deactivated account stays
    deactivated (user_is_therapist needs an active account).
    """
    group, _ = Group.objects.get_or_create(name=THERAPISTS_GROUP)
    changed = False
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        changed = True
    if not user.groups.filter(pk=group.pk).exists():
        user.groups.add(group)
        changed = True
    return changed


@transaction.atomic
def therapist_revoke(*, user: User) -> bool:
    """Take the therapist role away: out of the Therapists group and no longer staff, except
    that a superuser keeps the admin. Returns True if anything changed.

    Only a member of the Therapists group is touched: a staff user who is not a therapist
    (an operator) keeps their admin access. Care links stay in the database but give no
    access while the role is gone (permissions ask user_is_therapist on every request).
    """
    group = Group.objects.filter(name=THERAPISTS_GROUP).first()
    if group is None or not user.groups.filter(pk=group.pk).exists():
        return False
    user.groups.remove(group)
    if user.is_staff and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])
    return True


def member_complete(*, user: User, timezone: str = "UTC") -> None:
    """Give an account saved without member_create (the admin's "Add user" form saves the
    model directly) what every account gets: a profile and the default schedules.
    Does nothing for an account that has a profile already."""
    if Profile.objects.filter(user=user).exists():
        return
    with transaction.atomic():
        profile_create(user=user, timezone=timezone)
        default_schedules_create(member=user)


def member_erase(*, member: User) -> None:
    """Erase the member and every row about them, in one transaction.

    - Rows that point at the member cascade (profile, check-ins, activities, schedules,
      nudges, links, access log, tokens, push subscriptions); an invitation they
      accepted keeps no pointer to them (SET_NULL).
    - Admin history about the account or any of its rows holds names as text: deleted.
    - Their browser sessions are deleted (LoginSession knows which).
    - Where the member was a therapist, other members' access logs keep the fact of the
      read but no longer the therapist's name or email.
    """
    with transaction.atomic():
        _admin_history_about(member).delete()
        Session.objects.filter(session_key__in=member.login_sessions.values("session_key")).delete()
        AccessLogEntry.objects.filter(therapist=member).update(therapist_name=ERASED_THERAPIST_NAME)
        progress_cache_forget(member_id=member.pk)
        member.delete()


ERASED_THERAPIST_NAME = "a therapist whose account was deleted"


def _admin_history_about(member: User) -> QuerySet[LogEntry]:
    """Admin log entries about the member's account or any row that points at it."""
    about = Q(content_type=ContentType.objects.get_for_model(User), object_id=str(member.pk))
    for model, field in relations_to_users():
        primary_keys = model._default_manager.filter(**{field.attname: member.pk}).values_list(
            "pk", flat=True
        )
        keys = [str(key) for key in primary_keys]
        if keys:
            about |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=keys)
    return LogEntry.objects.filter(about)


def relations_to_users() -> list[tuple[type[Model], Field]]:
    """Every (model, field) in every installed app whose field points at the user model."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model is User:
                found.append((model, field))
    return found


def login_session_record(
    sender: object, request: HttpRequest | None, user: User, **kwargs: object
) -> None:
    """On every log-in: remember the session's key for this user."""
    if request is None or not hasattr(request, "session"):
        return
    if not request.session.session_key:
        request.session.save()
    LoginSession.objects.get_or_create(
        session_key=request.session.session_key, defaults={"user": user}
    )


def token_for(*, user: User) -> Token:
    """The user's API token, created on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def password_set(*, user: User, new_password: str) -> Token:
    """Set a new (already validated) password and end every other way in: API tokens
    and browser sessions. Returns a fresh API token for the caller to use. Ends a lockout
    too: whoever set it proved themselves (the current password, or the emailed link)."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    Token.objects.filter(user=user).delete()
    Session.objects.filter(session_key__in=user.login_sessions.values("session_key")).delete()
    user.login_sessions.all().delete()
    lockout_clear(identity=user.email)
    return Token.objects.create(user=user)


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
    password_set(user=user, new_password=new_password)
    return user
