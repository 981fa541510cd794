"""SLA clocks, escalation and notification with real parts: a real SMTP server (aiosmtpd, with
STARTTLS and a login) and a real HTTP receiver (http.server) in this process, the project's
own wiring (``build_desk_ticks``), a real store. No lab needed.

Each test stops every server thread it starts: the lab fixture refuses to start while another
thread runs."""

from __future__ import annotations

import base64
import datetime as dt
import email
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from automator.config import Settings
from automator.inventory import Inventory
from automator.notify import Notifier, Ticker, build_desk_ticks
from automator.sla import SlaMonitor
from automator.store import Notification, Store, Ticket, TicketSla, TimelineEntry, utcnow
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus

PASSWORD = "smtp-pa55-word"
TOKEN = "hook-bearer-token"
DING_TOKEN = "ding-access-token"
DING_SECRET = "SECding-signing-secret"
SECRETS = (PASSWORD, TOKEN, DING_TOKEN, DING_SECRET)
MINUTE = dt.timedelta(minutes=1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- a real SMTP server ------------------------------------------------------------------


@dataclass
class Inbox:
    """aiosmtpd's handler: every message accepted, as parsed e-mail."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        if good:
            self.logins.append(data.login.decode())
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave the client hanging)
        return AuthResult(success=good, handled=False)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the client trusts it as its ca_file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class Smtp:
    port: int
    inbox: Inbox
    cert: Path


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Smtp]:
    import ssl

    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=inbox.authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        yield Smtp(port, inbox, cert)
    finally:
        controller.stop()


# --- a real HTTP receiver ----------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class Receiver:
    """A chat robot's or a generic receiver's endpoint that can go down and come back on the
    same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Received] = []
        self.reply: tuple[int, dict[str, Any]] = (200, {"errcode": 0, "errmsg": "ok"})
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.requests.append(
                    Received(self.path, dict(self.headers), json.loads(self.rfile.read(length)))
                )
                status, reply = receiver.reply
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="receiver")
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    try:
        yield found
    finally:
        found.stop()


# --- the project: contracts, inventory, store --------------------------------------------

CONTRACT = """\
timezone: UTC
targets:
  P1: {{response: 30m, resolution: 4h, hours: 24x7}}
  P2: {{response: 1h, resolution: 8h, hours: 24x7}}
  P3: {{response: 4h, resolution: 24h, hours: 24x7}}
  P4: {{response: 8h, resolution: 48h, hours: 24x7}}
people:
  noc: {{name: NOC, email: noc@example.net, chat: "13800000001"}}
  care: {{name: Customer care, email: care@example.net}}
  boss: {{name: Boss, email: boss@example.net, chat: U0BOSS}}
channels:
  mail:
    type: email
    host: 127.0.0.1
    port: {smtp_port}
    from: "automator desk <desk@example.net>"
    starttls: true
    ca_file: {cert}
    username: desk
    password_env: TEST_DESK_SMTP_PASSWORD
    timeout: 5s
    retry: {{attempts: 3, first: 10s, max: 1m}}
  hook:
    type: webhook
    url: "http://127.0.0.1:{http_port}/hook"
    token_env: TEST_DESK_HOOK_TOKEN
    timeout: 2s
    retry: {{attempts: 5, first: 30s, max: 5m}}
  ding:
    type: webhook
    format: dingtalk
    url_env: TEST_DESK_DING_URL
    token_env: TEST_DESK_DING_SECRET
    timeout: 2s
escalation:
  - name: dc1
    sites: [dc1]
    levels:
      - {{who: [owner], channels: [mail, hook], wait: 15m}}
      - {{who: [noc], channels: [mail, ding], wait: 30m}}
      - {{who: [boss], channels: [mail]}}
complaints:
  - {{who: [care], channels: [mail], wait: 1h}}
  - {{who: [boss], channels: [mail, hook]}}
"""


