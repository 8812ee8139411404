"""A real SMTP server for tests (aiosmtpd in a thread of the test process): it can be
stopped and started again on the same port, like a mail server going down and back."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Collect:
    def __init__(self, box: MailServer) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                          policy=email.policy.default)
        with self.box.lock:
            self.box.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class MailServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> MailServer:
        self._controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)

    def wait_for(self, wanted: Callable[[list[EmailMessage]], bool],
                 timeout: float = 30) -> list[EmailMessage]:
        """The messages once `wanted` accepts them (polling); fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if wanted(got):
                return got
            time.sleep(0.1)
        subjects = [m["Subject"] for m in self.received()]
        raise AssertionError(f"mail never arrived as wanted; got {subjects}")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def mail_env(port: int) -> dict[str, str]:
    """A module's SERVER_ENV for a server that mails through a MailServer on `port` (the
    `smtp` fixture starts one on the module's SMTP_PORT)."""
    return {
        "SMTP_URL": f"smtp://127.0.0.1:{port}",
        "MAIL_FROM": "desk@example.org",
        "SITE_NAME": "Help Desk",
        "NOTIFY_AHEAD": "2",
    }
