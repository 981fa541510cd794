"""The lab's switch farm: many simulated Cisco IOS switches over SSH in one twisted reactor.

Run inside the lab's controller namespace by ``Lab.up()``::

    python -m automator.lab._switchfarm --count M --base-port P --host 127.0.0.1 \\
        --password-file F --enable-secret-file F --hostname-prefix sw

Switch *i* (1-based) is named ``<prefix><i>`` and listens on ``P + i - 1``. Secrets are read
from files so that they never show on a command line. Prints ``READY ...`` once every port
listens.

It works around three defects of fake-switches 1.5.0:

* its command line passes the enable secret as bytes, which never equal the typed str, so
  ``enable`` is always denied: the secret is passed here as str;
* config mode has no ``end``, which netmiko's ``exit_config_mode()`` sends: added below;
* every device parses the same RSA host key from PEM again (500 devices: 25 s to start):
  here it is parsed once and shared.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from fake_switches import switch_factory
from fake_switches.cisco.command_processor.config import ConfigCommandProcessor
from fake_switches.transports.ssh_service import SSHDemoRealm, getRSAKeys
from twisted.conch.ssh import factory, keys
from twisted.cred import checkers, portal
from twisted.internet import reactor as _reactor

MODEL = "cisco_generic"
# Twisted's hints describe the reactor by zope interfaces, whose methods mypy takes for
# functions without `self`, and leave Key.fromString and SSHFactory.portal undeclared.
reactor: Any = _reactor
Key: Any = keys.Key


def _end(self: Any, *_: str) -> None:
    # Sub-modes (config-if, config-vlan) hand commands they do not know to config mode, so
    # this one method leaves config mode from any depth.
    self.is_done = True


ConfigCommandProcessor.do_end = _end


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m automator.lab._switchfarm")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--base-port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password-file", type=Path, required=True)
    parser.add_argument("--enable-secret-file", type=Path, required=True)
    parser.add_argument("--hostname-prefix", default="sw")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    password = args.password_file.read_text().strip()
    enable_secret = args.enable_secret_file.read_text().strip()
    public_pem, private_pem = getRSAKeys()
    public_keys = {b"ssh-rsa": Key.fromString(data=public_pem.encode())}
    private_keys = {b"ssh-rsa": Key.fromString(data=private_pem.encode())}
    users = {args.username: password.encode()}

    switches = switch_factory.SwitchFactory()
    for i in range(1, args.count + 1):
        core = switches.get(MODEL, f"{args.hostname_prefix}{i}", enable_secret)
        ssh: Any = factory.SSHFactory()
        ssh.portal = portal.Portal(SSHDemoRealm(core))
        ssh.portal.registerChecker(checkers.InMemoryUsernamePasswordDatabaseDontUse(**users))
        ssh.publicKeys = public_keys
        ssh.privateKeys = private_keys
        reactor.listenTCP(args.base_port + i - 1, ssh, interface=args.host)

    last = args.base_port + args.count - 1
    print(f"READY {args.count} switches on {args.host}:{args.base_port}-{last}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
