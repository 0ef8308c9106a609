from __future__ import annotations

import stat
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from goalpath.config import Settings
from goalpath.mail.sender import (
    MailError,
    Message,
    OutboxMailer,
    SmtpMailer,
    account_invite_message,
    mailer_from_settings,
    password_reset_message,
)
from tests.fixtures.smtp import SmtpServer, free_port, settings_for_smtp

LINK = "https://goalpath.example.org/reset/Zq9xVb3kT7"
SECRET = "correct-horse-battery-staple-7"


def reset_message(name: str | None = "Ana Lima") -> Message:
    return password_reset_message(
        to="ana.lima@district.example.org", name=name, link=LINK, expires_minutes=30
    )


def text_and_html(email_message: EmailMessage) -> tuple[str, str]:
    text_part = email_message.get_body(preferencelist=("plain",))
    html_part = email_message.get_body(preferencelist=("html",))
    assert isinstance(text_part, EmailMessage)
    assert isinstance(html_part, EmailMessage)
    return text_part.get_content(), html_part.get_content()


def test_smtp_mailer_delivers_reset_message(settings: Settings, smtp_server: SmtpServer) -> None:
    SmtpMailer(settings_for_smtp(settings, smtp_server)).send(reset_message())

    [received] = smtp_server.wait_for(1)
    assert smtp_server.envelope_recipients == [["ana.lima@district.example.org"]]
    assert received["To"] == "ana.lima@district.example.org"
    assert received["Subject"] == "Reset your Goalpath password"
    assert received["From"] == settings.mail_from
    assert received["Message-ID"].startswith("<")
    assert received["Message-ID"].endswith("@localhost>")
    assert received["Date"].datetime is not None
    assert received.get_content_type() == "multipart/alternative"
    text, html = text_and_html(received)
    assert LINK in text
    assert "expires in 30 minutes" in text
    assert f'<a href="{LINK}">' in html
    assert '<html lang="en">' in html


def test_each_message_gets_its_own_message_id(settings: Settings, smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(settings_for_smtp(settings, smtp_server))
    mailer.send(reset_message())
    mailer.send(reset_message())

    first, second = smtp_server.wait_for(2)
    assert first["Message-ID"] != second["Message-ID"]


def test_smtp_mailer_sends_plain_text_only_message(
    settings: Settings, smtp_server: SmtpServer
) -> None:
    message = Message(to="ops@district.example.org", subject="Plain", text="Only text.\n")
    SmtpMailer(settings_for_smtp(settings, smtp_server)).send(message)

    [received] = smtp_server.wait_for(1)
    assert received.get_content_type() == "text/plain"
    assert received.get_content().splitlines() == ["Only text."]


def test_credentials_are_never_sent_without_encryption(
    settings: Settings, smtp_server: SmtpServer
) -> None:
    # The loopback server offers no STARTTLS, so logging in would expose the password.
    insecure = settings_for_smtp(settings, smtp_server).model_copy(
        update={"smtp_starttls": True, "smtp_username": "mailer", "smtp_password": SECRET}
    )

    with pytest.raises(MailError, match="unencrypted") as raised:
        SmtpMailer(insecure).send(reset_message())

    assert SECRET not in str(raised.value)
    assert smtp_server.messages == []


def test_without_credentials_mail_goes_out_when_starttls_is_not_offered(
    settings: Settings, smtp_server: SmtpServer
) -> None:
    no_tls_offered = settings_for_smtp(settings, smtp_server).model_copy(
        update={"smtp_starttls": True}
    )

    SmtpMailer(no_tls_offered).send(reset_message())

    assert len(smtp_server.wait_for(1)) == 1


def test_unreachable_server_raises_mail_error_without_password(settings: Settings) -> None:
    port = free_port()
    unreachable = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_ssl": False,
            "smtp_starttls": False,
            "smtp_username": "mailer",
            "smtp_password": SECRET,
            "smtp_timeout_seconds": 2.0,
        }
    )

    with pytest.raises(MailError) as raised:
        SmtpMailer(unreachable).send(reset_message())

    assert f"127.0.0.1:{port}" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_outbox_mailer_writes_one_private_eml_per_message(
    settings: Settings, tmp_path: Path
) -> None:
    outbox = tmp_path / "var" / "outbox"
    mailer = OutboxMailer(settings.model_copy(update={"outbox_dir": outbox}))

    mailer.send(reset_message())
    [first] = list(outbox.iterdir())
    mailer.send(reset_message())
    files = sorted(outbox.iterdir())

    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert len(files) == 2
    assert first in files
    for path in files:
        assert path.suffix == ".eml"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(parsed, EmailMessage)
        assert parsed["To"] == "ana.lima@district.example.org"
        assert parsed["Message-ID"]
        text, html = text_and_html(parsed)
        assert LINK in text
        assert LINK in html


def test_mailer_from_settings_picks_by_smtp_host(settings: Settings) -> None:
    without_host = settings.model_copy(update={"smtp_host": None})
    with_host = settings.model_copy(update={"smtp_host": "smtp.district.example.org"})

    assert isinstance(mailer_from_settings(without_host), OutboxMailer)
    assert isinstance(mailer_from_settings(with_host), SmtpMailer)


@pytest.mark.parametrize("build", [password_reset_message, account_invite_message])
def test_html_escapes_the_name_and_text_keeps_it(build: Callable[..., Message]) -> None:
    name = "<script>alert(1)</script>"

    message = build(to="x@district.example.org", name=name, link=LINK, expires_minutes=60)

    assert message.html is not None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "<script" not in message.html
    assert f"Hello {name}," in message.text


def test_invite_message_wording() -> None:
    message = account_invite_message(
        to="new.teacher@district.example.org", name=None, link=LINK, expires_minutes=1
    )

    assert message.subject == "Set your Goalpath password"
    assert message.text.startswith("Hello,\n")
    assert "An administrator created a Goalpath account for you" in message.text
    assert "expires in 1 minute." in message.text
    assert message.html is not None
    assert f'<a href="{LINK}">' in message.html


def test_reset_message_tells_what_to_do_if_not_requested() -> None:
    message = reset_message()

    assert "Someone asked to reset the password of this Goalpath account" in message.text
    assert "your password\nstays the same" in message.text
    assert message.html is not None
    assert "<img" not in message.html


def test_links_must_be_absolute_http_urls() -> None:
    with pytest.raises(ValueError, match="absolute"):
        password_reset_message(
            to="x@district.example.org", name=None, link="javascript:alert(1)", expires_minutes=5
        )


def test_long_expiries_read_in_hours_and_days() -> None:
    invite = account_invite_message(
        to="new.teacher@district.example.org", name=None, link=LINK, expires_minutes=72 * 60
    )
    assert "expires in 3 days" in invite.text
    reset = password_reset_message(
        to="new.teacher@district.example.org", name=None, link=LINK, expires_minutes=120
    )
    assert "expires in 2 hours" in reset.text
