"""The hooks over HTTP (FastAPI's TestClient): auth, limits, bad input, store failures."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from automator.api import HooksConfig, create_app, load_hooks_config
from automator.config import Settings
from automator.events import EventIntake
from automator.store import Store

TOKEN = "s3cret-token"
KEY = "hmac-key"
ENV = {
    "AUTOMATOR_HOOK_TOKEN_ALERTMANAGER": TOKEN,
    "AUTOMATOR_HOOK_HMAC_GRAFANA": KEY,
    "AUTOMATOR_HOOK_TOKEN_ZABBIX": TOKEN,
    "AUTOMATOR_HOOK_HMAC_ZABBIX": KEY,
}
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def alerts(*statuses: str, **labels: str) -> dict[str, object]:
    return {
        "version": "4",
        "status": statuses[0],
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "DiskFull", "instance": "web1:9100", **labels},
                "annotations": {},
                "startsAt": "2026-11-27T06:00:00Z",
                "fingerprint": f"fp{index}",
            }
            for index, status in enumerate(statuses)
        ],
    }


def signed(body: bytes, key: str = KEY) -> dict[str, str]:
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Automator-Signature": f"sha256={digest}", "Content-Type": "application/json"}


@pytest.fixture
def ingested() -> list[list[int]]:
    return []


@pytest.fixture
def client(store: Store, ingested: list[list[int]]) -> Iterator[TestClient]:
    app = create_app(HooksConfig.default(), store, ingested.append, environ=ENV)
    with TestClient(app) as test_client:
        yield test_client


def test_bearer_token_accepts_and_commits_before_answering(client, store, ingested):
    answer = client.post("/hooks/alertmanager", json=alerts("firing", "firing"), headers=BEARER)
    assert answer.status_code == 202
    body = answer.json()
    assert body["accepted"] == 2
    stored = EventIntake(store).list_events()
    assert sorted(r.event.id for r in stored) == [body["first_id"], body["last_id"]]
    assert ingested == [[body["first_id"], body["last_id"]]]


def test_resolved_is_linked_to_firing_through_the_api(client, store):
    first = client.post("/hooks/alertmanager", json=alerts("firing"), headers=BEARER).json()
    second = client.post("/hooks/alertmanager", json=alerts("resolved"), headers=BEARER).json()
    records = {r.event.id: r for r in EventIntake(store).list_events()}
    assert records[second["first_id"]].firing_event_id == first["first_id"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no bearer token"),
        ({"Authorization": "Bearer wrong"}, "wrong bearer token"),
        ({"Authorization": f"Basic {TOKEN}"}, "no bearer token"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "wrong bearer token"),
    ],
)
def test_a_wrong_or_missing_token_is_401_and_logged_without_the_secret(
    client, store, caplog, headers, reason
):
    caplog.set_level(logging.INFO, logger="automator.api")
    answer = client.post("/hooks/alertmanager", json=alerts("firing"), headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json() == {"error": "not authorised"}
    assert f"hook alertmanager: 401 for testclient: {reason}" in caplog.text
    assert TOKEN not in caplog.text and "DiskFull" not in caplog.text
    assert EventIntake(store).list_events() == []


def test_hmac_signature_of_the_raw_body(client):
    body = orjson.dumps(alerts("firing"))
    assert client.post("/hooks/grafana", content=body, headers=signed(body)).status_code == 202
    bare = signed(body)["X-Automator-Signature"].removeprefix("sha256=").upper()
    headers = {"X-Automator-Signature": bare, "Content-Type": "application/json"}
    assert client.post("/hooks/grafana", content=body, headers=headers).status_code == 202
    wrong = client.post("/hooks/grafana", content=body + b" ", headers=signed(body))
    assert wrong.status_code == 401
    assert client.post("/hooks/grafana", content=body, headers=signed(body, "x")).status_code == 401
    assert client.post("/hooks/grafana", json=alerts("firing"), headers=BEARER).status_code == 401


def test_a_hook_with_token_and_hmac_takes_either(client):
    body = orjson.dumps({"event_id": "1", "event_name": "N", "event_value": "1"})
    headers = {"Content-Type": "application/json"}
    assert client.post("/hooks/zabbix", content=body, headers=headers | BEARER).status_code == 202
    assert client.post("/hooks/zabbix", content=body, headers=signed(body)).status_code == 202
    assert client.post("/hooks/zabbix", content=body, headers=headers).status_code == 401


def test_a_hook_without_a_secret_refuses_everything_unless_auth_none(store, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="automator.api")
    app = create_app(HooksConfig.default(), store, environ={})
    with TestClient(app) as client:
        answer = client.post("/hooks/alertmanager", json=alerts("firing"), headers=BEARER)
    assert answer.status_code == 401
    assert "set AUTOMATOR_HOOK_TOKEN_ALERTMANAGER or AUTOMATOR_HOOK_HMAC_ALERTMANAGER" in (
        caplog.text
    )
    (tmp_path / "hooks.yaml").write_text("alertmanager:\n  auth: none\n")
    settings = Settings.from_env(project_dir=tmp_path, home=tmp_path, environ={})
    with TestClient(create_app(settings, store, environ={})) as client:
        assert client.post("/hooks/alertmanager", json=alerts("firing")).status_code == 202


def test_secrets_from_env_vars_named_in_hooks_yaml(store, tmp_path):
    (tmp_path / "hooks.yaml").write_text("alertmanager:\n  auth: token\n  token_env: AM_TOKEN\n")
    config = load_hooks_config(tmp_path / "hooks.yaml")
    env = {"AM_TOKEN": "other", "AUTOMATOR_HOOK_HMAC_ALERTMANAGER": KEY}
    with TestClient(create_app(config, store, environ=env)) as client:
        ok = client.post(
            "/hooks/alertmanager", json=alerts("firing"), headers={"Authorization": "Bearer other"}
        )
        assert ok.status_code == 202
        body = orjson.dumps(alerts("firing"))
        # auth: token means the HMAC secret is not used even though it is set
        assert (
            client.post("/hooks/alertmanager", content=body, headers=signed(body)).status_code
            == 401
        )


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
def test_a_body_that_is_not_json_is_415(client, content_type):
    headers = BEARER | ({"Content-Type": content_type} if content_type else {})
    answer = client.post("/hooks/alertmanager", content=b"{}", headers=headers)
    assert answer.status_code == 415


def test_json_with_a_charset_and_json_suffix_types_are_taken(client):
    body = orjson.dumps(alerts("firing"))
    for content_type in ("application/json; charset=utf-8", "application/vnd.am+json"):
        headers = BEARER | {"Content-Type": content_type}
        assert client.post("/hooks/alertmanager", content=body, headers=headers).status_code == 202


def test_an_oversized_body_is_413_from_its_declared_length(store):
    config = HooksConfig.default()
    small = {**config.hooks}
    small["alertmanager"] = type(small["alertmanager"])(
        **{**small["alertmanager"].__dict__, "max_body_bytes": 1000}
    )
    app = create_app(HooksConfig(hooks=small), store, environ=ENV)
    with TestClient(app) as client:
        big = orjson.dumps(alerts(*["firing"] * 20))
        headers = BEARER | {"Content-Type": "application/json"}
        answer = client.post("/hooks/alertmanager", content=big, headers=headers)
        assert answer.status_code == 413
        assert "limit of 1000 bytes" in answer.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming
            yield big[:600]
            yield big[600:]

        answer = client.post("/hooks/alertmanager", content=chunks(), headers=headers)
        assert answer.status_code == 413
    assert EventIntake(store).list_events() == []


def test_the_default_limit_is_one_mebibyte(client):
    headers = BEARER | {"Content-Type": "application/json"}
    body = b" " * (1024 * 1024) + b"{}"
    assert client.post("/hooks/alertmanager", content=body, headers=headers).status_code == 413


def test_malformed_json_is_400(client):
    headers = BEARER | {"Content-Type": "application/json"}
    answer = client.post("/hooks/alertmanager", content=b'{"alerts": [', headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("malformed JSON")


def test_a_payload_error_is_422_with_its_json_path(client, store):
    body = alerts("firing", "firing", "firing", "firing")
    body["alerts"][3]["labels"]["severity"] = 5  # type: ignore[index]
    answer = client.post("/hooks/alertmanager", json=body, headers=BEARER)
    assert answer.status_code == 422
    assert answer.json() == {
        "error": "alerts[3].labels.severity: must be a string",
        "path": "alerts[3].labels.severity",
    }
    assert EventIntake(store).list_events() == []  # nothing of a refused body is kept


def test_unknown_hooks_and_methods(client):
    assert client.post("/hooks/generic/nope", json={}, headers=BEARER).status_code == 404
    assert client.post("/hooks/nagios", json={}, headers=BEARER).status_code == 404
    answer = client.get("/hooks/alertmanager")
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")


def test_the_store_failing_is_503_and_nothing_is_acknowledged(client, store, caplog):
    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE events RENAME TO events_away"))
    answer = client.post("/hooks/alertmanager", json=alerts("firing"), headers=BEARER)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "send them again" in answer.json()["error"]
    assert "no such table: events" in caplog.text
    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE events_away RENAME TO events"))
    # the sender's retry goes through once the store is back
    assert (
        client.post("/hooks/alertmanager", json=alerts("firing"), headers=BEARER).status_code == 202
    )
    assert len(EventIntake(store).list_events()) == 1


@pytest.mark.parametrize(
    "hostile",
    [
        "$(touch /tmp/pwned)",
        "`touch /tmp/pwned`",
        "x; rm -rf /",
        "{{ lookup('pipe', 'id') }}",
        "${jndi:ldap://x}",
        "../../../etc/shadow",
        "line\nbreak",
    ],
)
def test_hostile_labels_are_stored_verbatim(client, store, hostile):
    body = alerts("firing", alertname=hostile, host=hostile, command=hostile)
    body["alerts"][0]["annotations"] = {"summary": hostile}  # type: ignore[index]
    assert client.post("/hooks/alertmanager", json=body, headers=BEARER).status_code == 202
    (record,) = EventIntake(store).list_events()
    event = record.event
    assert event.name == event.host == event.labels["command"] == hostile
    assert event.annotations == {"summary": hostile}
    assert event.raw["labels"]["command"] == hostile
    assert not Path("/tmp/pwned").exists()


def test_generic_hook_from_hooks_yaml(store, tmp_path):
    (tmp_path / "hooks.yaml").write_text(
        "generic:\n"
        "  kuma:\n"
        "    auth: none\n"
        "    alerts: /checks\n"
        "    fields: {name: monitor, status: up, host: where}\n"
        "    status_map: {'true': resolved, 'false': firing}\n"
    )
    settings = Settings.from_env(project_dir=tmp_path, home=tmp_path, environ={})
    with TestClient(create_app(settings, store, environ={})) as client:
        body = {"checks": [{"monitor": "shop", "up": False, "where": "web3"}]}
        assert client.post("/hooks/generic/kuma", json=body).status_code == 202
        bad = client.post("/hooks/generic/kuma", json={"checks": [{"monitor": "x", "up": 2}]})
        assert bad.status_code == 422
        assert bad.json()["path"] == "checks[0].up"
    (record,) = EventIntake(store).list_events()
    assert (record.event.source, record.event.status, record.event.host) == (
        "generic/kuma",
        "firing",
        "web3",
    )


def test_healthz(client, store):
    assert client.get("/healthz").json() == {"status": "ok"}
    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE events RENAME TO events_away"))
    answer = client.get("/healthz")
    assert (answer.status_code, answer.json()) == (503, {"status": "store unavailable"})
