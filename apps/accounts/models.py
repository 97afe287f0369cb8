"""The user: members and therapists alike log in with their email address."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models, transaction
from django.utils import timezone

from apps.accounts.lockout import lockout_clear, lockout_failure_record, lockout_refuse_if_locked

# Name of the group whose staff members are therapists (created by a migration).
THERAPISTS_GROUP = "Therapists"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self, email: str, password: str | None = None, timezone: str = "UTC", **fields: object
    ) -> User:
        """Every account, whatever creates it (API, admin, createsuperuser), gets its
        profile in the same transaction: code may rely on `user.profile` existing."""
        from apps.profiles.services import profile_create  # profiles depends on accounts

        if not email:
            raise ValueError("An email address is required.")
        with transaction.atomic(using=self._db):
            user = self.model(email=email, **fields)
            user.set_password(password)
            user.save(using=self._db)
            profile_create(user=user, timezone=timezone)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # Log-in is case-insensitive because emails are stored lower-case.
        return self.get(email=(username or "").strip().lower())

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    # Stored lower-case (see save()), so the unique index is case-insensitive in effect:
    # Ann@x.org and ann@x.org are one account.
    email = models.EmailField("email address", max_length=254, unique=True)
    display_name = models.CharField(
        max_length=150, blank=True, help_text="How the service and a therapist address you."
    )
    is_staff = models.BooleanField(default=False, help_text="May log into the admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.display_name or self.email

    def check_password(self, raw_password: str | None) -> bool:
        """Django's check, under the per-account lockout (apps/accounts/lockout.py): every
        password typed for this account counts, wherever it was typed (log-in, the current
        password on a change or an erase form, the admin). A wrong one counts a failure, a
        right one clears them; while locked it raises AccountLocked (a ValidationError, so
        a form shows it as an error) and checks nothing. An old hash (PBKDF2) is rehashed
        with the first hasher (Argon2) on a right password, as Django does."""
        lockout_refuse_if_locked(identity=self.email)
        correct = super().check_password(raw_password)
        if correct:
            lockout_clear(identity=self.email)
        else:
            lockout_failure_record(identity=self.email)
        return correct

    async def acheck_password(self, raw_password: str | None) -> bool:
        # Django's async check does not call check_password; one path counts failures.
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.check_password)(raw_password)

    def clean(self) -> None:
        super().clean()
        self.email = self.email.strip().lower()

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class LoginSession(models.Model):
    """Which browser sessions belong to which user, so erasing an account (or changing
    its password) can end every one of them: Django's session rows do not say."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Session of user {self.user_id}"
