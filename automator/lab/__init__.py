"""The lab: the demo's world and the integration tests' fixture, on this one machine.

It owns everything that makes the lab real:

* N Linux hosts, each a network namespace with its own PID, UTS and mount namespaces, tini as
  PID 1 and its own OpenSSH sshd (key login as root), wired to a controller namespace's bridge;
* M simulated Cisco IOS switches (fake-switches over SSH) in one process on the controller
  namespace's loopback;
* K recorded-output Cisco IOS devices (``_simulator``: asyncssh, one process) whose ``show``
  outputs a test changes by writing files (``_simulator.set_output``);
* facility gear: UPSes, PDUs and cooling units, each a real net-snmp ``snmpd`` on its own UDP
  port, serving values a test changes (``_snmpd.set_values``);
* their keys, secrets and logs in a state folder, and the Nornir inventory that describes them;
* ``enter_netns``, which moves the process into the controller namespace so that it can reach
  them.

Nothing it starts is reachable from, or sends traffic to, anywhere but this machine's lab
namespaces. Everything needs root.
"""

from __future__ import annotations

from automator.lab._lab import Lab
from automator.lab._netns import enter_netns
from automator.lab._snmpd import KINDS as FACILITY_KINDS
from automator.lab._spec import FacilityState, LabSpec, LabStatus

__all__ = ["FACILITY_KINDS", "FacilityState", "Lab", "LabSpec", "LabStatus", "enter_netns"]
