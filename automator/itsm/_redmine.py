"""Redmine over its REST API (JSON), as an ``ItsmAdapter``.

Trackers, priorities and statuses are named in itsm.yaml and looked up by name once per
adapter, so one file fits any Redmine. The API key is sent in the ``X-Redmine-API-Key``
header only: it is in no URL, message or log line. Every issue the sync creates has the
ticket's key (``[automator #42]``) at the start of its subject, which is how ``find`` and
``changes_since`` tell automator's issues from the others of the project.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import httpx

from automator.errors import ConfigError
from automator.itsm._adapter import (
    ISSUE_KEY_PREFIX,
    ChangeBatch,
    NewIssue,
    Note,
    RemoteChange,
    SeenStamps,
)
from automator.itsm._errors import ItsmRejected, ItsmUnavailable

P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_KEY_ENV = "AUTOMATOR_REDMINE_API_KEY"
PAGE = 100  # issues per listing request (Redmine's largest page)
_ME = "/users/current.json"
_SINGULAR = {"trackers": "tracker", "priorities": "priority", "statuses": "status"}
# Answers that will change on their own or once an operator acts (a key, a permission):
# the change waits in the outbox rather than being dropped.
_RETRY_STATUSES = {401: "refused the API key", 403: "refused access", 429: "is rate-limiting"}

TRACKERS = {
    "incident": "Bug",
    "problem": "Bug",
    "change": "Feature",
    "request": "Support",
    "drill": "Support",
    "complaint": "Support",
}
PRIORITIES = {"P1": "Immediate", "P2": "Urgent", "P3": "Normal", "P4": "Low"}
STATUSES = {
    "new": "New",
    "acknowledged": "In Progress",
    "in_progress": "In Progress",
    "escalated": "In Progress",
    "waiting_on_customer": "Feedback",
    "resolved": "Resolved",
    "closed": "Closed",
}
# "New" maps to nothing: no ticket goes back to new.
FROM_REDMINE = {
    "In Progress": "in_progress",
    "Feedback": "waiting_on_customer",
    "Resolved": "resolved",
    "Closed": "closed",
    "Rejected": "closed",
}


@dataclass(frozen=True)
class RedmineSettings:
    """Where Redmine is, where its API key comes from, and how automator's words map to its
    names (itsm.yaml's ``redmine`` section)."""

    url: str
    project: str
    api_key_env: str = DEFAULT_KEY_ENV
    api_key_file: Path | None = None
    timeout: float = 10.0
    trackers: Mapping[str, str] = field(default_factory=lambda: dict(TRACKERS))
    priorities: Mapping[str, str] = field(default_factory=lambda: dict(PRIORITIES))
    statuses: Mapping[str, str] = field(default_factory=lambda: dict(STATUSES))
    from_redmine: Mapping[str, str] = field(default_factory=lambda: dict(FROM_REDMINE))

    def api_key(self, environ: Mapping[str, str] | None = None) -> str:
        """The key from the environment variable, else from the file."""
        env = os.environ if environ is None else environ
        key = env.get(self.api_key_env, "").strip()
        if key:
            return key
        if self.api_key_file is not None:
            try:
                key = self.api_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"the Redmine API key file {self.api_key_file} cannot be read: "
                    f"{exc.strerror or exc}"
                ) from None
            if key:
                return key
            raise ConfigError(f"the Redmine API key file {self.api_key_file} is empty")
        raise ConfigError(
            f"no Redmine API key: set {self.api_key_env} or redmine.api_key_file in itsm.yaml"
        )


def _checked(method: Callable[P, R]) -> Callable[P, R]:
    """An answer of another shape than Redmine's (a proxy's, another version's) is a
    failure to retry, not a crash of the sync."""

    @functools.wraps(method)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ItsmUnavailable(
                f"Redmine answered in a shape automator does not know ({type(exc).__name__}: {exc})"
            ) from None

    return checked


@dataclass(frozen=True)
class _Status:
    id: int
    name: str


