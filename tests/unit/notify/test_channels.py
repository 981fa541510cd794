"""Channels: options read from the contract, body shapes per receiver, DingTalk's signature,
secrets read from the environment or a file and never shown."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest

from automator.errors import ConfigError
from automator.notify import EmailChannel, Message, Secret, WebhookChannel, build_channels
from automator.notify._webhook import _dingtalk_signed, body
from automator.sla import ChannelSpec, Contracts, Person

MESSAGE = Message(7, 42, "resolution_breach", 2, "13800000001", "[SLA] #42", "line 1\nline 2")


def channels(**specs: dict[str, object]) -> dict[str, object]:
    declared = {
        name: ChannelSpec(name, str(options.pop("type")), options, "c.yaml", 1)
        for name, options in specs.items()
    }
    return dict(build_channels(Contracts({}, declared)))


def test_email_defaults_and_address() -> None:
    built = channels(
        mail={"type": "email", "host": "smtp.example.net", "from": "desk@example.net"},
        tls={"type": "email", "host": "smtp.example.net", "from": "d@e.net", "ssl": True},
    )
    mail, tls = built["mail"], built["tls"]
    assert isinstance(mail, EmailChannel) and isinstance(tls, EmailChannel)
    assert (mail.port, mail.starttls, mail.use_ssl) == (587, True, False)
    assert (tls.port, tls.starttls) == (465, False)
    assert mail.timeout == timedelta(seconds=10)
    assert mail.address(Person("ann", "Ann", email="ann@example.net")) == "ann@example.net"
    assert mail.address(Person("bob", "Bob")) is None


def test_webhook_options() -> None:
    built = channels(
        hook={
            "type": "webhook",
            "format": "wecom",
            "url_env": "HOOK_URL",
            "timeout": "3s",
            "retry": {"attempts": 4, "first": "5s", "max": "1m"},
        }
    )
    hook = built["hook"]
    assert isinstance(hook, WebhookChannel)
    assert hook.url is None and hook.url_secret == Secret("channels.hook.url", env="HOOK_URL")
    assert hook.timeout == timedelta(seconds=3)
    assert (hook.retry.attempts, hook.retry.first, hook.retry.longest) == (
        4,
        timedelta(seconds=5),
        timedelta(minutes=1),
    )
    assert hook.address(Person("ann", "Ann", chat="U024")) == "U024"
    assert hook.address(Person("bob", "Bob")) == "Bob"


def test_bodies_for_each_receiver() -> None:
    assert body("slack", MESSAGE) == {"text": "13800000001 *[SLA] #42*\nline 1\nline 2"}
    slack_id = Message(7, 42, "complaint", 1, "U024BE7LH", "s", "b")
    assert body("slack", slack_id) == {"text": "<@U024BE7LH> *s*\nb"}
    assert body("dingtalk", MESSAGE) == {
        "msgtype": "text",
        "text": {"content": "@13800000001 [SLA] #42\nline 1\nline 2"},
        "at": {"atMobiles": ["13800000001"], "isAtAll": False},
    }
    assert body("dingtalk", slack_id)["at"] == {"atUserIds": ["U024BE7LH"], "isAtAll": False}
    assert body("wecom", MESSAGE) == {
        "msgtype": "text",
        "text": {
            "content": "[SLA] #42\nline 1\nline 2",
            "mentioned_mobile_list": ["13800000001"],
        },
    }
    assert body("wecom", slack_id)["text"]["mentioned_list"] == ["U024BE7LH"]
    assert body("generic", MESSAGE) == {
        "notification": 7,
        "ticket": 42,
        "reason": "resolution_breach",
        "level": 2,
        "target": "13800000001",
        "subject": "[SLA] #42",
        "text": "line 1\nline 2",
    }


def test_dingtalk_signature() -> None:
    signed = _dingtalk_signed("https://oapi.dingtalk.com/robot/send?access_token=abc", "SEC1")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(signed).query)
    timestamp = query["timestamp"][0]
    expected = hmac.new(b"SEC1", f"{timestamp}\nSEC1".encode(), hashlib.sha256).digest()
    assert query["sign"][0] == base64.b64encode(expected).decode()
    assert query["access_token"] == ["abc"]


def test_secrets_come_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESK_TOKEN", "tok-123")
    assert Secret("x", env="DESK_TOKEN").read() == "tok-123"
    (tmp_path / "pw").write_text("pw-456\n")
    assert Secret("x", file=tmp_path / "pw").read() == "pw-456"
    with pytest.raises(ConfigError, match="environment variable MISSING is not set"):
        Secret("channels.mail.password", env="MISSING").read()
    with pytest.raises(ConfigError, match="cannot read"):
        Secret("x", file=tmp_path / "absent").read()
    hook = WebhookChannel("hook", "generic", url_secret=Secret("u", env="DESK_TOKEN"))
    assert hook.redact("failed for tok-123 at tok-123") == "failed for *** at ***"
    mail = EmailChannel("mail", "h", 25, "d@e.net", password=Secret("p", file=tmp_path / "pw"))
    assert mail.redact("535 pw-456 rejected") == "535 *** rejected"


def test_an_unset_secret_fails_the_attempt_not_the_notifier() -> None:
    hook = WebhookChannel("hook", "generic", url_secret=Secret("channels.hook.url", env="NOPE"))
    with pytest.raises(Exception, match="environment variable NOPE is not set") as raised:
        hook.send(MESSAGE)
    assert raised.type.__name__ == "ChannelError"
