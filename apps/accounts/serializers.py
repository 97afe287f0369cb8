"""Input and output shapes for registration, tokens and passwords."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import Throttled

from apps.accounts.lockout import AccountLocked, lockout_refuse_if_locked
from apps.accounts.models import User
from apps.accounts.services import EMAIL_TAKEN
from apps.profiles.validators import validate_time_zone


def _validate_new_password(password: str, user: User | None) -> str:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        raise serializers.ValidationError(list(error.messages)) from None
    return password


@contextmanager
def _locked_as_throttled() -> Iterator[None]:
    """A locked account (apps/accounts/lockout.py) answers 429 with Retry-After, as the IP
    throttle does, not 400: the request was fine, the client must wait."""
    try:
        yield
    except AccountLocked as locked:
        raise Throttled(wait=locked.wait_seconds, detail=locked.message) from None


class RegistrationSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )
    timezone = serializers.CharField(
        max_length=64, required=False, default="UTC", validators=[validate_time_zone]
    )
    display_name = serializers.CharField(
        max_length=150, required=False, default="", allow_blank=True
    )

    def validate_email(self, value: str) -> str:
        email = value.strip().lower()
        # Saying so helps a person who forgot they registered; the endpoint is throttled
        # (10 an hour per address), which keeps probing for accounts slow.
        if User.objects.filter(email=email).exists():
            raise serializers.ValidationError(EMAIL_TAKEN)
        return email

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = User(email=attrs["email"], display_name=attrs.get("display_name", ""))
        try:
            _validate_new_password(attrs["password"], candidate)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"password": error.detail}) from None
        return attrs


class AccountSerializer(serializers.ModelSerializer):
    timezone = serializers.CharField(source="profile.timezone")

    class Meta:
        model = User
        fields = ("id", "email", "display_name", "timezone", "date_joined")


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        with _locked_as_throttled():
            lockout_refuse_if_locked(identity=attrs["email"])
        user = authenticate(
            self.context.get("request"), email=attrs["email"], password=attrs["password"]
        )
        if user is None:
            # One message for both cases: never reveal whether the email has an account.
            raise serializers.ValidationError(
                {"non_field_errors": ["Email or password is not correct."]}
            )
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True)
    new_password = serializers.CharField(write_only=True, max_length=128)

    def validate_old_password(self, value: str) -> str:
        with _locked_as_throttled():
            correct = self.context["request"].user.check_password(value)
        if not correct:
            raise serializers.ValidationError("Your current password is not correct.")
        return value

    def validate_new_password(self, value: str) -> str:
        return _validate_new_password(value, self.context["request"].user)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField()
    token = serializers.CharField()
    new_password = serializers.CharField(write_only=True, max_length=128)


class PasswordConfirmationSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate_password(self, value: str) -> str:
        # Shared with the account page (a plain Django view): a locked account's
        # AccountLocked stays a field error here (400 with the lockout message), not a 429.
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("The password is not correct.")
        return value
