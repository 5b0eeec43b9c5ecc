"""Delivery channels: e-mail over SMTP, a JSON webhook (chat-robot shape), and the log.

Every message carries its outbox dedupe key (the e-mail's Message-ID, the webhook's
X-Caseflow-Delivery header), so a receiver can recognise a copy it already has.
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from typing import Protocol

import httpx
import structlog

from caseflow.domain.notices import render
from caseflow.store.models import Notification, Person

log = structlog.get_logger(__name__)


def _header_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", ".", text)


def worded(message: Notification, person: Person) -> tuple[str, str]:
    """The subject and body of a message for its recipient: from its template, in their
    language and time zone, or as it was written."""
    return render(message.template, message.params, person.language or "zh-CN",
                  person.time_zone, message.subject, message.body)


class DeliveryError(Exception):
    """This channel could not deliver now; the dispatcher tries again later."""


class Channel(Protocol):
    name: str

    def deliver(self, message: Notification, person: Person) -> None: ...


class LogChannel:
    name = "log"

    def deliver(self, message: Notification, person: Person) -> None:
        subject, _ = worded(message, person)
        log.info("notification sent", channel="log", case_id=message.case_id, to=person.id,
                 subject=subject, urgent=message.urgent)


class EmailChannel:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, *, username: str | None = None,
                 password: str | None = None, starttls: bool = False,
                 timeout: float = 10.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = (
            username, password, starttls, timeout)

    def deliver(self, message: Notification, person: Person) -> None:
        if not person.email:
            raise DeliveryError(f"{person.id} has no e-mail address")
        subject, body = worded(message, person)
        mail = EmailMessage()
        mail["From"], mail["To"] = self.sender, person.email
        mail["Subject"] = " ".join(subject.split())  # no line breaks in a header
        # The same for every copy of this message, so a receiver can drop a duplicate.
        mail["Message-ID"] = f"<{_header_safe(message.dedupe_key)}@caseflow>"
        if message.urgent:
            mail["X-Priority"] = "1"
        mail.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {error}") from None


class WebhookChannel:
    """POSTs the chat-robot JSON hospitals' IT use: {"msgtype": "text", "text": {...}}."""

    name = "webhook"

    def __init__(self, timeout: float = 10.0) -> None:
        self.client = httpx.Client(timeout=timeout)

    def deliver(self, message: Notification, person: Person) -> None:
        if not person.webhook_url:
            raise DeliveryError(f"{person.id} has no webhook URL")
        subject, text = worded(message, person)
        body = {"msgtype": "text", "text": {"content": f"{subject}\n{text}"},
                "case_id": message.case_id, "urgent": message.urgent}
        try:
            response = self.client.post(person.webhook_url, json=body, headers={
                "X-Caseflow-Delivery": message.dedupe_key})
        except httpx.HTTPError as error:
            raise DeliveryError(f"webhook {person.webhook_url}: {error}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"webhook {person.webhook_url}: HTTP {response.status_code}")
        # Chat robots report a refusal (bad key, rate limit) as HTTP 200 with an error code.
        try:
            answer = response.json()
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("errcode", answer.get("code", 0)) not in (
                0, "0", None):
            raise DeliveryError(f"webhook {person.webhook_url}: refused: {answer}")
