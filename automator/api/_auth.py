"""Who may post to a hook: a bearer token, or an HMAC-SHA256 signature of the raw body.

Secrets come from environment variables, read once when the app is made. A hook with no secret
refuses everything unless hooks.yaml says ``auth: none`` for it. Comparisons take constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from automator.api._config import HookSettings


@dataclass(frozen=True)
class Credentials:
    """What one hook accepts. ``open`` is ``auth: none``; with neither a token nor a key the
    hook refuses every request."""

    source: str
    token: bytes | None
    hmac_key: bytes | None
    signature_header: str
    open: bool = False
    unconfigured: str = ""

    @classmethod
    def for_hook(cls, hook: HookSettings, environ: Mapping[str, str]) -> Credentials:
        token = environ.get(hook.token_env) if hook.auth in (None, "token") else None
        key = environ.get(hook.hmac_env) if hook.auth in (None, "hmac") else None
        wanted = {"token": hook.token_env, "hmac": hook.hmac_env}.get(hook.auth or "")
        hint = wanted or f"{hook.token_env} or {hook.hmac_env}"
        return cls(
            source=hook.source,
            token=token.encode() if token else None,
            hmac_key=key.encode() if key else None,
            signature_header=hook.signature_header.lower(),
            open=hook.auth == "none",
            unconfigured=f"no secret configured: set {hint}, or auth: none in hooks.yaml",
        )

    @property
    def needs_body(self) -> bool:
        """Whether the body is needed to decide (a signature may let the request in)."""
        return self.hmac_key is not None and not self.open

    def check(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """None when the request may pass; else why not (for the log: never a secret).
        ``body`` is only read when ``needs_body``."""
        if self.open:
            return None
        if self.token is None and self.hmac_key is None:
            return self.unconfigured
        reasons = []
        if self.token is not None:
            reason = self._check_token(headers, self.token)
            if reason is None:
                return None
            reasons.append(reason)
        if self.hmac_key is not None:
            reason = self._check_signature(headers, body, self.hmac_key)
            if reason is None:
                return None
            reasons.append(reason)
        return " and ".join(reasons)

    @staticmethod
    def _check_token(headers: Mapping[str, str], token: bytes) -> str | None:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return "no bearer token"
        if hmac.compare_digest(given.strip().encode(), token):
            return None
        return "wrong bearer token"

    def _check_signature(self, headers: Mapping[str, str], body: bytes, key: bytes) -> str | None:
        given = headers.get(self.signature_header, "").strip()
        if not given:
            return f"no {self.signature_header} signature"
        given = given.removeprefix("sha256=").lower()
        expected = hmac.new(key, body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return "wrong signature"
