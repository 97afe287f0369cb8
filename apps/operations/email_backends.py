"""The one-machine email backend: print every message and keep a copy under var/mail/."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.utils import timezone


class ConsoleAndFileEmailBackend(ConsoleEmailBackend):
    """Writes each message to the console and to `EMAIL_MESSAGES_DIR/<time>-<id>.eml`.

    An .eml file opens in any mail program, so a person running `make run` can read
    the nudges exactly as a member would receive them.
    """

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        directory = Path(settings.EMAIL_MESSAGES_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            if not message.recipients():
                continue
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
            path = directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
            # 0600: a nudge names the member and their habits.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(message.message().as_bytes(linesep="\n"))
        return sent
