"""Outgoing email: messages rendered from templates, sent over SMTP or kept in an outbox.

With no SMTP host configured, messages land as .eml files in `outbox_dir`, so password
resets and invitations work on a laptop with no mail server.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

import jinja2

from goalpath.config import Settings

logger = logging.getLogger("goalpath.mail")

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("goalpath.mail", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


class MailError(Exception):
    """A message could not be delivered; the text never carries credentials."""


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str | None = None


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


def build_email(message: Message, mail_from: str) -> EmailMessage:
    email_message = EmailMessage()
    email_message["From"] = mail_from
    email_message["To"] = message.to
    email_message["Subject"] = message.subject
    email_message["Date"] = formatdate(usegmt=True)
    # make_msgid's default domain comes from socket.getfqdn(): a DNS lookup that can stall
    # and that would publish the server's internal host name.
    sender_domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    email_message["Message-ID"] = make_msgid(domain=sender_domain)
    email_message.set_content(message.text)
    if message.html is not None:
        email_message.add_alternative(message.html, subtype="html")
    return email_message


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("SmtpMailer needs settings.smtp_host")
        self._settings = settings
        self._host = settings.smtp_host

    def send(self, message: Message) -> None:
        email_message = build_email(message, self._settings.mail_from)
        try:
            with self._connect() as connection:
                self._secure_and_log_in(connection)
                connection.send_message(email_message)
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(self._describe(error)) from error

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        if settings.smtp_ssl:
            return smtplib.SMTP_SSL(
                self._host,
                settings.smtp_port,
                timeout=settings.smtp_timeout_seconds,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(self._host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)

    def _secure_and_log_in(self, connection: smtplib.SMTP) -> None:
        settings = self._settings
        encrypted = settings.smtp_ssl
        if not encrypted and settings.smtp_starttls:
            connection.ehlo()
            if connection.has_extn("starttls"):
                connection.starttls(context=ssl.create_default_context())
                # RFC 3207: what the server offered before TLS no longer counts.
                connection.ehlo()
                encrypted = True
            else:
                logger.warning(
                    "SMTP server %s:%s does not offer STARTTLS; mail goes unencrypted",
                    self._host,
                    settings.smtp_port,
                )
        if not settings.smtp_username:
            return
        if not encrypted:
            raise MailError(
                f"refusing to send SMTP credentials to {self._host}:{settings.smtp_port} "
                "over an unencrypted connection"
            )
        connection.login(settings.smtp_username, settings.smtp_password or "")

    def _describe(self, error: Exception) -> str:
        detail = str(error)
        password = self._settings.smtp_password
        # A server may echo what it was sent (an AUTH line, say) into its error reply.
        if password:
            detail = detail.replace(password, "[redacted]")
        return (
            f"could not send mail via {self._host}:{self._settings.smtp_port}: "
            f"{type(error).__name__}: {detail}"
        )


class OutboxMailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(self, message: Message) -> None:
        # CRLF line endings keep the file a valid RFC 5322 message for any mail client.
        content = build_email(message, self._settings.mail_from).as_bytes(policy=policy.SMTP)
        folder = self._settings.outbox_dir
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / f"{stamp}-{secrets.token_hex(8)}.eml"
        try:
            # Reset links in here are live credentials; only the app's user may read them.
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp creates the file with mode 0o600; the rename makes it appear whole.
            handle, temporary_name = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as temporary:
                    temporary.write(content)
                os.replace(temporary_name, target)
            except BaseException:
                os.unlink(temporary_name)
                raise
        except OSError as error:
            raise MailError(f"could not write mail to {folder}: {error}") from error
        logger.info("mail written to %s", target)


def mailer_from_settings(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxMailer(settings)


def password_reset_message(
    *, to: str, name: str | None, link: str, expires_minutes: int
) -> Message:
    return _render(
        "password_reset",
        to=to,
        subject="Reset your Goalpath password",
        name=name,
        link=link,
        expires_minutes=expires_minutes,
    )


def account_invite_message(
    *, to: str, name: str | None, link: str, expires_minutes: int
) -> Message:
    return _render(
        "account_invite",
        to=to,
        subject="Set your Goalpath password",
        name=name,
        link=link,
        expires_minutes=expires_minutes,
    )


def _duration(minutes: int) -> str:
    """'30 minutes', '3 hours', '3 days': the largest whole unit."""
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{minutes} minutes"


def _render(
    template: str, *, to: str, subject: str, name: str | None, link: str, expires_minutes: int
) -> Message:
    # Links are built from settings.public_base_url; anything else (javascript:, a relative
    # path) means a caller went wrong, and must not reach an inbox as a clickable link.
    if not link.startswith(("https://", "http://")):
        raise ValueError("mail links must be absolute http(s) URLs")
    context = {
        "subject": subject,
        "name": name,
        "link": link,
        "expires": _duration(expires_minutes),
    }
    return Message(
        to=to,
        subject=subject,
        text=_templates.get_template(f"{template}.txt").render(context),
        html=_templates.get_template(f"{template}.html").render(context),
    )