class RedmineAdapter:
    """One Redmine project. Not thread-safe: one adapter per sync."""

    def __init__(
        self,
        settings: RedmineSettings,
        api_key: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._client = httpx.Client(
            base_url=settings.url.rstrip("/"),
            headers={"X-Redmine-API-Key": api_key, "Accept": "application/json"},
            timeout=settings.timeout,
            transport=transport,
        )
        self._names: dict[str, dict[str, int]] = {}
        self._statuses_by_id: dict[int, _Status] = {}
        self._users: dict[str, int | None] = {}
        self._me: int | None = None

    def dispose(self) -> None:
        self._client.close()

    # -- writes ----------------------------------------------------------------------------

    @_checked
    def create(self, issue: NewIssue) -> str:
        body = {
            "issue": {
                "project_id": self.settings.project,
                "subject": f"{issue.key} {issue.title}"[:255],
                "description": issue.description,
                "tracker_id": self._id("trackers", self._mapped("trackers", issue.kind)),
                "priority_id": self._id("priorities", self._mapped("priorities", issue.priority)),
            }
        }
        answer = self._call("POST", "/issues.json", json=body)
        return str(answer["issue"]["id"])

    @_checked
    def find(self, key: str) -> str | None:
        answer = self._call("GET", "/issues.json", params=self._listing(subject=f"~{key}"))
        for found in answer.get("issues", []):
            if str(found.get("subject", "")).startswith(f"{key} "):
                return str(found["id"])
        return None

    @_checked
    def comment(self, external_id: str, note: Note) -> None:
        self._update(external_id, {}, note)

    @_checked
    def set_status(self, external_id: str, status: str, note: Note) -> None:
        status_id = self._id("statuses", self._mapped("statuses", status))
        self._update(external_id, {"status_id": status_id}, note)

    @_checked
    def assign(self, external_id: str, assignee: str | None, note: Note) -> bool:
        if assignee is None:
            self._update(external_id, {"assigned_to_id": ""}, note)
            return True
        user = self._user_by_mail(assignee)
        if user is None:
            unknown = f"(No Redmine user has the mail {assignee}: the assignee is unchanged.)"
            self._update(external_id, {}, Note(f"{note.text}\n{unknown}", note.key))
            return False
        self._update(external_id, {"assigned_to_id": user}, note)
        return True

    @_checked
    def close(self, external_id: str, note: Note) -> None:
        self.set_status(external_id, "closed", note)

    # -- reads -----------------------------------------------------------------------------

    @_checked
    def has_note(self, external_id: str, key: str) -> bool:
        journals = self._issue(external_id).get("journals", [])
        return any(_last_line(journal.get("notes")) == key for journal in journals)

    @_checked
    def changes_since(self, cursor: str | None, limit: int, seen: SeenStamps) -> ChangeBatch:
        changes: list[RemoteChange] = []
        updated: dict[str, str] = {}
        issues, now = self._updated_issues(cursor, limit)
        # Redmine keeps fractions of a second but shows whole seconds, and its ">=" filter
        # lists from the second before: issues already read are listed again.
        known = seen([str(issue["id"]) for issue in issues])
        for issue in issues:
            external_id, stamp = str(issue["id"]), str(issue["updated_on"])
            if known.get(external_id) == stamp:
                continue
            changes.extend(self._changes(self._issue(external_id)))
            # Redmine stamps whole seconds: a stamp of the second Redmine is still in may be
            # given again to a later change, so only a stamp of a past second is settled.
            if now is None or stamp < now:
                updated[external_id] = stamp
        return ChangeBatch(changes=changes, updated=updated)

    def _updated_issues(
        self, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` of automator's issues updated at or after ``cursor``, the oldest
        update first (the rest are for the next call, from a later cursor), and Redmine's
        time when it listed them (``2025-01-31T10:00:00Z``, from its Date header)."""
        filters = {"subject": f"~{ISSUE_KEY_PREFIX}", "sort": "updated_on"}
        if cursor:
            filters["updated_on"] = f">={cursor}"
        issues: list[dict[str, Any]] = []
        now: str | None = None
        while len(issues) < limit:
            page = min(PAGE, limit - len(issues))
            params: dict[str, str | int] = {
                **self._listing(**filters),
                "offset": len(issues),
                "limit": page,
            }
            answer, date = self._exchange("GET", "/issues.json", params=params)
            now = now or date
            found = answer.get("issues", [])
            issues.extend(found)
            if len(found) < page:
                break
        return issues[:limit], now

    def _changes(self, issue: dict[str, Any]) -> list[RemoteChange]:
        me = self._current_user()
        changes = []
        for journal in sorted(issue.get("journals", []), key=lambda j: int(j["id"])):
            user = journal.get("user") or {}
            if user.get("id") == me:
                continue
            remote_status = self._new_status(journal)
            note = (journal.get("notes") or "").strip() or None
            if note is None and remote_status is None:
                continue
            changes.append(
                RemoteChange(
                    external_id=str(issue["id"]),
                    change_id=int(journal["id"]),
                    author=str(user.get("name") or f"user {user.get('id')}"),
                    note=note,
                    status=self.settings.from_redmine.get(remote_status or ""),
                    remote_status=remote_status,
                    same_statuses=frozenset(
                        ours
                        for ours, theirs in self.settings.statuses.items()
                        if theirs == remote_status
                    ),
                )
            )
        return changes

    def _new_status(self, journal: dict[str, Any]) -> str | None:
        for detail in journal.get("details", []):
            if detail.get("property") == "attr" and detail.get("name") == "status_id":
                return self._status_name(int(detail["new_value"]))
        return None

    # -- names and ids ---------------------------------------------------------------------

    def _mapped(self, table: str, ours: str) -> str:
        mapping: Mapping[str, str] = getattr(self.settings, table)
        try:
            return mapping[ours]
        except KeyError:
            raise ItsmUnavailable(
                f"itsm.yaml: redmine.{table} has no Redmine name for {ours!r}"
            ) from None

    def _id(self, table: str, name: str) -> int:
        """The Redmine id of a tracker, priority or status by its name. A name Redmine does
        not know is a configuration mistake: the change waits (ItsmUnavailable) until
        itsm.yaml is fixed, rather than being dropped."""
        ids = self._table(table)
        if name not in ids:
            known = ", ".join(sorted(ids))
            raise ItsmUnavailable(
                f"itsm.yaml: redmine.{table}: Redmine has no {_SINGULAR[table]} {name!r} "
                f"(it has: {known})"
            )
        return ids[name]

    def _table(self, table: str) -> dict[str, int]:
        if table not in self._names:
            path, key = {
                "trackers": ("/trackers.json", "trackers"),
                "priorities": ("/enumerations/issue_priorities.json", "issue_priorities"),
                "statuses": ("/issue_statuses.json", "issue_statuses"),
            }[table]
            rows = self._call("GET", path).get(key, [])
            self._names[table] = {str(row["name"]): int(row["id"]) for row in rows}
            if table == "statuses":
                self._statuses_by_id = {
                    int(row["id"]): _Status(int(row["id"]), str(row["name"])) for row in rows
                }
        return self._names[table]

    def _status_name(self, status_id: int) -> str:
        self._table("statuses")
        if status_id not in self._statuses_by_id:  # added in Redmine since we last looked
            self._names.pop("statuses")
            self._table("statuses")
        found = self._statuses_by_id.get(status_id)
        return found.name if found else f"status {status_id}"

    def _current_user(self) -> int:
        if self._me is None:
            self._me = int(self._call("GET", _ME)["user"]["id"])
        return self._me

    def _user_by_mail(self, mail: str) -> int | None:
        if mail not in self._users:
            answer = self._call("GET", "/users.json", params={"name": mail})
            matches = [
                int(user["id"])
                for user in answer.get("users", [])
                if str(user.get("mail", "")).lower() == mail.lower()
            ]
            self._users[mail] = matches[0] if matches else None
        return self._users[mail]

    # -- HTTP ------------------------------------------------------------------------------

    def _listing(self, **filters: str) -> dict[str, str]:
        return {"project_id": self.settings.project, "status_id": "*", **filters}

    def _issue(self, external_id: str) -> dict[str, Any]:
        answer = self._call("GET", f"/issues/{external_id}.json", params={"include": "journals"})
        issue: dict[str, Any] = answer["issue"]
        return issue

    def _update(self, external_id: str, fields: dict[str, Any], note: Note) -> None:
        notes = f"{note.text}\n\n{note.key}"
        self._call("PUT", f"/issues/{external_id}.json", json={"issue": {**fields, "notes": notes}})

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._exchange(method, path, params=params, json=json)[0]

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """One request: its answer as JSON ({} for 204) and Redmine's time from the Date
        header; or the error that says what next.

        Redmine answers a wrong API key as if no key were given: a write then fails as if
        the project did not exist (422), and a read sees only public data. So the first
        request of an adapter asks who the key belongs to, which a wrong key fails (401)."""
        if self._me is None and path != _ME:
            self._current_user()
        where = f"Redmine {method} {path}"
        try:
            response = self._client.request(method, path, params=params, json=json)
        except httpx.TimeoutException:
            raise ItsmUnavailable(
                f"{where}: no answer within {self.settings.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ItsmUnavailable(f"{where}: cannot reach {self.settings.url}: {exc}") from None
        status = response.status_code
        if status >= 500 or status in _RETRY_STATUSES:
            reason = _RETRY_STATUSES.get(status, f"failed ({response.reason_phrase})")
            raise ItsmUnavailable(f"{where}: Redmine {reason} (HTTP {status})")
        if status >= 400:
            errors = _errors(response)
            raise ItsmRejected(
                f"{where}: HTTP {status}: {'; '.join(errors)}", status=status, errors=errors
            )
        date = _server_time(response)
        if status == 204 or not response.content:
            return {}, date
        try:
            body = response.json()
        except ValueError:
            raise ItsmUnavailable(f"{where}: the answer is not JSON (HTTP {status})") from None
        if not isinstance(body, dict):
            raise ItsmUnavailable(f"{where}: the answer is not a JSON object")
        return body, date


def _server_time(response: httpx.Response) -> str | None:
    """The Date header as Redmine writes its stamps; None when absent or unreadable."""
    try:
        moment = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last_line(notes: str | None) -> str:
    lines = (notes or "").strip().splitlines()  # Redmine may hand notes back with CRLF
    return lines[-1] if lines else ""


def _errors(response: httpx.Response) -> list[str]:
    """Redmine's own reasons (``{"errors": [...]}``), else the HTTP reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        return [str(error) for error in body["errors"]]
    return [response.reason_phrase or f"HTTP {response.status_code}"]
