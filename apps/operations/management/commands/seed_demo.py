"""Create the demo member and therapist once, printing their random passwords."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.operations.services import demo_accounts_create, demo_nudge_soon


class Command(BaseCommand):
    help = "Create a demo member and a demo therapist (once) and print their passwords."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--nudge-soon",
            action="store_true",
            help="move the demo member's mindfulness nudge to the next minute",
        )

    def handle(self, *args: Any, nudge_soon: bool = False, **options: Any) -> None:
        accounts = demo_accounts_create()
        if not accounts:
            self.stdout.write("Demo accounts exist already; their passwords were shown once.")
        for account in accounts:
            self.stdout.write(f"demo {account.role}: {account.email}  password: {account.password}")
        if nudge_soon and (schedule := demo_nudge_soon()) is not None:
            self.stdout.write(
                f"demo member's mindfulness nudge is due at {schedule.times[0]} "
                f"({schedule.member.profile.timezone}); it will appear in var/mail/."
            )
