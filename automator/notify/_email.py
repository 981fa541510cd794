"""The ``email`` channel: one message per person over SMTP (smtplib).

::

    channels:
      mail:
        type: email
        host: smtp.example.net
        port: 587                       # default 587 with starttls, 465 with ssl, else 25
        from: "automator <desk@example.net>"
        starttls: true                  # upgrade the connection (default true unless ssl)
        ssl: false                      # SMTP over TLS from the first byte (port 465)
        ca_file: /etc/ssl/private-ca.pem   # trust this CA (default: the system's)
        username: desk                  # log in (the password from the env or a file)
        password_env: AUTOMATOR_SMTP_PASSWORD
        timeout: 10s
        retry: {attempts: 8, first: 30s, max: 30m}
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from automator.errors import ConfigError
from automator.notify._channels import (
    ChannelError,
    ChannelOptions,
    Message,
    RetryPolicy,
    Secret,
    redact,
)
from automator.sla import Person


@dataclass(frozen=True)
class EmailChannel:
    """Sends each notification as a plain-text e-mail to the person's address."""

    name: str
    host: str
    port: int
    sender: str
    starttls: bool = True
    use_ssl: bool = False
    ca_file: Path | None = None
    username: str | None = None
    password: Secret | None = None
    timeout: timedelta = timedelta(seconds=10)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_options(cls, options: ChannelOptions) -> EmailChannel:
        use_ssl = options.boolean("ssl", False)
        starttls = options.boolean("starttls", not use_ssl)
        if use_ssl and starttls:
            options.problem("starttls", "ssl already encrypts the connection: drop starttls")
        username = options.string("username")
        password = options.secret("password", required=username is not None)
        if password is not None and username is None:
            options.problem("username", "a password needs a username to log in with")
        ca_file = options.string("ca_file")
        default_port = 465 if use_ssl else 587 if starttls else 25
        return cls(
            name=options.name,
            host=options.string("host", required=True) or "localhost",
            port=options.integer("port", default_port, 1, 65535),
            sender=options.string("from", required=True) or "automator@localhost",
            starttls=starttls,
            use_ssl=use_ssl,
            ca_file=Path(ca_file) if ca_file else None,
            username=username,
            password=password,
            timeout=options.duration("timeout", timedelta(seconds=10)),
            retry=options.retry(),
        )

    def address(self, person: Person) -> str | None:
        return person.email

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.target
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid("automator")
        mail["X-Automator-Notification"] = str(message.notification_id)
        if message.ticket_id is not None:
            mail["X-Automator-Ticket"] = str(message.ticket_id)
        mail.set_content(message.body)
        try:
            password = self.password.read() if self.password is not None else None
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=self._tls())
                if self.username is not None and password is not None:
                    smtp.login(self.username, password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException, ConfigError, ssl.SSLError) as exc:
            # raised afresh: the original's traceback and context could hold the password
            raise ChannelError(self.redact(f"{type(exc).__name__}: {exc}")) from None

    def redact(self, text: str) -> str:
        return redact(text, [self.password])

    def _connect(self) -> smtplib.SMTP:
        seconds = self.timeout.total_seconds()
        if self.use_ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=seconds, context=self._tls())
        return smtplib.SMTP(self.host, self.port, timeout=seconds)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
