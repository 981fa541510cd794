"""The ``webhook`` channel: a JSON POST shaped for a chat robot or a generic receiver.

::

    channels:
      ops-chat:
        type: webhook
        format: dingtalk            # slack | dingtalk | wecom | generic (default generic)
        url_env: DESK_CHAT_URL      # or url: https://... when the URL holds no token
        token_env: DESK_CHAT_SECRET # generic/slack: a bearer token; dingtalk: the signing secret
        timeout: 10s
        retry: {attempts: 8, first: 30s, max: 30m}

The body, by format (``TARGET`` is the person's ``chat`` id, else their name):

- ``slack``: ``{"text": "<@TARGET> *subject*\\nbody"}`` (incoming webhooks, Mattermost)
- ``dingtalk``: ``{"msgtype": "text", "text": {"content": "@TARGET subject\\nbody"},
  "at": {"atMobiles": [TARGET]}}`` (``atUserIds`` when the id is not a mobile number); with a
  signing secret, ``timestamp`` and ``sign`` are added to the URL as DingTalk requires
- ``wecom``: ``{"msgtype": "text", "text": {"content": ..., "mentioned_mobile_list": [TARGET]}}``
  (``mentioned_list`` for a user id)
- ``generic``: ``{"notification", "ticket", "reason", "level", "target", "subject", "text"}``

A reply other than 2xx fails the attempt, and so does a JSON reply whose ``errcode`` is not 0
(DingTalk and WeCom answer errors with HTTP 200).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from automator.errors import ConfigError
from automator.notify._channels import (
    ChannelError,
    ChannelOptions,
    Message,
    RetryPolicy,
    Secret,
    is_http_url,
    redact,
)
from automator.sla import Person

FORMATS = ("generic", "slack", "dingtalk", "wecom")
_MOBILE = re.compile(r"\+?[0-9]{6,15}")
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_REPLY_LIMIT = 65536


@dataclass(frozen=True)
class WebhookChannel:
    """POSTs each notification as JSON to a URL."""

    name: str
    format: str
    url: str | None = None
    url_secret: Secret | None = None
    token: Secret | None = None
    timeout: timedelta = timedelta(seconds=10)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_options(cls, options: ChannelOptions) -> WebhookChannel:
        url = options.string("url")
        url_secret = None
        env, file = options.string("url_env"), options.string("url_file")
        if url is not None and not is_http_url(url):
            options.problem("url", "must be an http:// or https:// URL")
        if sum(value is not None for value in (url, env, file)) != 1:
            options.problem(None, "give exactly one of url, url_env and url_file")
        elif env is not None or file is not None:
            url_secret = Secret(
                f"channels.{options.name}.url", env=env, file=Path(file) if file else None
            )
        return cls(
            name=options.name,
            format=options.choice("format", FORMATS, "generic"),
            url=url,
            url_secret=url_secret,
            token=options.secret("token"),
            timeout=options.duration("timeout", timedelta(seconds=10)),
            retry=options.retry(),
        )

    def address(self, person: Person) -> str | None:
        return person.chat or person.name

    def send(self, message: Message) -> None:
        try:
            url = self._url()
            token = self.token.read() if self.token is not None else None
        except ConfigError as exc:
            raise ChannelError(str(exc)) from None
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "automator"}
        if token is not None and self.format == "dingtalk":
            url = _dingtalk_signed(url, token)
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body(self.format, message), ensure_ascii=False).encode()
        # the scheme is checked (http or https) where the URL is read: no file:// here
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout.total_seconds()) as reply:  # noqa: S310
                text = reply.read(_REPLY_LIMIT)
        except urllib.error.HTTPError as exc:
            detail = exc.read(200).decode("utf-8", "replace").strip()
            exc.close()
            raise ChannelError(self.redact(f"HTTP {exc.code} {exc.reason}: {detail}")) from None
        except urllib.error.URLError as exc:
            raise ChannelError(self.redact(f"cannot reach the webhook: {exc.reason}")) from None
        except (OSError, http.client.HTTPException) as exc:
            raise ChannelError(self.redact(f"{type(exc).__name__}: {exc}")) from None
        _check_reply(text, self.redact)

    def redact(self, text: str) -> str:
        return redact(text, [self.url_secret, self.token])

    def _url(self) -> str:
        if self.url is not None:
            return self.url
        assert self.url_secret is not None
        url = self.url_secret.read()
        if not is_http_url(url):
            raise ConfigError(f"{self.url_secret.what}: not an http:// or https:// URL")
        return url


def body(kind: str, message: Message) -> dict[str, Any]:
    """The JSON body of ``message`` in format ``kind``."""
    target = message.target
    if kind == "slack":
        mention = f"<@{target}>" if _SLACK_ID.fullmatch(target) else target
        return {"text": f"{mention} *{message.subject}*\n{message.body}"}
    if kind == "dingtalk":
        mobile = _MOBILE.fullmatch(target) is not None
        return {
            "msgtype": "text",
            "text": {"content": f"@{target} {message.subject}\n{message.body}"},
            "at": {"atMobiles" if mobile else "atUserIds": [target], "isAtAll": False},
        }
    if kind == "wecom":
        mobile = _MOBILE.fullmatch(target) is not None
        return {
            "msgtype": "text",
            "text": {
                "content": f"{message.subject}\n{message.body}",
                "mentioned_mobile_list" if mobile else "mentioned_list": [target],
            },
        }
    return {
        "notification": message.notification_id,
        "ticket": message.ticket_id,
        "reason": message.reason,
        "level": message.level,
        "target": target,
        "subject": message.subject,
        "text": message.body,
    }


def _dingtalk_signed(url: str, secret: str) -> str:
    """DingTalk's signed robot URL: HMAC-SHA256 of ``timestamp\\nsecret`` keyed by the secret."""
    timestamp = str(round(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={sign}"


def _check_reply(text: bytes, clean: Callable[[str], str]) -> None:
    """A 2xx reply may still say no: DingTalk and WeCom put their errors in ``errcode``."""
    try:
        reply = json.loads(text or b"null")
    except ValueError:
        return
    if isinstance(reply, dict) and reply.get("errcode") not in (None, 0):
        raise ChannelError(clean(f"errcode {reply.get('errcode')}: {reply.get('errmsg', '')}"))
