"""On one machine every email is printed and kept under var/mail/ for a person to read."""

from __future__ import annotations

from email import message_from_bytes
from pathlib import Path

from django.core import mail
from django.test import override_settings

BACKEND = "apps.operations.email_backends.ConsoleAndFileEmailBackend"


def test_every_sent_email_is_written_as_an_eml_file(tmp_path: Path, capsys) -> None:
    with override_settings(EMAIL_BACKEND=BACKEND, EMAIL_MESSAGES_DIR=tmp_path / "mail"):
        sent = mail.send_mail(
            "Time for a 10-minute pause", "Breathe slowly.", None, ["member@example.org"]
        )

    assert sent == 1
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    message = message_from_bytes(files[0].read_bytes())
    assert message["Subject"] == "Time for a 10-minute pause"
    assert message["To"] == "member@example.org"
    assert "Time for a 10-minute pause" in capsys.readouterr().out
