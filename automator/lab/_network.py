"""The lab's network: namespaces, veth pairs, the controller's bridge, the safety route.

Nothing but the safety route is configured in the machine's own namespace. The controller
namespace has the bridge and no default route, so lab traffic can never leave the machine.
"""

from __future__ import annotations

from automator.lab._netns import in_origin_netns
from automator.lab._spec import Layout
from automator.lab._system import run

# A metric of its own: the route never replaces, and is never mistaken for, a real route to
# the same subnet.
_ROUTE_METRIC = "4242"


def create(layout: Layout) -> None:
    """Create the namespaces, wire every host to the controller's bridge, address them."""
    ctl = layout.controller_netns
    # Both ends of each veth are created directly in their namespaces: nothing, not even an
    # interface name, lands in the machine's namespace. Batched: one `ip` per namespace.
    root = [f"netns add {ctl}"]
    for name, _ in layout.hosts:
        root.append(f"netns add {name}")
        root.append(f"link add {name} netns {ctl} type veth peer name eth0 netns {name}")
    _batch(None, root)
    controller = [
        "link set lo up",
        f"link add {layout.bridge} type bridge",
        f"addr add {layout.spec.subnet}.1/24 dev {layout.bridge}",
        f"link set {layout.bridge} up",
    ]
    controller += [f"link set {name} master {layout.bridge} up" for name, _ in layout.hosts]
    _batch(ctl, controller)
    for name, address in layout.hosts:
        _batch(name, ["link set lo up", f"addr add {address}/24 dev eth0", "link set eth0 up"])


def delete(names: list[str]) -> None:
    """Delete namespaces; their veths and the bridge go with them."""
    if names:
        _batch(None, [f"netns del {name}" for name in names])


def add_safety_route(layout: Layout) -> None:
    """Make the lab subnet unreachable from the machine's namespace while the lab is up, so a
    connection attempted from outside the controller fails at once instead of leaving the
    machine by its default route."""
    with in_origin_netns():
        run(["ip", "route", "replace", "unreachable", layout.subnet_cidr, "metric", _ROUTE_METRIC])


def remove_safety_route(layout: Layout) -> None:
    with in_origin_netns():
        shown = run(["ip", "route", "show", "type", "unreachable", layout.subnet_cidr])
        if f"metric {_ROUTE_METRIC}" in shown:
            run(["ip", "route", "del", "unreachable", layout.subnet_cidr, "metric", _ROUTE_METRIC])


def _batch(netns: str | None, commands: list[str]) -> None:
    where = ["-n", netns] if netns else []
    run(["ip", *where, "-batch", "-"], stdin="\n".join(commands) + "\n")
