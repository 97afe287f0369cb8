"""The one authentication backend: Django's ModelBackend with the per-account lockout
(apps/accounts/lockout.py) in front of it."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from apps.accounts.lockout import AccountLocked, lockout_failure_record, lockout_refuse_if_locked

# The dotted path login() is given when a view logs a member in without a password check.
AUTHENTICATION_BACKEND = "apps.accounts.backends.PasswordLockoutBackend"


class PasswordLockoutBackend(ModelBackend):
    """ModelBackend's check, but a locked email address is refused before any lookup, and
    an address with no account counts a failure like a wrong password does (the account's
    own failures are counted by User.check_password, so each guess counts once)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user_model = get_user_model()
        if username is None:
            username = kwargs.get(user_model.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            lockout_refuse_if_locked(identity=username)
            try:
                user = user_model._default_manager.get_by_natural_key(username)
            except user_model.DoesNotExist:
                # Hash once anyway: an unknown address takes as long as a known one (#20760).
                user_model().set_password(password)
                lockout_failure_record(identity=username)
                return None
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
            return None
        except AccountLocked as locked:
            # PermissionDenied: authenticate() tries no other backend, sends
            # user_login_failed and returns None. Callers that want to say "locked" ask
            # lockout_wait_seconds first.
            raise PermissionDenied(locked.message) from None

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        # ModelBackend's async path skips User.check_password; the sync one counts.
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)
