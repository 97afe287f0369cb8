"""Log-in forms that say so when an email address is locked (apps/accounts/lockout.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from apps.accounts.lockout import lockout_refuse_if_locked


class _LockoutMessageMixin:
    """Before the password is checked: a locked address gets the lockout message (a form
    error) instead of "wrong password". PasswordLockoutBackend would refuse it anyway;
    this only picks the words. The same words for an address with no account."""

    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username:
            lockout_refuse_if_locked(identity=username)
        return super().clean()  # type: ignore[misc]


class LockoutAuthenticationForm(_LockoutMessageMixin, AuthenticationForm):
    """The member's log-in page."""


class LockoutAdminAuthenticationForm(_LockoutMessageMixin, AdminAuthenticationForm):
    """The admin's log-in page (admin.site.login_form, set in apps/accounts/admin.py)."""