@dataclass
class Desk:
    store: Store
    ticks: list[Ticker]
    smtp: Smtp
    receiver: Receiver

    @property
    def notifier(self) -> Notifier:
        notifier = self.ticks[2]
        assert isinstance(notifier, Notifier)
        return notifier

    def tick(self, now: dt.datetime | None = None) -> list[object]:
        return [part.tick(now or utcnow()) for part in self.ticks]

    def open(
        self,
        *,
        minutes_ago: float = 0,
        kind: TicketKind = TicketKind.INCIDENT,
        priority: Priority = Priority.P1,
    ) -> int:
        ticket_id = TicketService(self.store).open(
            kind=kind, title="web1 down", actor="test", priority=priority, hosts=["web1"]
        )
        with self.store.session() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.created_at = utcnow() - minutes_ago * MINUTE
        return ticket_id

    def notifications(self, ticket_id: int) -> list[Notification]:
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(Notification)
                    .where(Notification.ticket_id == ticket_id)
                    .order_by(Notification.id)
                )
            )

    def entries(self, ticket_id: int, kind: str = "notification") -> list[TimelineEntry]:
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(TimelineEntry)
                    .where(TimelineEntry.ticket_id == ticket_id, TimelineEntry.kind == kind)
                    .order_by(TimelineEntry.id)
                )
            )


@pytest.fixture
def desk(
    tmp_path: Path,
    smtp: Smtp,
    receiver: Receiver,
    small_inventory: Inventory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Desk]:
    monkeypatch.setenv("TEST_DESK_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("TEST_DESK_HOOK_TOKEN", TOKEN)
    monkeypatch.setenv(
        "TEST_DESK_DING_URL",
        f"http://127.0.0.1:{receiver.port}/robot/send?access_token={DING_TOKEN}",
    )
    monkeypatch.setenv("TEST_DESK_DING_SECRET", DING_SECRET)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "default.yaml").write_text(
        CONTRACT.format(smtp_port=smtp.port, cert=smtp.cert, http_port=receiver.port)
    )
    settings = Settings.from_env(
        home=tmp_path / "home", project_dir=tmp_path, inventory_dir=tmp_path / "inventory"
    )
    store = Store.open(settings.database_url)
    # small_inventory: web1 is in site dc1, owned by alice@example.net
    yield Desk(store, build_desk_ticks(settings, store, small_inventory), smtp, receiver)
    store.dispose()


