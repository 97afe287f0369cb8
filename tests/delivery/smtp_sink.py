"""A local SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port).

It records every message it accepts, parsed (headers such as Message-ID and
List-Unsubscribe, the plain-text and HTML parts), and can be told to answer the next N
messages with a temporary (4xx, e.g. 451) or permanent (5xx, e.g. 550) error, at DATA or at
RCPT, as a real mail server under load or with a bad mailbox would. A refused message is
recorded apart, so `accepted` holds exactly what a mailbox would contain.

Use `running_smtp_sink()` (or the `smtp_sink` fixture): the server stops when the block
ends.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server saw it."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    answer: str  # the reply the server gave to this message ("250 ..." when accepted)

    @property
    def accepted(self) -> bool:
        return self.answer.startswith("250")

    @property
    def parsed(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)  # type: ignore[return-value]

    def header(self, name: str) -> str | None:
        """The field as a mail client reads it: unfolded, without the leading space a
        long field gets when it is folded onto the next line (RFC 5322 section 2.2.3)."""
        value = self.parsed[name]
        return None if value is None else str(value).strip()

    @property
    def message_id(self) -> str | None:
        return self.header("Message-ID")

    @property
    def text(self) -> str:
        return self._body("plain")

    @property
    def html(self) -> str:
        return self._body("html")

    def _body(self, subtype: str) -> str:
        """A part's decoded content with "\n" line ends (SMTP carries CRLF)."""
        part = self.parsed.get_body(preferencelist=(subtype,))
        if part is None:
            return ""
        return part.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]


class SmtpSink:
    """The server's state; its handler methods run on aiosmtpd's event-loop thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripted: deque[tuple[str, str]] = deque()  # (stage, reply)
        self._received: list[ReceivedMail] = []
        self._hold_after: int | None = None
        self._hold_every = False  # hold_after(..., every=True): hold all that follow
        self._held = 0
        # refuse_all(): every message until refuse_none() gets this reply (a server down
        # for a while answering 4xx, or refusing everything with 5xx).
        self._refusing: str | None = None
        # Set while a message is held unanswered (see hold_after); release() lets it go.
        self.holding = threading.Event()
        self._release = threading.Event()
        self._controller = _LoopbackController(self, hostname=LOOPBACK, port=0)

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def url(self) -> str:
        """The EMAIL_URL a process would use to send here."""
        return f"smtp://{LOOPBACK}:{self.port}"

    def answer_next(self, reply: str, *, times: int = 1, at: str = "data") -> None:
        """Refuse the next `times` messages with `reply` (e.g. "451 4.3.0 Try again later")
        at the DATA stage (`at="data"`) or when the recipient is given (`at="rcpt"`)."""
        if at not in {"data", "rcpt"}:
            raise ValueError(f"at must be 'data' or 'rcpt', not {at!r}")
        with self._lock:
            self._scripted.extend([(at, reply)] * times)

    def refuse_all(self, reply: str) -> None:
        """Answer every message at DATA with `reply` (e.g. "451 4.3.0 Try again later")
        until refuse_none(); replies scripted with answer_next() still come first."""
        with self._lock:
            self._refusing = reply

    def refuse_none(self) -> None:
        with self._lock:
            self._refusing = None

    def hold_after(self, accepted: int, *, every: bool = False) -> None:
        """Accept `accepted` messages, then hold the next one unanswered at DATA (as a
        stalled server would) until release(): a sender can be killed while it waits,
        and the held message is recorded as not accepted. With `every`, hold every later
        message too: several concurrent senders all end up waiting (see `held`)."""
        with self._lock:
            self._hold_after = accepted
            self._hold_every = every

    @property
    def held(self) -> int:
        """How many messages are being held unanswered right now."""
        with self._lock:
            return self._held

    def release(self) -> None:
        """Let the held messages go (refused with 421) and stop holding."""
        with self._lock:
            self._hold_after = None
        self._release.set()

    @property
    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._received)

    @property
    def accepted(self) -> list[ReceivedMail]:
        return [mail for mail in self.received if mail.accepted]

    def accepted_with_id(self, message_id: str) -> list[ReceivedMail]:
        return [mail for mail in self.accepted if mail.message_id == message_id]

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    # --- aiosmtpd handler hooks (event-loop thread) -----------------------------------
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        reply = self._take_scripted("rcpt")
        if reply is not None:
            with self._lock:
                self._received.append(
                    ReceivedMail(
                        sender=envelope.mail_from or "", recipients=(address,), raw=b"",
                        answer=reply,
                    )
                )  # fmt: skip
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        if self._take_hold():
            # Recorded now: if the sender dies while we wait, aiosmtpd cancels this handler.
            with self._lock:
                self._received.append(
                    ReceivedMail(
                        sender=envelope.mail_from or "", recipients=tuple(envelope.rcpt_tos),
                        raw=content, answer="held, never answered",
                    )
                )  # fmt: skip
            with self._lock:
                self._held += 1
            self.holding.set()
            try:
                await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 120)
            finally:
                with self._lock:
                    self._held -= 1
            return "421 4.3.2 Held, then released: not accepted"
        reply = self._take_scripted("data") or self._refusing or "250 2.0.0 Message accepted"
        with self._lock:
            self._received.append(
                ReceivedMail(
                    sender=envelope.mail_from or "",
                    recipients=tuple(envelope.rcpt_tos),
                    raw=content,
                    answer=reply,
                )
            )
        return reply

    def _take_hold(self) -> bool:
        with self._lock:
            if self._hold_after is None:
                # Not counting then: a count per message made the sink quadratic (bench 5's
                # 10,000 emails: 50 million checks, ~0.4 ms of sink CPU per delivery).
                return False
            accepted = sum(1 for mail in self._received if mail.accepted)
            if accepted >= self._hold_after:
                if not self._hold_every:
                    self._hold_after = None
                return True
        return False

    def _take_scripted(self, stage: str) -> str | None:
        with self._lock:
            if self._scripted and self._scripted[0][0] == stage:
                return self._scripted.popleft()[1]
        return None


class _LoopbackController(Controller):
    """aiosmtpd's Controller on port 0: the OS picks a free port, read back once bound
    (the stock controller would try to connect to port 0 to check the server is up)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def running_smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP sink on a free loopback port, stopped when the block ends."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
