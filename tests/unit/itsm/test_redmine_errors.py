"""How the Redmine adapter reads each kind of failure, against real sockets: a small HTTP
server answering what each test sets, a port nobody listens on, a server that never answers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from automator.itsm import (
    ItsmRejected,
    ItsmUnavailable,
    NewIssue,
    Note,
    RedmineAdapter,
    RedmineSettings,
)

NOTE = Note("hello", "— alice · automator #1 entry 2")


class Answer:
    status = 200
    body = b"{}"


class Handler(BaseHTTPRequestHandler):
    answer = Answer()
    seen: list[tuple[str, str, str | None]] = []

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append((self.command, self.path, self.headers.get("X-Redmine-API-Key")))
        if self.path.startswith("/users/current.json"):
            status, body = 200, b'{"user": {"id": 1}}'
        else:
            status, body = self.answer.status, self.answer.body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _reply

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.answer = Answer()
    Handler.seen = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def adapter(url: str, timeout: float = 2) -> RedmineAdapter:
    return RedmineAdapter(RedmineSettings(url=url, project="ops", timeout=timeout), "s3cret-key")


def answer(status: int, body: object) -> None:
    Handler.answer.status = status
    Handler.answer.body = body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (500, "Redmine failed (Internal Server Error) (HTTP 500)"),
        (503, "Redmine failed (Service Unavailable) (HTTP 503)"),
        (429, "Redmine is rate-limiting (HTTP 429)"),
        (401, "Redmine refused the API key (HTTP 401)"),
        (403, "Redmine refused access (HTTP 403)"),
    ],
)
def test_answers_that_may_change_are_unavailable(server, status, said):
    answer(status, {"errors": ["whatever"]})
    rm = adapter(server)
    with pytest.raises(ItsmUnavailable) as caught:
        rm.comment("7", NOTE)
    rm.dispose()
    assert str(caught.value) == f"Redmine PUT /issues/7.json: {said}"


def test_a_refusal_carries_redmines_reasons(server):
    answer(422, {"errors": ["Assignee is invalid", "Subject cannot be blank"]})
    rm = adapter(server)
    with pytest.raises(ItsmRejected) as caught:
        rm.comment("7", NOTE)
    assert (caught.value.status, caught.value.errors) == (
        422,
        ["Assignee is invalid", "Subject cannot be blank"],
    )
    answer(404, b"")
    with pytest.raises(ItsmRejected, match=r"HTTP 404: Not Found$"):
        rm.comment("8", NOTE)
    rm.dispose()


def test_an_answer_that_is_not_json_is_unavailable(server):
    answer(200, b"<html>proxy login</html>")
    rm = adapter(server)
    with pytest.raises(ItsmUnavailable, match="the answer is not JSON"):
        rm.find("[automator #1]")
    rm.dispose()


def test_the_key_travels_only_in_its_header(server):
    answer(204, b"")
    rm = adapter(server)
    rm.comment("7", NOTE)
    rm.dispose()
    assert [(method, path.split("?")[0], key) for method, path, key in Handler.seen] == [
        ("GET", "/users/current.json", "s3cret-key"),
        ("PUT", "/issues/7.json", "s3cret-key"),
    ]
    assert not any("s3cret" in path for _, path, _ in Handler.seen)


def test_nobody_listening_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rm = adapter(f"http://127.0.0.1:{port}")
    with pytest.raises(ItsmUnavailable, match=rf"cannot reach http://127.0.0.1:{port}"):
        rm.comment("7", NOTE)
    rm.dispose()


def test_a_server_that_never_answers_times_out():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # the kernel accepts the connection; nobody ever answers
        rm = adapter(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=0.3)
        with pytest.raises(ItsmUnavailable, match=r"no answer within 0.3 s"):
            rm.comment("7", NOTE)
        rm.dispose()


def test_a_name_redmine_does_not_know_is_a_configuration_mistake(server):
    answer(200, {"trackers": [{"id": 4, "name": "Task"}]})
    rm = adapter(server)
    issue = NewIssue(
        key="[automator #1]", title="t", description="d", kind="incident", priority="P3"
    )
    with pytest.raises(ItsmUnavailable) as caught:
        rm.create(issue)
    rm.dispose()
    assert str(caught.value) == (
        "itsm.yaml: redmine.trackers: Redmine has no tracker 'Bug' (it has: Task)"
    )


def test_an_answer_of_another_shape_is_unavailable(server):
    answer(201, {"issue": {"subject": "no id"}})
    rm = adapter(server)
    rm._names = {"trackers": {"Bug": 1}, "priorities": {"Normal": 2}}  # already looked up
    issue = NewIssue(
        key="[automator #1]", title="t", description="d", kind="incident", priority="P3"
    )
    with pytest.raises(
        ItsmUnavailable, match=r"a shape automator does not know \(KeyError: 'id'\)"
    ):
        rm.create(issue)
    rm.dispose()
