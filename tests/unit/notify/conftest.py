"""A contract with chains per site and priority, a complaint chain and two channels."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.sla import Contracts, load_contracts

CONTRACT = """\
timezone: UTC
targets:
  P1: {response: 30m, resolution: 4h, hours: 24x7}
  P2: {response: 1h, resolution: 8h, hours: 24x7}
  P3: {response: 4h, resolution: 24h, hours: 24x7}
  P4: {response: 8h, resolution: 48h, hours: 24x7}
people:
  noc: {name: NOC, email: noc@example.net, chat: U0NOC}
  boss: {name: Boss, email: boss@example.net}
  care: {name: Customer care, email: care@example.net}
channels:
  mail: {type: email, host: 127.0.0.1, port: 9, from: desk@example.net, starttls: false}
  chat: {type: webhook, format: slack, url: "http://127.0.0.1:9/hook"}
escalation:
  - name: dc1-major
    sites: [dc1]
    priorities: [P1]
    levels:
      - {who: [owner], channels: [mail], wait: 15m}
      - {who: [noc], channels: [mail, chat], wait: 30m}
      - {who: [boss], channels: [mail]}
  - name: any
    levels:
      - {who: [owner], channels: [mail], wait: 1h}
      - {who: [boss], channels: [mail]}
complaints:
  - {who: [care], channels: [mail], wait: 2h}
  - {who: [boss], channels: [mail]}
"""


@pytest.fixture
def contracts(tmp_path: Path) -> Contracts:
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "default.yaml").write_text(CONTRACT)
    acme = CONTRACT.split("people:", maxsplit=1)[0]  # targets only: people and chains from default
    (folder / "acme.yaml").write_text("tenants: [acme]\n" + acme)
    return load_contracts(folder)
