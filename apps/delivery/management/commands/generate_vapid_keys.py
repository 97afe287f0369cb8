"""`python manage.py generate_vapid_keys`: a new Web Push (VAPID) key pair for the settings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.delivery.webpush import vapid_key_pair


class Command(BaseCommand):
    help = (
        "Print a new VAPID key pair as VAPID_PUBLIC_KEY=... and VAPID_PRIVATE_KEY=... lines, "
        "ready for the environment. Changing the pair invalidates every browser subscription."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        public_key, private_key = vapid_key_pair()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public_key}")
        self.stdout.write(f"VAPID_PRIVATE_KEY={private_key}")
