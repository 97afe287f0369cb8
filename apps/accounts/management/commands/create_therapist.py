"""Create a therapist account, or give an existing account the therapist role.

    python manage.py create_therapist --email ann@example.org --name "Ann Lee" \\
        --timezone Europe/London [--no-input]

At a terminal it asks for the password twice (Django's password validators apply).
With --no-input, or without a terminal (a script, CI), it generates one and prints it
once: it is stored only as a hash. The password is never written to a log.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from getpass import getpass
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Field

from apps.accounts.models import User
from apps.accounts.services import therapist_create, therapist_grant
from apps.profiles.validators import validate_time_zone

DEFAULT_TIME_ZONE = "UTC"
# Which option a service's ValidationError field came from, so the error names it.
OPTION_FOR_FIELD = {"email": "--email", "display_name": "--name", "timezone": "--timezone"}


class Command(BaseCommand):
    help = (
        "Create a therapist (a staff user in the Therapists group, with a profile), or make "
        "the account that has this email a therapist without touching its password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="the therapist's login")
        parser.add_argument(
            "--name", dest="display_name", default=None, help="how clients see the therapist"
        )
        parser.add_argument(
            "--timezone",
            default=None,
            help=f"IANA time zone, e.g. Europe/London (default {DEFAULT_TIME_ZONE})",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="do not prompt: generate a password and print it once",
        )

    def handle(
        self,
        *args: Any,
        email: str,
        display_name: str | None,
        timezone: str | None,
        interactive: bool = True,
        **options: Any,
    ) -> None:
        email = _clean_option("--email", User._meta.get_field("email"), email.strip().lower())
        if display_name is not None:
            display_name = _clean_option(
                "--name", User._meta.get_field("display_name"), display_name.strip()
            )
        if timezone is not None:
            _validate_option("--timezone", validate_time_zone, timezone)

        existing = User.objects.filter(email=email).first()
        if existing is not None:
            self._grant_existing(existing, display_name=display_name, timezone=timezone)
            return

        generated = not (interactive and sys.stdin.isatty())
        if generated:
            password = secrets.token_urlsafe(12)
        else:
            password = self._ask_password(email=email, display_name=display_name or "")
        try:
            user = therapist_create(
                email=email,
                password=password,
                display_name=display_name or "",
                timezone=timezone or DEFAULT_TIME_ZONE,
            )
        except ValidationError as error:
            # A race (someone registered this email a moment ago) or a field the service
            # checks and we did not: nothing was stored, say which option is wrong.
            raise CommandError(_describe(error)) from None

        self.stdout.write(
            self.style.SUCCESS(
                f"Created therapist {user.email} (time zone {user.profile.timezone}); "
                "they can log into /admin/."
            )
        )
        if generated:
            self.stdout.write(f"Password: {password}")
            self.stdout.write(
                "It is shown only this once. Give it to the therapist privately and ask them "
                "to change it after their first login."
            )

    def _grant_existing(
        self, user: User, *, display_name: str | None, timezone: str | None
    ) -> None:
        if therapist_grant(user=user):
            self.stdout.write(
                self.style.SUCCESS(
                    f"{user.email} already had an account: it is now a therapist. "
                    "Its password is unchanged."
                )
            )
        else:
            self.stdout.write(f"{user.email} is a therapist already; nothing changed.")
        if display_name is not None or timezone is not None:
            self.stdout.write(
                "--name and --timezone apply to new accounts only; this account keeps its "
                "own (the admin or the member's settings change them)."
            )
        if not user.is_active:
            self.stdout.write(
                self.style.WARNING(
                    "The account is deactivated: it cannot log in or see clients until it "
                    "is made active again in the admin."
                )
            )

    def _ask_password(self, *, email: str, display_name: str) -> str:
        """Prompt until two entries match and pass the validators; Ctrl-C stores nothing."""
        # The validators compare the password with the account's email and name.
        candidate = User(email=email, display_name=display_name)
        try:
            while True:
                password = getpass("Password: ")
                if not password:
                    self.stderr.write("The password cannot be blank.")
                    continue
                if getpass("Password (again): ") != password:
                    self.stderr.write("The two passwords differ; please try again.")
                    continue
                try:
                    password_validation.validate_password(password, user=candidate)
                except ValidationError as error:
                    for message in error.messages:
                        self.stderr.write(message)
                    continue
                return password
        except (KeyboardInterrupt, EOFError):
            raise CommandError("Cancelled; nothing was stored.") from None


def _clean_option(option: str, field: Field, value: str) -> str:
    """The value as the model field cleans it, or a CommandError naming the option."""
    try:
        return field.clean(value, None)
    except ValidationError as error:
        raise CommandError(f"{option}: {' '.join(error.messages)}") from None


def _validate_option(option: str, validator: Callable[[str], None], value: str) -> None:
    try:
        validator(value)
    except ValidationError as error:
        raise CommandError(f"{option}: {' '.join(error.messages)}") from None


def _describe(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return "; ".join(
        f"{OPTION_FOR_FIELD.get(field, field)}: {' '.join(messages)}"
        for field, messages in error.message_dict.items()
    )
