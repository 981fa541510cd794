"""The inventory: which hosts exist, how to reach them and what they are.

This package owns the Nornir SimpleInventory directory (``hosts.yaml``, ``groups.yaml``,
``defaults.yaml``): reading and checking it (``load_inventory``, every problem reported at
once with file, line and field), resolving each host through its groups and defaults into a
typed ``Host``, selecting hosts with a ``--limit`` filter (``Inventory.select``) and generating
the Ansible inventory from the same hosts (``export_ansible``), so that hosts are never kept
twice. Secrets are not in the inventory: ``Credentials`` only says where to read them.
"""

from __future__ import annotations

from automator.inventory._ansible import export_ansible, write_ansible_inventory
from automator.inventory._loader import load_inventory
from automator.inventory._model import (
    PLATFORMS,
    Credentials,
    Criticality,
    Group,
    Host,
    Inventory,
    MaintenanceWindow,
)

__all__ = [
    "PLATFORMS",
    "Credentials",
    "Criticality",
    "Group",
    "Host",
    "Inventory",
    "MaintenanceWindow",
    "export_ansible",
    "load_inventory",
    "write_ansible_inventory",
]
