"""Create the demo member and therapist once, printing their random passwords."""

from typing import Any

from django.core.management.base import BaseCommand

from apps.operations.services import demo_accounts_create


class Command(BaseCommand):
    help = "Create a demo member and a demo therapist (once) and print their passwords."

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = demo_accounts_create()
        if not accounts:
            self.stdout.write("Demo accounts exist already; their passwords were shown once.")
        for account in accounts:
            self.stdout.write(f"demo {account.role}: {account.email}  password: {account.password}")