def no_secret_anywhere(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    with desk.store.session() as session:
        rows = session.scalars(select(Notification)).all()
        entries = session.scalars(select(TimelineEntry)).all()
    texts = [f"{r.target} {r.subject} {r.body} {r.last_error}" for r in rows]
    texts += [f"{e.message} {json.dumps(e.data)}" for e in entries]
    texts += [record.getMessage() for record in caplog.records]
    for secret in SECRETS:
        assert not any(secret in text for text in texts), secret


# --- the tests ----------------------------------------------------------------------------


def test_a_breach_reaches_the_owner_by_mail_and_webhook_once(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ticket_id = desk.open(minutes_ago=31)
    monitor, escalator, notifier = desk.ticks
    # the monitor and the escalation only write rows: nothing is sent in their tick
    assert isinstance(monitor, SlaMonitor)
    result = monitor.tick(utcnow())
    assert (result.breaches, result.warnings) == (1, 0)
    assert escalator.tick(utcnow()) == 0  # nothing the timeline asks for
    assert desk.smtp.inbox.messages == [] and desk.receiver.requests == []
    assert [n.status for n in desk.notifications(ticket_id)] == ["pending"] * 5

    sent = notifier.tick(utcnow())
    assert (sent.sent, sent.failed) == (2, 0)
    (mail,) = desk.smtp.inbox.messages
    assert desk.smtp.inbox.recipients == [["alice@example.net"]]  # web1's owner
    assert desk.smtp.inbox.logins == ["desk"]  # logged in after STARTTLS
    assert mail["Subject"] == f"[response SLA breached] #{ticket_id} P1 web1 down"
    assert mail["From"] == "automator desk <desk@example.net>"
    assert mail["X-Automator-Ticket"] == str(ticket_id)
    text = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Why: response SLA breached: response breached at" in text
    assert "Escalation level 1 of 3 (default contract)." in text
    assert f"automator sla ack {ticket_id}" in text

    (hook,) = desk.receiver.requests
    assert hook.path == "/hook"
    assert hook.headers["Authorization"] == f"Bearer {TOKEN}"
    assert hook.body["ticket"] == ticket_id and hook.body["level"] == 1
    assert hook.body["reason"] == "response_breach"
    assert hook.body["target"] == "alice@example.net"
    assert hook.body["subject"] == mail["Subject"]

    # recorded once, on the row and the ticket, however often the parts tick
    desk.tick()
    desk.tick()
    with desk.store.session() as session:
        row = session.get(TicketSla, ticket_id)
        assert row is not None and row.response_breached_at is not None
    assert len(desk.entries(ticket_id, "sla")) == 1
    assert len(desk.notifications(ticket_id)) == 5
    assert len(desk.smtp.inbox.messages) == 1 and len(desk.receiver.requests) == 1
    sent_notes = [e.message for e in desk.entries(ticket_id) if e.data.get("event") == "sent"]
    assert sent_notes == [
        "response SLA breached, level 1: mail to alice@example.net sent",
        "response SLA breached, level 1: hook to alice@example.net sent",
    ]
    no_secret_anywhere(desk, caplog)


def test_unanswered_levels_follow_and_an_answer_stops_them(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    ticket_id = desk.open(minutes_ago=31)
    start = utcnow()
    desk.tick(start)
    assert len(desk.smtp.inbox.messages) == 1
    # nobody answers for 15 minutes: the NOC by mail and on DingTalk (signed, mentioned)
    assert desk.notifier.tick(start + 15 * MINUTE).sent == 2
    assert desk.smtp.inbox.recipients[-1] == ["noc@example.net"]
    ding = desk.receiver.requests[-1]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding.path).query)
    assert query["access_token"] == [DING_TOKEN]
    timestamp = query["timestamp"][0]
    digest = hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256)
    assert query["sign"] == [base64.b64encode(digest.digest()).decode()]
    assert ding.body["msgtype"] == "text"
    assert ding.body["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert ding.body["text"]["content"].startswith("@13800000001 [response SLA breached]")
    # then somebody comments: the manager is not woken
    TicketService(desk.store).add_entry(ticket_id, "comment", "noc-anna", "on it")
    result = desk.notifier.tick(start + 46 * MINUTE)
    assert (result.sent, result.cancelled) == (0, 1)
    (last,) = [n for n in desk.notifications(ticket_id) if n.level == 3]
    assert (last.status, last.last_error) == ("cancelled", "comment by noc-anna")
    assert len(desk.smtp.inbox.messages) == 2
    no_secret_anywhere(desk, caplog)


def test_a_receiver_down_is_retried_with_backoff_then_delivered(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    desk.receiver.stop()
    ticket_id = desk.open(minutes_ago=31)
    start = utcnow()
    desk.tick(start)
    hook = next(n for n in desk.notifications(ticket_id) if n.channel == "hook")
    assert (hook.status, hook.attempts) == ("pending", 1)
    assert hook.next_attempt_at == start + dt.timedelta(seconds=30)
    assert "cannot reach the webhook" in (hook.last_error or "")
    assert len(desk.smtp.inbox.messages) == 1  # the mail went out all the same

    assert desk.notifier.tick(start + dt.timedelta(seconds=29)).failed == 0  # backing off
    assert desk.notifier.tick(start + dt.timedelta(seconds=30)).failed == 1
    hook = next(n for n in desk.notifications(ticket_id) if n.channel == "hook")
    assert hook.next_attempt_at == start + dt.timedelta(seconds=90)  # doubled

    desk.receiver.start()
    assert desk.notifier.tick(start + dt.timedelta(seconds=90)).sent == 1
    assert [r.body["ticket"] for r in desk.receiver.requests] == [ticket_id]
    events = [e.data["event"] for e in desk.entries(ticket_id) if e.data.get("channel") == "hook"]
    assert events == ["failed", "failed", "sent"]
    failed = [e.message for e in desk.entries(ticket_id) if e.data.get("event") == "failed"]
    assert "failed (attempt 1 of 5): cannot reach the webhook" in failed[0]
    assert "next try at" in failed[0]
    no_secret_anywhere(desk, caplog)


def test_a_mail_server_that_refuses_is_given_up_and_recorded(
    desk: Desk, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DESK_SMTP_PASSWORD", "wrong-" + PASSWORD)
    ticket_id = desk.open(minutes_ago=31)
    start = utcnow()
    desk.tick(start)
    desk.notifier.tick(start + dt.timedelta(seconds=10))
    desk.notifier.tick(start + dt.timedelta(seconds=30))
    mail = next(n for n in desk.notifications(ticket_id) if n.channel == "mail" and n.level == 1)
    assert (mail.status, mail.attempts) == ("given_up", 3)
    assert "SMTPAuthenticationError" in (mail.last_error or "")
    assert "wrong-***" not in (mail.last_error or "")  # nothing of the password shown
    given_up = [e.message for e in desk.entries(ticket_id) if e.data.get("event") == "given_up"]
    assert given_up[0].startswith(
        "response SLA breached, level 1: mail to alice@example.net given up after 3 attempts"
    )
    assert desk.smtp.inbox.messages == []
    no_secret_anywhere(desk, caplog)


def test_a_dingtalk_error_answer_is_a_failure(desk: Desk) -> None:
    desk.receiver.reply = (200, {"errcode": 310000, "errmsg": "sign not match"})
    ticket_id = desk.open(minutes_ago=31)
    start = utcnow()
    desk.tick(start)
    desk.notifier.tick(start + 15 * MINUTE)
    ding = next(n for n in desk.notifications(ticket_id) if n.channel == "ding")
    assert (ding.status, ding.last_error) == ("pending", "errcode 310000: sign not match")


def test_a_complaint_escalates_along_its_own_chain(desk: Desk) -> None:
    ticket_id = desk.open(kind=TicketKind.COMPLAINT, priority=Priority.P3)
    start = utcnow()
    desk.tick(start)
    assert desk.smtp.inbox.recipients == [["care@example.net"]]
    assert desk.smtp.inbox.messages[0]["Subject"] == (f"[complaint] #{ticket_id} P3 web1 down")
    desk.tick(start + 61 * MINUTE)
    assert desk.smtp.inbox.recipients[-1] == ["boss@example.net"]
    assert desk.receiver.requests[-1].body["reason"] == "complaint"
    assert desk.receiver.requests[-1].body["target"] == "U0BOSS"
    queued = [e.message for e in desk.entries(ticket_id) if e.data.get("event") == "queued"]
    assert queued[0] == "complaint: level 1 of 2: care@example.net by mail"
    assert len(desk.tick(start + 2 * 61 * MINUTE)) == 3
    assert len(desk.smtp.inbox.messages) == 2  # escalated once, not again


def test_a_failed_remediation_escalates(desk: Desk) -> None:
    ticket_id = desk.open(priority=Priority.P2)
    desk.tick()  # the escalator starts watching
    service = TicketService(desk.store)
    service.set_status(ticket_id, TicketStatus.IN_PROGRESS, "automator", "running restart-nginx")
    service.set_status(ticket_id, TicketStatus.ESCALATED, "automator", "not fixed on web1")
    desk.tick()
    (mail,) = desk.smtp.inbox.messages
    assert mail["Subject"] == f"[remediation failed] #{ticket_id} P2 web1 down"
    text = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "a fix did not work: the ticket is escalated" in text
    desk.tick()
    assert len(desk.smtp.inbox.messages) == 1
